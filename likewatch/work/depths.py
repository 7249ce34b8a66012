"""How much work waits where: one reading for ``/api/health``, ``/metrics`` and
``likewatch status``.

- ``work``: the work queue (``likewatch.work.queue``) by queue and state;
- ``outbox``: alert deliveries by state (pending, sent, dead);
- ``candidates``: candidates by match status (``pending`` ones wait for the matcher);
- ``index_lag``: candidates past the indexer's cursor, i.e. not yet sent to the candidate
  index by the daemon's indexer role (``matchers.index.sync.sync_new``; the cursor is read
  by its name here, the core importing no package).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import OutboxMessage
from likewatch.catalog.models import Candidate
from likewatch.work import cursor, queue

INDEX_CURSOR = "index.candidates"  # matchers.index.sync.CANDIDATE_CURSOR


def depths(cat: Catalog) -> dict[str, Any]:
    """``{"work": {queue: {state: n}}, "outbox": {state: n}, "candidates": {status: n},
    "index_lag": n}``."""
    mark = cursor.position(cat, INDEX_CURSOR)
    with cat.session() as s:
        outbox = {str(k): int(n) for k, n in s.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))}
        candidates = {str(k): int(n) for k, n in s.execute(
            select(Candidate.match_status, func.count()).group_by(Candidate.match_status))}
        lag = s.scalar(select(func.count()).select_from(Candidate).where(Candidate.id > mark))
    return {"work": queue.counts(cat), "outbox": outbox, "candidates": candidates,
            "index_lag": int(lag or 0)}
