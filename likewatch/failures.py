"""Which external dependency an exception means, in one line (``likewatch`` exits 3).

The CLI prints ``likewatch: dependency failed: <this line>`` and exits with status 3 when
a command fails because something outside Likewatch is down or unusable, and prints the
traceback only with ``-v``. Known here: the catalog database (PostgreSQL, or a SQLite file
that cannot be opened or written), Elasticsearch, Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator

from likewatch import settings

# SQLite errors that come from the file or the disk, not from our SQL
_SQLITE_DEPENDENCY = ("unable to open", "database is locked", "disk i/o", "readonly",
                      "read-only", "disk is full", "database or disk is full",
                      "file is not a database", "malformed")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]


def _catalog_name() -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = str(settings.get("catalog_url") or "")
    if not url:
        return f"the catalog (SQLite in {settings.home()})"
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "the catalog database"
    if parsed.get_backend_name() == "postgresql":
        return f"PostgreSQL (the catalog) at {parsed.host or 'localhost'}:{parsed.port or 5432}"
    return f"the catalog database ({parsed.get_backend_name()})"


def dependency_failure(exc: BaseException) -> str | None:
    """One line naming the dependency that failed behind ``exc``, or None."""
    from sqlalchemy import exc as sa

    for e in _chain(exc):
        if isinstance(e, sa.DBAPIError):
            from_sqlite = "sqlite" in type(getattr(e, "orig", None)).__module__
            text = _first_line(e)
            if from_sqlite and any(m in text.lower() for m in _SQLITE_DEPENDENCY):
                return f"{_catalog_name()} is unusable: {text}"
            if not from_sqlite and isinstance(e, (sa.OperationalError, sa.InterfaceError)):
                return f"{_catalog_name()} is unavailable: {text}"
        if isinstance(e, sa.DBAPIError) and e.connection_invalidated:
            return f"{_catalog_name()} dropped the connection: {_first_line(e)}"
        module = type(e).__module__
        if module.startswith(("elastic_transport", "elasticsearch")):
            url = settings.get("elasticsearch_url")
            return f"Elasticsearch at {url} is unavailable: {_first_line(e)}"
        if module.startswith("playwright") and ("launch" in str(e) or "Executable" in str(e)):
            return f"Chromium ({settings.get('chromium_path')}) could not start: {_first_line(e)}"
    return None
