"""The indexer role on PostgreSQL, where rows commit out of id order."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, Client, MatchRow, Person
from matchers.index.embedded import EmbeddedIndex
from matchers.index.sync import sync_new


@pytest.mark.parametrize("grace", [True, False])
def test_a_row_committed_after_a_later_id_is_not_skipped(pg_url, tmp_path, monkeypatch,
                                                         grace: bool) -> None:
    """Two writers: the first inserts a candidate (id n) and a match row and has not
    committed when the second commits candidate n + 1 and its match row and the indexer
    ticks. Once the first commits, the next tick sends its candidate and the match: the
    cursors stopped before the gap. The control (no grace: cursors move past gaps at once)
    shows the race is real: there both are skipped for good."""
    import datetime as dt

    import matchers.index.sync as sync

    if not grace:
        monkeypatch.setattr(sync, "ID_GAP_GRACE", dt.timedelta(0))
    with Catalog.open() as catalog, EmbeddedIndex(tmp_path / "index.sqlite3") as index:
        with catalog.session() as s:
            client = Client(name="studio-a")
            person = Person(client=client, key="p1", display_name="Star")
            old = Candidate(platform="sandbox", item_id="old", url="u", title="old",
                            match_status="done")
            s.add_all([client, person, old])
            s.flush()
            pid, old_id = person.id, old.id
        assert sync_new(catalog, index) == {"indexed": 1, "reindexed": 0}

        slow = catalog.session()  # the first writer: ids taken, not committed
        with slow as s1:
            late = Candidate(platform="sandbox", item_id="late", url="u", title="late",
                             match_status="done")
            s1.add(late)
            s1.add(MatchRow(candidate_id=old_id, person_id=pid, signal="face",
                            distance=0.3, threshold=0.5))
            s1.flush()
            with catalog.session() as s2:  # the second writer commits later ids first
                quick = Candidate(platform="sandbox", item_id="quick", url="u",
                                  title="quick", match_status="done")
                s2.add(quick)
                s2.flush()
                s2.add(MatchRow(candidate_id=quick.id, person_id=pid, signal="pdq",
                                distance=1, threshold=31))
            assert quick.id > late.id
            first = sync_new(catalog, index)
            assert first == ({"indexed": 0, "reindexed": 0} if grace
                             else {"indexed": 1, "reindexed": 0})
        # the first writer commits now
        with catalog.session() as s:
            assert len(s.scalars(select(MatchRow)).all()) == 2
        second = sync_new(catalog, index)
        hits = {h.doc_id: h for h in index.search("", size=10).hits}
        if grace:
            assert second == {"indexed": 2, "reindexed": 1}
            assert set(hits) == {"sandbox:old", "sandbox:late", "sandbox:quick"}
            assert hits["sandbox:old"].persons == ["p1"]
        else:  # the control: the late rows were skipped
            assert second == {"indexed": 0, "reindexed": 0}
            assert "sandbox:late" not in hits and hits["sandbox:old"].persons == []
