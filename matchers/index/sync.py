"""Copy candidates from the catalog into the candidate index (``likewatch index sync``).

The catalog is the record (candidates, their signals, their matches); the index is what
analysts search and what find-by-photo scans. A candidate becomes one
:class:`~matchers.index.base.CandidateDoc`: its fields, every signal value computed from
its thumbnail and keyframes, and the persons (and their clients) it matched.

Documents are written by id, so syncing again is harmless: ``sync_catalog`` resumes after
the last candidate id it saw (kept in ``$LIKEWATCH_HOME/index-sync.json``) unless
``full=True``, which re-sends everything (after a back-search added matches to old
candidates, or to fill a new index).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from sqlalchemy import func, select

from likewatch import settings
from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, CandidateSignal, Client, MatchRow, Person
from likewatch.work import cursor
from matchers.index.base import (
    EUCLIDEAN_SIGNALS,
    HAMMING_SIGNALS,
    CandidateDoc,
    CandidateIndex,
    IndexUnavailable,
)

STATE_FILE = "index-sync.json"
log = logging.getLogger(__name__)


def catalog_docs(catalog: Catalog, *, after_id: int = 0,
                 batch: int = 1000) -> Iterator[list[tuple[int, CandidateDoc]]]:
    """Batches of ``(candidate id, document)`` for candidates with id > ``after_id``."""
    last = after_id
    while True:
        with catalog.session() as s:
            ids = list(s.scalars(select(Candidate.id).where(Candidate.id > last)
                                 .order_by(Candidate.id).limit(batch)))
        if not ids:
            return
        yield docs_for(catalog, ids)
        last = ids[-1]


def docs_for(catalog: Catalog, ids: list[int]) -> list[tuple[int, CandidateDoc]]:
    """``(candidate id, document)`` for these candidate ids, in id order."""
    with catalog.session() as s:
        rows = s.scalars(select(Candidate).where(Candidate.id.in_(ids))
                         .order_by(Candidate.id)).all()
        signals: dict[int, dict[str, list[str]]] = {}
        for cs in s.scalars(select(CandidateSignal)
                            .where(CandidateSignal.candidate_id.in_(ids))):
            if cs.signal in HAMMING_SIGNALS or cs.signal in EUCLIDEAN_SIGNALS:
                values = signals.setdefault(cs.candidate_id, {}).setdefault(cs.signal, [])
                if cs.value not in values:
                    values.append(cs.value)
        matched: dict[int, tuple[set[str], set[str]]] = {}
        for cid, person, client in s.execute(
                select(MatchRow.candidate_id, Person.key, Client.name)
                .join(Person, Person.id == MatchRow.person_id)
                .join(Client, Client.id == Person.client_id)
                .where(MatchRow.candidate_id.in_(ids))):
            persons, clients = matched.setdefault(cid, (set(), set()))
            persons.add(person)
            clients.add(client)
        out = []
        for c in rows:
            persons, clients = matched.get(c.id, (set(), set()))
            out.append((c.id, CandidateDoc(
                platform=c.platform, item_id=c.item_id, url=c.url, title=c.title or "",
                description=c.description or "", uploader=c.uploader or "",
                tags=[str(t) for t in (c.tags or [])], published_at=c.published_at,
                found_at=c.found_at, clients=sorted(clients), persons=sorted(persons),
                matched=bool(persons), signals=signals.get(c.id, {}))))
    return out


def sync_catalog(catalog: Catalog, index: CandidateIndex, *, full: bool = False,
                 state_path: Path | None = None,
                 progress: Callable[[int, int], object] | None = None) -> int:
    """Send new (or, with ``full``, all) catalog candidates to the index; returns how many.

    ``progress(sent, total)`` after each batch (the command's progress bar)."""
    state_path = state_path or settings.home() / STATE_FILE
    after = 0
    if not full and state_path.exists():
        after = int(json.loads(state_path.read_text(encoding="utf-8")).get("last_id", 0))
    total = 0
    if progress is not None:
        with catalog.session() as s:
            total = int(s.scalar(select(func.count()).select_from(Candidate)
                                 .where(Candidate.id > after)) or 0)
    sent = 0
    with index.bulk_load():  # made searchable at the end (and refreshed)
        for part in catalog_docs(catalog, after_id=after):
            index.add([doc for _, doc in part])
            sent += len(part)
            if progress is not None:
                progress(sent, max(total, sent))
            after = part[-1][0]
            state_path.write_text(json.dumps({"last_id": after}), encoding="utf-8")
    return sent


CANDIDATE_CURSOR = "index.candidates"
MATCH_CURSOR = "index.matches"
# How long a gap in the ids may be a row still being written (see settled_prefix).
ID_GAP_GRACE = dt.timedelta(seconds=60)


def settled_prefix(rows: Sequence[tuple[int, dt.datetime]], after: int,
                   now: dt.datetime) -> int:
    """How many of ``rows`` (id, creation time; ids ascending, all > ``after``) a cursor at
    ``after`` may move over without skipping a row that is not visible yet.

    On PostgreSQL ids are handed out at insert and transactions commit in any order, so
    row 12 can be visible while row 11 is still being written: a cursor moved past 12
    would never see 11. A missing id (a gap) is either such a row or one that will never
    exist (a rolled-back insert, a deleted row). A row with a gap before it is taken only
    once it was created ``ID_GAP_GRACE`` ago: by then the missing row's transaction, which
    began before it, has been open for that long - taken as never committing. Without a
    gap nothing is waited for.
    """
    expected = after + 1
    for n, (rid, created) in enumerate(rows):
        if rid != expected and created > now - ID_GAP_GRACE:  # UTCDateTime: aware
            return n
        expected = rid + 1
    return len(rows)


def sync_new(catalog: Catalog, index: CandidateIndex, *, batch: int = 500) -> dict[str, int]:
    """The indexer role's tick: send what changed since the last tick, without a full scan.

    - candidates the matcher has finished with (``match_status`` not ``pending``), in id
      order, up to the first one still pending (so none is skipped while it waits);
    - candidates sent before whose matches grew since (a back-search found an old one).

    Both positions are work-layer cursors (:mod:`likewatch.work.cursor`), moved only after
    the index accepted the
    documents (Elasticsearch's backend accepts into its durable queue while the node is
    down), so a process killed in between re-sends a batch, which is harmless: documents
    are written by id. Neither moves past a gap in the ids that may be a row still being
    written (``settled_prefix``). One instance of the role at a time is assumed (two would
    only send some documents twice).
    """
    out = {"indexed": 0, "reindexed": 0}
    try:  # what an earlier tick queued while the backend was down goes first
        replayed = index.flush_queued()
    except IndexUnavailable as exc:
        log.warning("candidate index unreachable; new documents are queued: %s", exc)
        replayed = 0
    if replayed:
        out["replayed"] = replayed
    # Matches recorded since the last tick, read first: every document built below
    # already holds them, so only candidates sent in earlier ticks need sending again.
    now = dt.datetime.now(dt.UTC)
    seen = cursor.position(catalog, MATCH_CURSOR)
    with catalog.session() as s:
        changed = s.execute(select(MatchRow.id, MatchRow.candidate_id, MatchRow.created_at)
                            .where(MatchRow.id > seen).order_by(MatchRow.id)).all()
    changed = changed[:settled_prefix([(m, at) for m, _, at in changed], seen, now)]
    sent_before = after = cursor.position(catalog, CANDIDATE_CURSOR)
    while True:
        with catalog.session() as s:
            rows = s.execute(select(Candidate.id, Candidate.match_status, Candidate.found_at)
                             .where(Candidate.id > after).order_by(Candidate.id)
                             .limit(batch)).all()
        ready = []
        for cid, status, _ in rows[:settled_prefix([(c, at) for c, _, at in rows], after, now)]:
            if status == "pending":
                break
            ready.append(cid)
        if ready:
            index.add([doc for _, doc in docs_for(catalog, ready)])
            cursor.advance(catalog, CANDIDATE_CURSOR, ready[-1])
            out["indexed"] += len(ready)
            after = ready[-1]
        if len(ready) < batch:
            break
    if changed:
        again = sorted({cid for _, cid, _ in changed if cid <= sent_before})
        for i in range(0, len(again), batch):
            index.add([doc for _, doc in docs_for(catalog, again[i:i + batch])])
        out["reindexed"] = len(again)
        cursor.advance(catalog, MATCH_CURSOR, max(mid for mid, _, _ in changed))
    if out["indexed"] or out["reindexed"] or replayed:
        try:
            index.refresh()
        except IndexUnavailable:  # queued (durably): searchable once it is back
            out["queued"] = index.pending()
    return out
