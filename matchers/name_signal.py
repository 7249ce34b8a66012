"""Names in production: every candidate's text checked against every person's names.

The matcher (``matchers.pipeline``) checks the title, description, tags, cast and uploader
name of each candidate against the display name and aliases of every protected person,
with the rules of ``matchers.names`` (renamed characters, homophones, mixed scripts,
traditional and simplified forms, pinyin), compiled once per bank change
(``BankSet.name_matcher``). The best hit per person is one match row:

- ``signal`` ``"name"`` (:data:`NAME_SIGNAL`, a storage key like the signal type names);
- ``tier`` ``review``: a name alone never pushes an alert (``alerts.build`` raises the
  severity of a face or hash alert on the same item instead);
- ``distance`` ``1 - score`` of the hit's kind (exact 0, alias 0.05, variant 0.1, pinyin 0.2,
  homophone 0.3, near homophone 0.45) and ``threshold`` :data:`NAME_THRESHOLD` (0.45);
- ``details``: ``{"kind", "field", "text", "name"}``: how it matched, where, the text as
  written and the protected name it stands for.

A person's official accounts are allow-listed here too (``ReferenceBank.is_official``).
When a person is enrolled, or their names change (``queue_name_backsearch``), the stored
candidates are searched back for their names (:func:`name_backsearch`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from likewatch.work.db import write_session
from matchers.signals.base import Match

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from likewatch.catalog import Catalog
    from likewatch.catalog.models import Candidate, MatchRow
    from matchers.banks import BankSet

NAME_SIGNAL = "name"  # MatchRow.signal of a name hit: a storage key, never renamed
NAME_THRESHOLD = 0.45  # 1 - the weakest kind's score (near_homophone, matchers.names.SCORES)
NAME_DETAILS = ("kind", "field", "text", "name")
BACKSEARCH_CHUNK = 2000  # candidates read per step of a name back-search


def candidate_fields(c: Candidate | Any) -> dict[str, Any]:
    """The text of a candidate that names are looked for in."""
    return {"title": c.title or "", "description": c.description or "",
            "tags": [str(t) for t in (c.tags or [])], "cast": list(c.cast or []),
            "uploader": c.uploader or ""}


def name_matches(banks: BankSet, cands: Sequence[Candidate | Any]) -> list[list[Match]]:
    """Per candidate, its review-tier name matches (the best hit per person)."""
    from matchers.names import SCORES

    matcher, index = banks.name_matcher()
    out: list[list[Match]] = []
    for c in cands:
        best: dict[int, Any] = {}
        for hit in matcher.hits(candidate_fields(c)):  # best first
            b = index[hit.person]
            if b not in best:
                best[b] = hit
        found = []
        for b, hit in sorted(best.items()):
            bank = banks.banks[b]
            if bank.is_official(c.platform, c.uploader or "", c.uploader_id or ""):
                continue
            extra = {"client": bank.client, "kind": hit.kind, "field": hit.field,
                     "text": hit.matched_text, "name": hit.name}
            if bank.person_id is not None:
                extra["person_id"] = str(bank.person_id)
            found.append(Match(bank.key, NAME_SIGNAL, round(1.0 - SCORES[hit.kind], 4),
                               NAME_THRESHOLD, None, "", extra, tier="review"))
        out.append(found)
    return out


def name_row_details(m: Match) -> dict[str, Any] | None:
    """What a name match row keeps in ``MatchRow.details``."""
    if m.signal != NAME_SIGNAL:
        return None
    return {k: m.extra[k] for k in NAME_DETAILS if k in m.extra}


def name_backsearch(catalog: Catalog, banks: BankSet, person_id: int) -> list[MatchRow]:
    """The person's names against every stored candidate: name rows added where found,
    and removed where the names no longer match (an alias taken away). Returns the rows
    it added."""
    from likewatch.catalog.models import Candidate, MatchRow

    created: list[MatchRow] = []
    found: set[int] = set()
    last = 0
    while True:
        with catalog.session() as s:
            cands = list(s.scalars(select(Candidate).where(Candidate.id > last)
                                   .order_by(Candidate.id).limit(BACKSEARCH_CHUNK)))
        if not cands:
            break
        last = cands[-1].id
        hits = {c.id: m for c, ms in zip(cands, name_matches(banks, cands), strict=True)
                for m in ms if m.extra.get("person_id") == str(person_id)}
        found |= set(hits)
        with write_session(catalog) as s:
            have = set(s.scalars(select(MatchRow.candidate_id).where(
                MatchRow.person_id == person_id, MatchRow.signal == NAME_SIGNAL,
                MatchRow.candidate_id.in_(list(hits)))))
            for cid, m in hits.items():
                if cid not in have:
                    row = MatchRow(candidate_id=cid, person_id=person_id, reference_id=None,
                                   signal=NAME_SIGNAL, frame="", distance=m.distance,
                                   threshold=m.threshold, tier=m.tier,
                                   details=name_row_details(m))
                    s.add(row)
                    created.append(row)
    with write_session(catalog) as s:  # names that no longer match (an alias taken away)
        stale = sorted(set(s.scalars(select(MatchRow.candidate_id).where(
            MatchRow.person_id == person_id, MatchRow.signal == NAME_SIGNAL))) - found)
        for at in range(0, len(stale), 500):
            s.execute(delete(MatchRow).where(MatchRow.person_id == person_id,
                                             MatchRow.signal == NAME_SIGNAL,
                                             MatchRow.candidate_id.in_(stale[at:at + 500])))
    return created


def person_names(key: str, display_name: str, aliases: Sequence[str]) -> tuple[str, ...]:
    """The names a person is looked for under: the display name, unless it is only their
    key (what ``likewatch person add`` fills in without ``--name``), and every alias."""
    names = [display_name] if display_name and display_name != key else []
    return tuple(n for n in [*names, *aliases] if n and n.strip())


def queue_name_backsearch(s: Session, person_id: int, names: Sequence[str]) -> None:
    """After a person's names changed (in the same transaction): a back-search of their
    names through the stored candidates, run by the matcher role."""
    from likewatch.work import queue

    digest = hashlib.sha256(json.dumps(list(names), ensure_ascii=False).encode()).hexdigest()
    key = f"backsearch:{person_id}:names:{digest[:12]}:{int(time.time() * 1000)}"
    queue.enqueue(s, "backsearch", key, {"person_id": person_id, "signals": [NAME_SIGNAL]})
