"""Catalogs made before a column existed get it on open (additive schema changes only)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

from likewatch.catalog import Catalog, add_missing_columns


def _columns(db: Path, table: str) -> dict[str, str | None]:
    with sqlite3.connect(db) as conn:
        return {r[1]: r[4] for r in conn.execute(f'PRAGMA table_info("{table}")')}


def test_an_older_catalog_gets_the_tier_column_on_open(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    Catalog.open(url=f"sqlite:///{db}", home=tmp_path).close()
    with sqlite3.connect(db) as conn:  # as a catalog from before tiers looked
        conn.execute("DROP INDEX ix_matches_tier")
        conn.execute("ALTER TABLE matches DROP COLUMN tier")
    assert "tier" not in _columns(db, "matches")
    cat = Catalog.open(url=f"sqlite:///{db}", home=tmp_path)
    try:
        assert add_missing_columns(cat.engine) == []  # open added it: nothing left
    finally:
        cat.close()
    assert _columns(db, "matches")["tier"] == "'alert'"  # old rows read as alert tier
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ix_matches_tier'").fetchone()


def test_names_are_quoted_and_a_column_without_default_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE "references" (id INTEGER PRIMARY KEY)')
    md = MetaData()
    Table("references", md, Column("id", Integer, primary_key=True),
          Column("note", String(20), nullable=True))
    assert add_missing_columns(engine, md) == ["references.note"]
    strict = MetaData()
    Table("references", strict, Column("id", Integer, primary_key=True),
          Column("note", String(20), nullable=True),
          Column("must", String(20), nullable=False))
    with pytest.raises(RuntimeError, match="references.must"):
        add_missing_columns(engine, strict)
    engine.dispose()


def _open_at_once(db: str, barrier: Any, errors: Any) -> None:
    barrier.wait()
    try:
        Catalog.open(url=f"sqlite:///{db}", home=Path(db).parent).close()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        errors.put(repr(exc)[:300])


def test_processes_opening_a_new_catalog_at_once_all_get_it(tmp_path: Path) -> None:
    # As a host's daemons started together, or two crawls' subprocesses: each creates the
    # tables it does not see; the one that loses a race looks again instead of failing.
    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    for round_ in range(4):
        db = str(tmp_path / f"catalog-{round_}.sqlite3")
        barrier = ctx.Barrier(4)
        procs = [ctx.Process(target=_open_at_once, args=(db, barrier, errors))
                 for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
