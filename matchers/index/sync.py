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

import json
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from likewatch import settings
from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, CandidateSignal, Client, MatchRow, Person
from matchers.index.base import EUCLIDEAN_SIGNALS, HAMMING_SIGNALS, CandidateDoc, CandidateIndex

STATE_FILE = "index-sync.json"


def catalog_docs(catalog: Catalog, *, after_id: int = 0,
                 batch: int = 1000) -> Iterator[list[tuple[int, CandidateDoc]]]:
    """Batches of ``(candidate id, document)`` for candidates with id > ``after_id``."""
    last = after_id
    while True:
        with catalog.session() as s:
            rows = s.scalars(select(Candidate).where(Candidate.id > last)
                             .order_by(Candidate.id).limit(batch)).all()
            if not rows:
                return
            ids = [c.id for c in rows]
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
        yield out
        last = ids[-1]


def sync_catalog(catalog: Catalog, index: CandidateIndex, *, full: bool = False,
                 state_path: Path | None = None) -> int:
    """Send new (or, with ``full``, all) catalog candidates to the index; returns how many."""
    state_path = state_path or settings.home() / STATE_FILE
    after = 0
    if not full and state_path.exists():
        after = int(json.loads(state_path.read_text(encoding="utf-8")).get("last_id", 0))
    sent = 0
    for part in catalog_docs(catalog, after_id=after):
        index.add([doc for _, doc in part])
        sent += len(part)
        after = part[-1][0]
        state_path.write_text(json.dumps({"last_id": after}), encoding="utf-8")
    index.refresh()
    return sent
