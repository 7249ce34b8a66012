"""The catalog: clients, persons, references, candidates, media, signals, matches.

    from likewatch.catalog import Catalog
    catalog = Catalog.open()            # honours LIKEWATCH_HOME and LIKEWATCH_CATALOG_URL
    with catalog.session() as s: ...

Model modules live beside this file; each is imported here so every table is created.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

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
        Base.metadata.create_all(engine)
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
