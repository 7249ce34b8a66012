"""The embedded store's signal rows in memory follow the file: incrementally after this
instance's and another connection's writes, afresh when they cannot, exact throughout."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from matchers.index.base import CandidateDoc
from matchers.index.embedded import EmbeddedIndex
from matchers.index.signal_rows import SegmentedRows
from tests.index.data import brute_radius, make_scale_docs


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SegmentedRows, "MIN_SEGMENT", 256)


def check(index: EmbeddedIndex, current: dict[str, CandidateDoc],
          bases: dict[str, list[str]]) -> None:
    for signal, radius in (("pdq", 31), ("pdq", 45), ("phash", 8), ("face_pdq", 48)):
        for value in bases[signal][:2]:
            assert (index.radius_search(signal, value, radius)
                    == brute_radius(current, signal, value, radius)), (signal, radius)


def renamed(new: list[CandidateDoc], old: list[CandidateDoc]) -> list[CandidateDoc]:
    """``new``'s values under ``old``'s ids: writing them replaces those documents."""
    for n, o in zip(new, old, strict=False):
        n.platform, n.item_id = o.platform, o.item_id
    return new[:len(old)]


def test_another_connections_writes_are_applied_incrementally(tmp_path: Path) -> None:
    docs, bases = make_scale_docs(3000, seed=21)
    path = tmp_path / "index.sqlite3"
    current: dict[str, CandidateDoc] = {}
    with EmbeddedIndex(path) as reader, EmbeddedIndex(path) as writer:
        writer.add(docs[:2000])
        current.update((d.doc_id, d) for d in docs[:2000])
        check(reader, current, bases)
        first = reader._columns["pdq"].rows.segments[0]
        # New documents, then replacements of old ones (their old values removed).
        writer.add(docs[2000:])
        current.update((d.doc_id, d) for d in docs[2000:])
        check(reader, current, bases)
        new, _ = make_scale_docs(200, seed=22)
        replacing = renamed(new, docs[::15])
        writer.add(replacing)
        current.update((d.doc_id, d) for d in replacing)
        check(reader, current, bases)
        segments = reader._columns["pdq"].rows.segments
        assert segments[0] is first, "the first load's segment was kept, not rebuilt"
        assert segments[0].dead > 0, "replaced values are masked"
        # The writer's own copy follows its own writes the same way.
        check(writer, current, bases)


def test_sig_ids_only_grow(tmp_path: Path) -> None:
    """A replaced document's values get new ids even when its old ones were the largest
    (SQLite alone would reuse them: a reader could not tell old from new)."""
    with EmbeddedIndex(tmp_path / "index.sqlite3") as index:
        docs, _ = make_scale_docs(3, seed=23)
        index.add(docs)
        ids = [r[0] for r in index._db.execute("SELECT rowid FROM sigs ORDER BY rowid")]
        index.add([docs[-1]])
        again = [r[0] for r in index._db.execute("SELECT rowid FROM sigs ORDER BY rowid")]
        last = len(docs[-1].signals["pdq"]) + len(docs[-1].signals["phash"])
        assert again[:-last] == ids[:-last] and min(again[-last:]) > max(ids)
        assert index._db.execute("SELECT COUNT(*) FROM sigs_removed").fetchone()[0] == last


def test_a_reader_behind_the_trimmed_log_reloads(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EmbeddedIndex, "REMOVED_LOG", 20)
    docs, bases = make_scale_docs(600, seed=24)
    path = tmp_path / "index.sqlite3"
    with EmbeddedIndex(path) as reader, EmbeddedIndex(path) as writer:
        writer.add(docs)
        current = {d.doc_id: d for d in docs}
        check(reader, current, bases)
        before = reader._columns["pdq"]
        for seed in (25, 26, 27):  # each replaces 60 documents: > 2 x 20 entries logged
            new, _ = make_scale_docs(60, seed=seed)
            replacing = renamed(new, docs[seed % 5::10])
            writer.add(replacing)
            current.update((d.doc_id, d) for d in replacing)
        kept = writer._db.execute("SELECT COUNT(*) FROM sigs_removed").fetchone()[0]
        assert kept <= 2 * 20 + 120, "the log was trimmed"
        check(reader, current, bases)
        assert reader._columns["pdq"] is not before, "reloaded: the log no longer covered it"


def test_a_file_from_before_sig_ids_opens_and_searches(tmp_path: Path) -> None:
    """A file written before meta/sigs_removed existed: ids continue after its rows."""
    path = tmp_path / "index.sqlite3"
    docs, bases = make_scale_docs(300, seed=28)
    with EmbeddedIndex(path) as index:
        index.add(docs)
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE meta; DROP TABLE sigs_removed;")
    top = db.execute("SELECT MAX(rowid) FROM sigs").fetchone()[0]
    db.close()
    with EmbeddedIndex(path) as index:
        assert index._meta("next_sig") == top + 1
        current = {d.doc_id: d for d in docs}
        check(index, current, bases)
        new, _ = make_scale_docs(30, seed=29)
        index.add(renamed(new, docs[:30]))
        current.update((d.doc_id, d) for d in new[:30])
        check(index, current, bases)


def test_rows_out_of_step_with_the_file_are_reloaded(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Values deleted behind the index's back (not logged) are noticed and reloaded."""
    docs, bases = make_scale_docs(400, seed=30)
    path = tmp_path / "index.sqlite3"
    with EmbeddedIndex(path) as index:
        index.add(docs)
        current = {d.doc_id: d for d in docs}
        check(index, current, bases)
        hits = index.radius_search("pdq", bases["pdq"][0], 31)
        assert hits
        gone = hits[0][0]
        db = sqlite3.connect(path)
        with db:
            db.execute("DELETE FROM sigs WHERE doc_id = ?", (gone,))
        db.close()
        current[gone] = CandidateDoc.from_json(dict(current[gone].to_json(), signals={}))
        with caplog.at_level(logging.WARNING, logger="matchers.index.embedded"):
            check(index, current, bases)
        assert "out of step" in caplog.text


def test_memory_reports_each_loaded_signal(tmp_path: Path) -> None:
    docs, bases = make_scale_docs(500, seed=31)
    with EmbeddedIndex(tmp_path / "index.sqlite3") as index:
        index.add(docs)
        assert index.memory() == {}
        index.radius_search("pdq", bases["pdq"][0], 31)
        memory = index.memory()
        assert list(memory) == ["pdq"] and memory["pdq"] >= 500 * 40
