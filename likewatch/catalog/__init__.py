"""The catalog: clients, persons, references, candidates, media, signals, matches.

    from likewatch.catalog import Catalog
    catalog = Catalog.open()            # honours LIKEWATCH_HOME and LIKEWATCH_CATALOG_URL
    with catalog.session() as s: ...

Model modules live beside this file; each is imported here so every table is created.

Schema changes are additive only: new tables are created on open, and a column added to an
existing table (it must be nullable or have a ``server_default``) is added to catalogs made
before it by :func:`add_missing_columns`. Nothing is ever dropped or renamed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateColumn

from likewatch import private, settings
from likewatch.catalog import models
from likewatch.catalog.base import Base, make_engine, session_factory

__all__ = ["Base", "Catalog", "models"]


def _import_model_modules() -> None:
    # Other packages add their tables in modules under likewatch/catalog/ (one per domain).
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name not in {"base", "models"}:
            importlib.import_module(f"likewatch.catalog.{info.name}")


def add_missing_columns(engine: Engine, metadata: MetaData = Base.metadata) -> list[str]:
    """Add the model's columns (and indexes) that an older catalog's tables lack; what was
    added, as ``table.column`` and ``table: index name``. A column that is neither nullable nor has a server default cannot be added
    to rows that exist: that is a programming error, raised as RuntimeError."""
    added: list[str] = []
    existing_tables = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        found = inspect(conn)
        for table in metadata.sorted_tables:
            if table.name not in existing_tables:
                continue  # create_all just made it, whole
            have = {c["name"] for c in found.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                if not column.nullable and column.server_default is None:
                    raise RuntimeError(f"{table.name}.{column.name} cannot be added to an "
                                       "existing catalog: give it a server_default")
                ddl = CreateColumn(column).compile(dialect=engine.dialect)
                name = engine.dialect.identifier_preparer.format_table(table)
                conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN {ddl}")
                added.append(f"{table.name}.{column.name}")
            indexes = {i["name"] for i in found.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in indexes:
                    index.create(conn)
                    added.append(f"{table.name}: index {index.name}")
    return added


def _create_schema(engine: Engine, attempts: int = 5) -> None:
    """Create missing tables and columns. Several processes may open a new catalog at once
    (two crawls' subprocesses, every daemon of a host started by systemd together): the one
    that loses the race to create a table gets "already exists" and looks again."""
    for attempt in range(attempts):
        try:
            Base.metadata.create_all(engine)
            add_missing_columns(engine)
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


class Catalog:
    def __init__(self, engine: Engine, home: Path) -> None:
        self.engine = engine
        self.home = home
        self._sessions = session_factory(engine)

    @classmethod
    def open(cls, url: str | None = None, home: Path | None = None) -> Catalog:
        home = private.ensure_home(home or settings.home())  # 0700: see likewatch/private.py
        url = url or settings.get("catalog_url") or f"sqlite:///{home / 'catalog.sqlite3'}"
        engine = make_engine(url)
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            private.secure_sqlite(Path(engine.url.database))  # 0600 before SQLite opens it
        _import_model_modules()
        _create_schema(engine)
        return cls(engine, home)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        s: Session = self._sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
