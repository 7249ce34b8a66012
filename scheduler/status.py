"""What `likewatch status` shows from the scheduler's side: platform health, queues, watches,
outbox states, and the daemon roles' heartbeats (``likewatch.work.heartbeat``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import OutboxMessage
from likewatch.work import heartbeat, queue
from scheduler import watches


def scheduler_status(cat: Catalog) -> dict[str, Any]:
    with cat.session() as s:
        outbox = {state: int(n) for state, n in s.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))}
    return {"platforms": watches.health(cat), "queues": queue.counts(cat),
            "watches": watches.list_watches(cat), "outbox": outbox,
            "roles": heartbeat.roles(cat)}


def _role_line(r: dict[str, Any]) -> str:
    alive = (f"{r['workers']} worker(s), last beat {r['beat_age_s']:g} s ago" if r["workers"]
             else f"NOT RUNNING (last beat {r['beat_age_s']:g} s ago)")
    tick = ("no tick finished yet" if r["tick_age_s"] is None else
            f"last tick {r['tick_age_s']:g} s ago, {r['last_tick_s']:g} s, "
            + ("ok" if r["last_tick_ok"] else "FAILED"))
    return f"role {r['role']}: {alive}; {tick}"


def format_status(st: dict[str, Any]) -> list[str]:
    lines = []
    for p in st["platforms"]:
        state = "healthy" if p["healthy"] else "UNHEALTHY"
        extra = f", backing off {p['backoff_s']} s" if p["backoff_s"] else ""
        err = f", last error: {p['last_error'][:120]}" if p["last_error"] else ""
        lines.append(f"platform {p['platform']}: {state} "
                     f"({p['consecutive_failures']} consecutive failures{extra}{err})")
    for w in st["watches"]:
        lines.append(f"watch {w['id']}: {w['platform']} {w['mode']} {w['url']} every "
                     f"{w['every']:g} s, next in {max(0.0, w['next_due_in'])} s, "
                     f"last {w['last_status'] or 'never run'}")
    for name, states in sorted(st["queues"].items()):
        lines.append(f"queue {name}: " + ", ".join(f"{k}={v}" for k, v in sorted(states.items())))
    if st["outbox"]:
        lines.append("outbox: " + ", ".join(f"{k}={v}" for k, v in sorted(st["outbox"].items())))
    lines.extend(_role_line(r) for r in st.get("roles", []))
    return lines or ["nothing scheduled yet"]
