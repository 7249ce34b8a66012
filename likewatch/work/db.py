"""Catalog access for workers: one Catalog per process, and write transactions.

On SQLite a read-then-write transaction opened as DEFERRED can fail with "database is
locked" (SQLITE_BUSY_SNAPSHOT) when another process wrote in between, and busy_timeout
does not help there. :func:`write_session` therefore starts SQLite transactions with
``BEGIN IMMEDIATE`` (the write lock is taken first, waiting up to busy_timeout). On
PostgreSQL it is an ordinary transaction; row locks come from the statements themselves
(``FOR UPDATE SKIP LOCKED`` in :mod:`likewatch.work.lease`).

Every transaction that reads what it is about to change (a claim, a cursor, an upsert)
goes through :func:`write_session`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from likewatch.catalog import Catalog

_catalog: Catalog | None = None
_catalog_pid = 0


def catalog() -> Catalog:
    """This process's catalog (opened on first use; reopened after a fork)."""
    global _catalog, _catalog_pid
    if _catalog is None or _catalog_pid != os.getpid():
        _catalog = Catalog.open()
        _catalog_pid = os.getpid()
    return _catalog


def reset_catalog() -> None:
    """Forget the cached catalog (tests and the demo that switch LIKEWATCH_HOME call this)."""
    global _catalog
    if _catalog is not None:
        _catalog.close()
    _catalog = None


def is_sqlite(cat: Catalog) -> bool:
    return cat.engine.dialect.name == "sqlite"


@contextmanager
def write_session(cat: Catalog) -> Iterator[Session]:
    """A session whose transaction holds the write lock from its start on SQLite."""
    with cat.session() as s:
        if is_sqlite(cat):
            s.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield s


def compare_and_set(s: Session, model: Any, row_id: int, column: str, expected: Any,
                    new: Any) -> bool:
    """Set ``column`` of row ``row_id`` to ``new`` if it still holds ``expected``.

    The claim of work done within one transaction, without a lease (the matcher's claim
    of a pending candidate: the state change and the results commit together, and of two
    workers that computed the same row, only the first records it). False: someone else
    moved the row first; the caller rolls back what it wrote."""
    col = getattr(model, column)
    res = s.execute(update(model).where(model.id == row_id, col == expected)
                    .values({column: new}).execution_options(synchronize_session=False))
    return bool(getattr(res, "rowcount", 0) == 1)


def insert_missing(s: Session, model: Any, values: dict[str, Any]) -> None:
    """Insert the row ``values`` unless a row with its key exists already.

    ``INSERT .. ON CONFLICT DO NOTHING`` on both dialects: two processes creating the same
    row at once (a cursor, a turn, a host's budget) do not make one of them fail."""
    ins = pg_insert(model) if s.get_bind().dialect.name == "postgresql" else sqlite_insert(model)
    s.execute(ins.values(**values).on_conflict_do_nothing())


def locked(s: Session, model: Any, key: Any) -> Any:
    """Row ``key`` of ``model``, read again and locked until the transaction ends
    (``SELECT .. FOR UPDATE`` on PostgreSQL; on SQLite ``write_session`` holds the lock)."""
    return s.get(model, key, with_for_update=True, populate_existing=True)
