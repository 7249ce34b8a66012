"""Catalog -> index: `likewatch index sync` makes collected candidates searchable."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy.orm import Session

from likewatch import cli
from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, CandidateSignal, Client, MatchRow, Person
from matchers.index import open_index
from matchers.index.base import CandidateIndex, SearchFilters
from matchers.index.sync import sync_new

PDQ = "f" * 64


def add_person(s: Session) -> int:
    """Client studio-a with person p1 ("Star"); the person's id."""
    client = Client(name="studio-a")
    person = Person(client=client, key="p1", display_name="Star")
    s.add_all([client, person])
    s.flush()
    return person.id


def fill_catalog() -> None:
    with Catalog.open() as catalog, catalog.session() as s:
        person_id = add_person(s)
        found = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
        for i in range(3):
            c = Candidate(platform="sandbox", item_id=f"v{i}", url=f"http://x.invalid/{i}",
                          title=f"霸道总裁 episode {i}", uploader="星河影视", tags=["短剧"],
                          found_at=found + dt.timedelta(hours=i))
            s.add(c)
            s.flush()
            s.add(CandidateSignal(candidate_id=c.id, media_sha256="0" * 64, signal="pdq",
                                  value=PDQ if i == 0 else f"{i:064x}"))
            if i == 0:
                s.add(MatchRow(candidate_id=c.id, person_id=person_id, signal="pdq",
                               distance=0, threshold=31))


def test_index_sync_then_search(capsys: pytest.CaptureFixture[str]) -> None:
    fill_catalog()
    assert cli.main(["index", "sync"]) == 0
    assert "sent 3 candidates to the embedded index" in capsys.readouterr().out
    assert cli.main(["index", "sync"]) == 0  # nothing new since the last sync
    assert "sent 0 candidates" in capsys.readouterr().out
    assert cli.main(["search", "--person", "p1", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [h["doc_id"] for h in body["hits"]] == ["sandbox:v0"]
    assert body["hits"][0]["clients"] == ["studio-a"] and body["hits"][0]["matched"]
    with open_index() as index:
        assert index.radius_search("pdq", PDQ, 0) == [("sandbox:v0", 0)]
        assert index.search("总裁 短剧", size=10).total == 3
    assert cli.main(["index", "sync", "--full"]) == 0
    assert "sent 3" in capsys.readouterr().out
    assert cli.main(["index", "status"]) == 0
    assert "3 candidates" in capsys.readouterr().out


def test_the_indexer_role_sends_what_the_matcher_finished_and_later_matches(
        index: CandidateIndex) -> None:
    """``sync_new`` (the daemon's indexer role) on both backends."""
    with Catalog.open() as catalog:
        with catalog.session() as s:
            person_id = add_person(s)
            found = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
            ids = []
            for i, status in enumerate(["done", "done", "pending", "done"]):
                c = Candidate(platform="sandbox", item_id=f"v{i}", url=f"http://x.invalid/{i}",
                              title=f"episode {i}", found_at=found, match_status=status)
                s.add(c)
                s.flush()
                ids.append(c.id)

        def hits(**filters: object) -> list[str]:
            page = index.search("", SearchFilters(**filters), sort="platform", size=10)  # type: ignore[arg-type]
            return sorted(h.doc_id for h in page.hits)

        # stops at the first candidate still being matched, so none is skipped
        assert sync_new(catalog, index) == {"indexed": 2, "reindexed": 0}
        assert hits() == ["sandbox:v0", "sandbox:v1"]
        assert sync_new(catalog, index) == {"indexed": 0, "reindexed": 0}
        with catalog.session() as s:
            s.get(Candidate, ids[2]).match_status = "done"  # type: ignore[union-attr]
        assert sync_new(catalog, index) == {"indexed": 2, "reindexed": 0}
        assert len(hits()) == 4 and hits(matched=True) == []

        # a back-search matches an old candidate: it is sent again, now matched
        with catalog.session() as s:
            s.add(MatchRow(candidate_id=ids[1], person_id=person_id, signal="face",
                           distance=0.3, threshold=0.5))
        assert sync_new(catalog, index) == {"indexed": 0, "reindexed": 1}
        assert hits(person=["p1"]) == ["sandbox:v1"]
        assert hits(client=["studio-a"], matched=True) == ["sandbox:v1"]


def test_embedded_searches_see_another_processes_writes(tmp_path) -> None:
    """The API's index instance sees what the indexer role's instance wrote since."""
    from matchers.index.embedded import EmbeddedIndex
    from tests.index.data import make_docs

    docs, _ = make_docs(6)
    path = tmp_path / "index.sqlite3"
    with EmbeddedIndex(path) as reader, EmbeddedIndex(path) as writer:
        writer.add(docs[:3])
        value = docs[5].signals["pdq"][0]
        assert reader.radius_search("pdq", value, 0) == []  # arrays now loaded and cached
        writer.add(docs[3:])
        assert reader.radius_search("pdq", value, 0) == [(docs[5].doc_id, 0)]


def test_the_indexer_queues_while_elasticsearch_is_down_and_replays(es_url: str,
                                                                    tmp_path) -> None:
    """Elasticsearch unreachable (a closed port): the tick queues durably and moves on;
    the next tick, with the node reachable, replays the queue first."""
    import socket

    from matchers.index.elastic import ElasticsearchIndex
    from tests.index.esnode import unique_prefix

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    prefix, queue = unique_prefix(), tmp_path / "queue.db"
    with Catalog.open() as catalog:
        with catalog.session() as s:
            for i in range(3):
                s.add(Candidate(platform="sandbox", item_id=f"d{i}", url=f"http://x.invalid/{i}",
                                title=f"down {i}", match_status="done",
                                found_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC)))
        down = ElasticsearchIndex(dead, prefix=prefix, queue_path=queue)
        try:
            assert sync_new(catalog, down) == {"indexed": 3, "reindexed": 0, "queued": 3}
        finally:
            down.close()
        up = ElasticsearchIndex(es_url, prefix=prefix, queue_path=queue)
        try:
            assert sync_new(catalog, up) == {"indexed": 0, "reindexed": 0, "replayed": 3}
            assert up.pending() == 0
            assert up.search("down", size=10).total == 3
        finally:
            up.drop()
            up.close()


def test_the_indexer_waits_at_a_gap_in_the_ids(index: CandidateIndex, monkeypatch) -> None:
    """A missing id may be a row another transaction is still writing (PostgreSQL hands out
    ids at insert, commits in any order): the cursors stop before it until the row after
    it is ID_GAP_GRACE old, then go on. (The real out-of-order commit on PostgreSQL is
    tests/scheduler/test_indexer_postgres.py.)"""
    import matchers.index.sync as sync

    now = dt.datetime.now(dt.UTC)
    with Catalog.open() as catalog:
        with catalog.session() as s:
            person_id = add_person(s)
            for cid in (1, 2, 4):  # 3 is "still being written"
                s.add(Candidate(id=cid, platform="sandbox", item_id=f"v{cid}", url="u",
                                title=f"gap {cid}", match_status="done", found_at=now))
            s.flush()
            for mid, cid in ((1, 1), (3, 2)):  # match row 2 is "still being written"
                s.add(MatchRow(id=mid, candidate_id=cid, person_id=person_id, signal="face",
                               distance=0.3, threshold=0.5, created_at=now))
        assert sync_new(catalog, index) == {"indexed": 2, "reindexed": 0}

        def ids() -> list[str]:
            return sorted(h.doc_id for h in index.search("gap", size=10).hits)

        assert ids() == ["sandbox:v1", "sandbox:v2"]
        with catalog.session() as s:  # the late rows commit
            s.add(Candidate(id=3, platform="sandbox", item_id="v3", url="u", title="gap 3",
                            match_status="done", found_at=now))
            s.add(MatchRow(id=2, candidate_id=1, person_id=person_id, signal="pdq",
                           distance=3, threshold=31, created_at=now))
        # Both match rows are read now: candidates 1 and 2 were sent before, so again.
        assert sync_new(catalog, index) == {"indexed": 2, "reindexed": 2}
        assert ids() == ["sandbox:v1", "sandbox:v2", "sandbox:v3", "sandbox:v4"]

        # A gap that stays: waited for only until the row after it is old enough.
        with catalog.session() as s:
            s.add(Candidate(id=6, platform="sandbox", item_id="v6", url="u", title="gap 6",
                            match_status="done", found_at=now))
        assert sync_new(catalog, index) == {"indexed": 0, "reindexed": 0}
        monkeypatch.setattr(sync, "ID_GAP_GRACE", dt.timedelta(0))
        assert sync_new(catalog, index) == {"indexed": 1, "reindexed": 0}
        assert "sandbox:v6" in ids()


def test_catalog_ids_are_never_reused() -> None:
    """The indexer's cursors follow ids: on SQLite, rows deleted at the top must not hand
    their ids out again (AUTOINCREMENT), or a re-matched candidate's new match rows would
    sit behind the cursor."""
    with Catalog.open() as catalog:
        with catalog.session() as s:
            person_id = add_person(s)
            cand = Candidate(platform="sandbox", item_id="v", url="u", match_status="done")
            s.add(cand)
            s.flush()
            rows = [MatchRow(candidate_id=cand.id, person_id=person_id, signal=sig,
                             distance=0, threshold=1) for sig in ("pdq", "face")]
            s.add_all(rows)
            s.flush()
            top = max(r.id for r in rows)
            cid = cand.id
        with catalog.session() as s:  # what process_pending does when it matches again
            s.execute(MatchRow.__table__.delete())
            s.execute(Candidate.__table__.delete())
        with catalog.session() as s:
            again = Candidate(platform="sandbox", item_id="v", url="u")
            s.add(again)
            s.flush()
            row = MatchRow(candidate_id=again.id, person_id=person_id, signal="pdq",
                           distance=0, threshold=1)
            s.add(row)
            s.flush()
            assert again.id > cid and row.id > top
