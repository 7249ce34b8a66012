"""Role heartbeats: which daemon roles are alive, and when each last finished a tick.

The daemon (``scheduler.daemon``) calls :func:`beat` for each of its roles every few
seconds from its main loop, and the role ticks (``scheduler.jobs``) call :func:`tick` when
one ends, so a role busy with a long crawl still shows a fresh beat while its last tick
grows old. One row per worker (``role_heartbeats``), keyed by the worker's lease-owner name
(``likewatch.work.lease.worker_id``): several processes running one role each have their
row. :func:`roles` summarises them per role for ``/api/health``, ``likewatch status`` and
``/metrics``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from likewatch.catalog import Catalog
from likewatch.catalog.heartbeats import RoleHeartbeat
from likewatch.work.clock import SYSTEM, Clock
from likewatch.work.db import write_session

# A worker whose last beat is older than this many beat intervals is counted as gone.
STALE_AFTER_S = 60.0
KEEP_S = 7 * 86400.0  # rows of workers silent this long are deleted by prune()


def _row(s: Session, role: str, worker: str, now: float) -> RoleHeartbeat:
    row = s.get(RoleHeartbeat, worker)
    if row is None:
        row = RoleHeartbeat(worker=worker, role=role, started_at=now, beat_at=now, ticks=0)
        s.add(row)
    return row


def beat(cat: Catalog, role: str, worker: str, *, clock: Clock = SYSTEM) -> None:
    """``worker`` (of ``role``) is alive now."""
    now = clock.now()
    with write_session(cat) as s:
        _row(s, role, worker, now).beat_at = now


def tick(cat: Catalog, role: str, worker: str, seconds: float, ok: bool, *,
         clock: Clock = SYSTEM) -> None:
    """A tick of ``role`` by ``worker`` ended after ``seconds`` (``ok``: without error)."""
    now = clock.now()
    with write_session(cat) as s:
        row = _row(s, role, worker, now)
        row.beat_at = row.last_tick_at = now
        row.last_tick_s, row.last_tick_ok = round(float(seconds), 3), bool(ok)
        row.ticks = (row.ticks or 0) + 1


def roles(cat: Catalog, *, stale_after: float = STALE_AFTER_S,
          clock: Clock = SYSTEM) -> list[dict[str, Any]]:
    """Per role, sorted by name: its newest beat and tick, and how many workers beat lately.

    ``{"role", "last_beat_at", "beat_age_s", "last_tick_at", "tick_age_s", "last_tick_s",
    "last_tick_ok", "workers"}`` (times: float Unix seconds; ages in seconds).
    """
    now = clock.now()
    with cat.session() as s:
        rows = list(s.scalars(select(RoleHeartbeat).order_by(RoleHeartbeat.role)))
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        d = out.setdefault(r.role, {"role": r.role, "last_beat_at": r.beat_at,
                                    "last_tick_at": None, "last_tick_s": None,
                                    "last_tick_ok": None, "workers": 0})
        d["last_beat_at"] = max(d["last_beat_at"], r.beat_at)
        if r.last_tick_at is not None and (d["last_tick_at"] is None
                                           or r.last_tick_at > d["last_tick_at"]):
            d["last_tick_at"], d["last_tick_s"] = r.last_tick_at, r.last_tick_s
            d["last_tick_ok"] = r.last_tick_ok
        d["workers"] += int(now - r.beat_at <= stale_after)
    for d in out.values():
        d["beat_age_s"] = round(max(0.0, now - d["last_beat_at"]), 1)
        d["tick_age_s"] = (None if d["last_tick_at"] is None
                           else round(max(0.0, now - d["last_tick_at"]), 1))
    return [out[k] for k in sorted(out)]


def prune(cat: Catalog, older_than: float = KEEP_S, *, clock: Clock = SYSTEM) -> int:
    """Delete the rows of workers silent for ``older_than`` seconds; returns how many."""
    with write_session(cat) as s:
        res = s.execute(delete(RoleHeartbeat).where(
            RoleHeartbeat.beat_at < clock.now() - older_than))
        return int(getattr(res, "rowcount", 0) or 0)
