"""From stored candidates to signals and matches, both ways.

``process_pending``: every candidate whose ``match_status`` is ``pending`` (the catalog
table is the queue the crawler fills) gets its thumbnail and its video keyframes hashed
through the same image path, its ``CandidateSignal`` rows stored (so backsearch never has
to decode media again) and its matches recorded as ``MatchRow`` rows; its status becomes
``matched`` (done, whether or not anything matched) or ``failed`` when none of its media
could be read. Errors are recorded per item, counted by kind, and the batch goes on.
Candidates are hashed one at a time and matched in batches (``MATCH_BATCH_*``: every
index searched once for the whole batch). Each candidate is written in its own
transaction (a work-layer write transaction) and claimed with a conditional update
(``likewatch.work.db.compare_and_set``: ``... WHERE match_status = 'pending'``), so two
matcher processes never both record it.

``backsearch``: a newly enrolled person's references against every stored
CandidateSignal, with the same exact indexes and the same policy, and their names against
every stored candidate's text.

Names (``matchers.name_signal``): every candidate's title, description, tags, cast and
uploader are checked against every person's names; a hit is a review-tier ``name`` row.

Plain functions: the crawler's last step, ``likewatch match-pending`` and the scheduler's
matcher role call them outside any reactor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, select

from likewatch import metrics
from likewatch.media import MediaStore
from likewatch.work.db import compare_and_set, write_session
from matchers.bank_index import HammingIndex
from matchers.banks import BankCache, BankSet
from matchers.euclidean_index import EuclideanIndex
from matchers.match import TIER_RANK
from matchers.name_signal import NAME_SIGNAL, name_backsearch, name_matches, name_row_details
from matchers.provenance.record import record_candidate_provenance
from matchers.reuploads import reupload_matches, reupload_row_details
from matchers.signals.base import Match, SignalType, SignalValue

if TYPE_CHECKING:
    from likewatch.catalog import Catalog
    from likewatch.catalog.models import Candidate, MatchRow

log = logging.getLogger(__name__)

BACKSEARCH_CHUNK = 50_000  # stored signal rows scanned per step


@dataclass
class ProcessSummary:
    """What one ``process_pending`` run did."""

    candidates: int = 0  # taken from the queue
    matched: int = 0  # candidates with at least one match
    failed: int = 0  # candidates none of whose media could be read
    images: int = 0  # thumbnails + keyframes hashed
    signals: int = 0  # CandidateSignal rows stored
    matches: int = 0  # MatchRow rows stored
    errors: dict[str, int] = field(default_factory=dict)  # kind -> count
    failures: list[tuple[int, str]] = field(default_factory=list)  # (candidate id, why)

    def count(self, kind: str, n: int = 1) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + n

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Image:
    media_sha256: str
    frame: str
    values: list[SignalValue]


_CACHES: dict[str, BankCache] = {}


def cached_banks(catalog: Catalog) -> BankSet:
    """This process's BankSet for ``catalog``, rebuilt only when the banks changed.

    The scheduler calls ``process_pending`` again and again; rebuilding 200,000
    references each time would dominate, so banks are kept per catalog URL.
    """
    key = str(catalog.engine.url)
    cache = _CACHES.setdefault(key, BankCache())
    return cache.get(catalog)


def _media_path(catalog: Catalog, sha256: str) -> Path:
    from likewatch.catalog.models import Media

    with catalog.session() as s:
        m = s.get(Media, sha256)
        rel = m.path if m is not None else MediaStore(catalog.home).relpath(sha256)
    return catalog.home / rel


def hash_media(catalog: Catalog, cand: Candidate, banks: BankSet,
               summary: ProcessSummary) -> tuple[list[_Image], list[str]]:
    """Signals of a candidate's thumbnail and keyframes; per-item errors, never raises."""
    from matchers.images import ImageError, ImageInput

    images: list[_Image] = []
    errors: list[str] = []
    if cand.thumbnail_sha256:
        path = _media_path(catalog, cand.thumbnail_sha256)
        try:
            values = banks.hash_image(ImageInput.from_path(path))
            images.append(_Image(cand.thumbnail_sha256, "", values))
        except ImageError as e:
            summary.count("thumbnail")
            errors.append(f"thumbnail: {e}")
        except Exception as e:  # noqa: BLE001 - one bad file never stops the batch
            summary.count("internal")
            errors.append(f"thumbnail: {type(e).__name__}: {e}")
            log.exception("hashing thumbnail of candidate %s failed", cand.id)
    if cand.video_sha256:
        from matchers.video import hash_video

        path = _media_path(catalog, cand.video_sha256)
        try:
            video = hash_video(path, banks.types)  # frames hashed one at a time, then dropped
            for err in video.errors:
                summary.count("video")
                errors.append(f"video: {err}")
            images += [_Image(cand.video_sha256, label, values) for label, values in video.images]
        except Exception as e:  # noqa: BLE001 - one bad file never stops the batch
            summary.count("internal")
            errors.append(f"video: {type(e).__name__}: {e}")
            log.exception("keyframes of candidate %s failed", cand.id)
    if not cand.thumbnail_sha256 and not cand.video_sha256:
        summary.count("no_media")
        errors.append("no thumbnail or video stored")
    return images, errors


def _person_id(m: Match) -> int:
    return int(m.extra["person_id"])


def _rank(m: Match) -> tuple[int, float]:
    """Which of two matches of one (person, signal, frame) to keep: alert first, then the
    closer one."""
    return (TIER_RANK[m.tier], m.distance)


# Candidates are hashed one by one, then matched together (``BankSet.match_many``: each
# index searched once per batch, a fraction of the cost of one search per image; at
# 200,000 references, bench/banks.py). A batch ends at this many candidates, images or
# seconds of hashing, whichever comes first, so matches (and the alerts that follow) are
# held back by at most ~2 s: 64 thumbnails hash in about 0.5 s, a video in about 1 s.
MATCH_BATCH_CANDIDATES = 64
MATCH_BATCH_IMAGES = 128
MATCH_BATCH_SECONDS = 2.0


@dataclass
class _Hashed:
    cand: Candidate
    images: list[_Image]
    errors: list[str]


def process_pending(catalog: Catalog, *, limit: int | None = None,
                    banks: BankSet | None = None,
                    ids: Sequence[int] | None = None) -> ProcessSummary:
    """Hash and match pending candidates (of ``ids`` only, when given: those a matcher
    process claimed); see the module docstring."""
    from likewatch.catalog.models import Candidate

    banks = banks if banks is not None else cached_banks(catalog)
    summary = ProcessSummary()
    if ids is None:
        with catalog.session() as s:
            q = select(Candidate.id).where(Candidate.match_status == "pending").order_by(
                Candidate.id)
            ids = list(s.scalars(q.limit(limit) if limit is not None else q))
    batch: list[_Hashed] = []
    started = time.monotonic()
    taken: dict[int, float] = {}  # candidate id -> when it was taken (match latency)
    for i, cid in enumerate(ids):
        with catalog.session() as s:
            cand = s.get(Candidate, cid)
        if cand is not None and cand.match_status == "pending":
            summary.candidates += 1
            taken[cid] = time.monotonic()
            batch.append(_Hashed(cand, *hash_media(catalog, cand, banks, summary)))
            record_candidate_provenance(catalog, cand, _media_path)  # AI labels, issue #19
        if batch and (i == len(ids) - 1 or len(batch) >= MATCH_BATCH_CANDIDATES
                      or sum(len(h.images) for h in batch) >= MATCH_BATCH_IMAGES
                      or time.monotonic() - started >= MATCH_BATCH_SECONDS):
            _match_and_store(catalog, banks, batch, summary)
            stored = time.monotonic()
            for h in batch:
                metrics.MATCH_SECONDS.observe(stored - taken.pop(h.cand.id, stored))
            batch, started = [], time.monotonic()
    return summary


def _match_and_store(catalog: Catalog, banks: BankSet, batch: list[_Hashed],
                     summary: ProcessSummary) -> None:
    """Match the images of a batch of hashed candidates together, then record each
    candidate in its own transaction."""
    from likewatch.catalog.models import Candidate, CandidateSignal, MatchRow

    per_image = banks.match_many(
        [img.values for h in batch for img in h.images],
        frames=[img.frame for h in batch for img in h.images],
        origins=[(h.cand.platform, h.cand.uploader, h.cand.uploader_id)
                 for h in batch for _ in h.images])
    by_name = name_matches(banks, [h.cand for h in batch])  # review tier: matchers.name_signal
    reuploads = reupload_matches(  # a removed item's media, still watched: matchers.reuploads
        catalog, banks.types, [img.values for h in batch for img in h.images],
        frames=[img.frame for h in batch for img in h.images],
        origins=[(h.cand.platform, h.cand.uploader, h.cand.uploader_id)
                 for h in batch for _ in h.images],
        candidates=[h.cand.id for h in batch for _ in h.images])
    at = 0
    for h, names in zip(batch, by_name, strict=True):
        cid, images, errors = h.cand.id, h.images, h.errors
        best: dict[tuple[int, str, str], Match] = {
            (_person_id(m), m.signal, m.frame): m for m in names}
        for ms in [*per_image[at:at + len(images)], *reuploads[at:at + len(images)]]:
            for m in ms:
                k = (_person_id(m), m.signal, m.frame)
                if k not in best or _rank(m) < _rank(best[k]):
                    best[k] = m
        at += len(images)
        status = "matched" if images else "failed"
        with write_session(catalog) as s:
            if not compare_and_set(s, Candidate, cid, "match_status", "pending", status):
                s.rollback()  # another matcher got there first
                summary.candidates -= 1
                continue
            s.execute(delete(CandidateSignal).where(CandidateSignal.candidate_id == cid))
            s.execute(delete(MatchRow).where(MatchRow.candidate_id == cid))
            for img in images:
                for v in img.values:
                    s.add(CandidateSignal(candidate_id=cid, media_sha256=img.media_sha256,
                                          frame=img.frame, signal=v.signal, value=v.value,
                                          quality=v.quality))
            for (pid, sig, frame), m in best.items():
                s.add(MatchRow(candidate_id=cid, person_id=pid, reference_id=m.reference_id,
                               signal=sig, frame=frame, distance=m.distance,
                               threshold=m.threshold, tier=m.tier,
                               details=name_row_details(m) or reupload_row_details(m)))
        summary.images += len(images)
        summary.signals += sum(len(i.values) for i in images)
        summary.matches += len(best)
        summary.matched += bool(best)
        if status == "failed":
            summary.failed += 1
            summary.failures.append((cid, "; ".join(errors)[:500]))
            log.warning("candidate %s failed: %s", cid, "; ".join(errors)[:500])
        elif errors:
            log.info("candidate %s: %d media error(s): %s", cid, len(errors), errors[0])


def _stored_index(stype: SignalType, values: list[str], radius: float
                  ) -> HammingIndex | EuclideanIndex:
    arrays = [stype.to_array(v) for v in values]
    if stype.kind == "hamming":
        return HammingIndex(stype.nbits, np.stack(arrays).astype(np.uint8), int(radius))
    return EuclideanIndex(np.stack(arrays).astype(np.float32), np.arange(len(arrays)), radius)


def backsearch(catalog: Catalog, person_id: int, *,
               signal_types: Mapping[str, SignalType] | None = None,
               signals: Sequence[str] | None = None) -> list[MatchRow]:
    """Match one person's references against every stored CandidateSignal, and their
    names against every stored candidate's text (``matchers.name_signal``).

    The stored values are scanned with exact indexes for images (a thumbnail, a frame, a
    face track) that come near any reference; each such image is then decided by the same
    ``BankSet.match_values`` as a new candidate (tiers, corroboration, official accounts),
    from all its stored values. Returns the MatchRow rows it created (pairs already
    recorded are left as they are). ``signals``: only these (``["name"]`` after the
    person's names changed); default all.
    """
    banks = BankSet.from_catalog(catalog, person_ids=[person_id], signal_types=signal_types)
    if not len(banks):
        return []
    created: list[MatchRow] = []
    if signals is None or set(signals) - {NAME_SIGNAL}:
        created += _backsearch_media(catalog, banks, person_id)
    if signals is None or NAME_SIGNAL in signals:
        created += name_backsearch(catalog, banks, person_id)
    log.info("backsearch person %s: %d new match(es)", person_id, len(created))
    return created


def _backsearch_media(catalog: Catalog, banks: BankSet, person_id: int) -> list[MatchRow]:
    from likewatch.catalog.models import Candidate, CandidateSignal, MatchRow

    bank = banks.banks[0]
    near: set[tuple[int, str]] = set()  # (candidate id, frame) within some radius
    for name, stype in banks.types.items():
        refs = [v for ref in bank.references for v in ref.signals.get(name, [])]
        if not refs or name in banks.policy.corroborate:
            continue
        radius = banks.policy.search_radius(name)
        last = 0
        while True:
            with catalog.session() as s:
                rows = s.execute(select(CandidateSignal.id, CandidateSignal.candidate_id,
                                        CandidateSignal.frame, CandidateSignal.value)
                                 .where(CandidateSignal.signal == name,
                                        CandidateSignal.id > last)
                                 .order_by(CandidateSignal.id).limit(BACKSEARCH_CHUNK)).all()
            if not rows:
                break
            last = rows[-1][0]
            index = _stored_index(stype, [r[3] for r in rows], radius)
            for value in refs:
                hit_rows, _ = index.search(stype.to_array(value))  # type: ignore[arg-type]
                near.update((rows[r][1], rows[r][2]) for r in hit_rows.tolist())
    created: list[MatchRow] = []
    with catalog.session() as s:
        cands = {c.id: c for c in s.scalars(select(Candidate).where(
            Candidate.id.in_({cid for cid, _ in near})))}
        existing = {(a, b, c) for a, b, c in s.execute(
            select(MatchRow.candidate_id, MatchRow.signal, MatchRow.frame)
            .where(MatchRow.person_id == person_id))}
        for cid, frame in sorted(near):
            c = cands.get(cid)
            if c is None:
                continue
            values = [SignalValue(sig, value) for sig, value in s.execute(
                select(CandidateSignal.signal, CandidateSignal.value)
                .where(CandidateSignal.candidate_id == cid, CandidateSignal.frame == frame))]
            for m in banks.match_values(values, platform=c.platform, uploader=c.uploader,
                                        uploader_id=c.uploader_id, frame=frame):
                if (cid, m.signal, frame) in existing:
                    continue
                existing.add((cid, m.signal, frame))
                row = MatchRow(candidate_id=cid, person_id=person_id,
                               reference_id=m.reference_id, signal=m.signal, frame=frame,
                               distance=m.distance, threshold=m.threshold, tier=m.tier)
                s.add(row)
                created.append(row)
    return created
