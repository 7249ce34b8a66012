"""Catalog look-ups the spider needs: which items are already known, and checkpoints.

Plain synchronous SQLAlchemy: each call is one short query on an indexed unique key, cheap
enough to run in the reactor thread between downloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.base import utcnow
from likewatch.catalog.models import Candidate, CrawlCheckpoint


def default_watch_key(platform: str, mode: str, url: str, query: str = "") -> str:
    """The watch key used when none is given: f"{platform}:{mode}:{url}:{query}"."""
    return f"{platform}:{mode}:{url}:{query}"[:200]


def seen_ids(catalog: Catalog, platform: str, item_ids: Iterable[str]) -> set[str]:
    """Those of ``item_ids`` that already have a Candidate row on ``platform``."""
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        return set()
    found: set[str] = set()
    with catalog.session() as s:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = s.execute(
                select(Candidate.item_id).where(
                    Candidate.platform == platform, Candidate.item_id.in_(chunk)
                )
            )
            found.update(r[0] for r in rows)
    return found


def load_checkpoint(catalog: Catalog, watch: str) -> dict[str, Any]:
    """The saved state of a watch ({} when it never ran)."""
    with catalog.session() as s:
        row = s.get(CrawlCheckpoint, watch)
        return dict(row.state or {}) if row is not None else {}


def save_checkpoint(catalog: Catalog, watch: str, state: dict[str, Any]) -> None:
    """Replace the saved state of a watch."""
    with catalog.session() as s:
        row = s.get(CrawlCheckpoint, watch)
        if row is None:
            s.add(CrawlCheckpoint(watch=watch, state=state, updated_at=utcnow()))
        else:
            row.state = state
            row.updated_at = utcnow()
