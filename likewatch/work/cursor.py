"""Named cursors: high-water marks that a worker moves forward as it consumes rows by id.

A cursor is one row of ``scheduler_cursors`` (the table keeps its released name). Read and
move it inside the transaction that consumes the rows (:func:`at` in a
:func:`~likewatch.work.db.write_session`), so the work and the mark commit together; or
move it after an outside system accepted the work (:func:`advance`), so a crash in between
repeats the work instead of skipping it. Cursors never move backwards.

:func:`at` locks the cursor's row until the transaction ends, so two processes consuming
the same rows (two matchers building alerts) take turns instead of both doing the work
(on PostgreSQL; SQLite's write transactions are one at a time anyway).

Users: alert building (``alerts.matches``), the back-search queue
(``backsearch.references``), the indexer (``index.candidates``, ``index.matches``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from likewatch.catalog import Catalog
from likewatch.catalog.queue import SchedulerCursor
from likewatch.work.db import insert_missing, locked, write_session

Cursor = SchedulerCursor


def at(s: Session, name: str) -> Cursor:
    """The cursor ``name`` in write session ``s``, locked until it ends; added at 0 if it
    does not exist yet."""
    insert_missing(s, Cursor, {"name": name, "value": 0})
    cursor: Cursor = locked(s, Cursor, name)
    return cursor


def position(cat: Catalog, name: str) -> int:
    """Where the cursor ``name`` stands (0 before its first move)."""
    with cat.session() as s:
        cursor = s.get(Cursor, name)
        return int(cursor.value) if cursor is not None else 0


def advance(cat: Catalog, name: str, value: int) -> int:
    """Move the cursor ``name`` to ``value`` unless it is already past it; returns where it is."""
    with write_session(cat) as s:
        cursor = at(s, name)
        cursor.value = max(int(cursor.value or 0), int(value))
        return int(cursor.value)
