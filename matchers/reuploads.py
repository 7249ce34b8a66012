"""Re-uploads: a removed item's own media stay watched after its takedown.

When a notice's outcome is ``removed`` (``likewatch.catalog.notices``, set through
``alerts/notices/outcomes.py``), the signals stored for the removed candidate (the hashes
of its thumbnail and keyframes, the face embeddings of its face tracks: its
``CandidateSignal`` rows) become one more bank: one :class:`~matchers.banks.ReferenceBank`
per removed item, for the person its alert was about, with that person's official
accounts. Every new candidate is matched against these banks with the same indexes and
the same policy as against reference photos (thresholds, corroboration, face tiers).

A hit is stored as a ``MatchRow`` of signal ``"reupload"`` (:data:`REUPLOAD_SIGNAL`) for
that person, its distance and threshold those of the signal that found it, and
``details`` ``{"removed_item": candidate id, "notice_id", "via": signal}``;
``alerts.build`` then marks the alert as a re-upload of that notice's item
(``Alert.reupload_of``). A copy of a removed item usually also matches the person's
reference photos, on its own rows: the re-upload rows say *which* takedown it undoes.

The banks are rebuilt when the set of removed items changes (:func:`removed_banks`, cached
per catalog like the reference banks).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from matchers.banks import BankReference, BankSet, ReferenceBank
from matchers.match import parse_official_accounts
from matchers.signals.base import Match, SignalType, SignalValue

if TYPE_CHECKING:
    from likewatch.catalog import Catalog

REUPLOAD_SIGNAL = "reupload"  # MatchRow.signal of a re-upload hit: a storage key
_PREFIX = "removed:"  # ReferenceBank.key of a removed item: removed:<notice id>
_CACHE: dict[str, tuple[str, BankSet | None]] = {}


def _removed(catalog: Catalog) -> list[tuple[int, int, int]]:
    """(notice id, removed candidate id, person id) of every notice now ``removed``."""
    from likewatch.catalog.alerts import Alert
    from likewatch.catalog.notices import Notice

    with catalog.session() as s:
        return [(int(n), int(c), int(p)) for n, c, p in s.execute(
            select(Notice.id, Alert.candidate_id, Alert.person_id)
            .join(Alert, Alert.id == Notice.alert_id)
            .where(Notice.state == "removed").order_by(Notice.id))]


def removed_banks(catalog: Catalog, signal_types: Mapping[str, SignalType]
                  ) -> BankSet | None:
    """One bank per removed item (None when nothing is removed), rebuilt when the removed
    items or their stored signals change."""
    from likewatch.catalog.models import CandidateSignal, Client, Person

    removed = _removed(catalog)
    if not removed:
        return None
    with catalog.session() as s:
        counts = s.execute(select(func.count(CandidateSignal.id), func.max(CandidateSignal.id))
                           .where(CandidateSignal.candidate_id.in_([c for _, c, _ in removed]))
                           ).one()
    generation = hashlib.sha256(repr((removed, tuple(counts), sorted(signal_types))).encode()
                                ).hexdigest()
    key = str(catalog.engine.url)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == generation:
        return cached[1]
    banks: list[ReferenceBank] = []
    with catalog.session() as s:
        for notice_id, cand_id, person_id in removed:
            row = s.execute(select(Person, Client.name).join(Client, Client.id == Person.client_id)
                            .where(Person.id == person_id)).one_or_none()
            if row is None:
                continue
            person, client = row
            by_frame: dict[str, dict[str, list[str]]] = {}
            for sig in s.scalars(select(CandidateSignal).where(
                    CandidateSignal.candidate_id == cand_id).order_by(CandidateSignal.id)):
                if sig.signal in signal_types:
                    by_frame.setdefault(sig.frame, {}).setdefault(sig.signal, []).append(
                        sig.value)
            if by_frame:
                banks.append(ReferenceBank(
                    f"{_PREFIX}{notice_id}", client, person.id, person.display_name,
                    parse_official_accounts(person.official_accounts),
                    [BankReference(None, values) for _, values in sorted(by_frame.items())]))
    built = BankSet(banks, signal_types=signal_types, generation=generation) if banks else None
    _CACHE[key] = (generation, built)
    return built


def reupload_matches(catalog: Catalog, signal_types: Mapping[str, SignalType],
                     items: Sequence[Sequence[SignalValue]], *, frames: Sequence[str],
                     origins: Sequence[tuple[str, str, str]], candidates: Sequence[int]
                     ) -> list[list[Match]]:
    """Per image (as ``BankSet.match_many``), its re-upload matches: signal
    ``"reupload"``, ``extra`` with the removed item, its notice and the signal that found
    it. ``candidates``: the candidate id of each image (an item never re-uploads itself)."""
    banks = removed_banks(catalog, signal_types)
    if banks is None or not items:
        return [[] for _ in items]
    removed = {n: c for n, c, _ in _removed(catalog)}
    out: list[list[Match]] = []
    for cid, ms in zip(candidates, banks.match_many(items, frames=frames, origins=origins),
                       strict=True):
        found = []
        for m in ms:
            notice_id = int(m.person[len(_PREFIX):])
            if removed.get(notice_id, cid) == cid:
                continue
            extra: dict[str, str] = {**m.extra, "removed_item": str(removed[notice_id]),
                                     "notice_id": str(notice_id), "via": m.signal}
            found.append(Match(m.person, REUPLOAD_SIGNAL, m.distance, m.threshold, None,
                               m.frame, extra, tier=m.tier))
        out.append(found)
    return out


def reupload_row_details(m: Match) -> dict[str, Any] | None:
    """What a re-upload match row keeps in ``MatchRow.details``."""
    if m.signal != REUPLOAD_SIGNAL:
        return None
    return {"removed_item": int(m.extra["removed_item"]), "notice_id": int(m.extra["notice_id"]),
            "via": m.extra["via"]}
