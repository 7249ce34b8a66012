"""Catalog access for the daemon: one Catalog per process and write transactions.

On SQLite a read-then-write transaction opened as DEFERRED can fail with "database is
locked" (SQLITE_BUSY_SNAPSHOT) when another process wrote in between, and busy_timeout
does not help there. :func:`write_session` therefore starts SQLite transactions with
``BEGIN IMMEDIATE`` (the write lock is taken first, waiting up to busy_timeout). On
PostgreSQL it is an ordinary transaction; row locks come from the statements themselves.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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
    """Forget the cached catalog (tests that switch LIKEWATCH_HOME call this)."""
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


def worker_id(role: str = "") -> str:
    """A lease owner name unique to this process: host, pid and a random suffix."""
    prefix = f"{role}@" if role else ""
    return f"{prefix}{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
