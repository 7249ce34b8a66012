"""Catalogs made before a column existed get it on open (additive schema changes only)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
