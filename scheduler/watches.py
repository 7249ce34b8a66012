"""Watches (what to crawl, how often) and per-platform health with exponential backoff.

Scheduling a watch is idempotent: each due slot becomes one crawl job whose key is
``crawl:<watch id>:<slot>`` (the slot is the due time in milliseconds), and the watch's
``next_due_at`` moves on in the same transaction. Slots missed while the daemon was down
are coalesced into one run (the next slot is counted from now), so a restart neither runs
a slot twice nor forgets a due watch.

Schedule windows: a watch may also carry a crontab expression (``cron``, read in the time
zone ``cron_tz``, parsed by APScheduler's ``CronTrigger.from_crontab``) whose fire times
are crawls too: ``every=3600`` with ``cron="*/10 0-5 * * *"`` and ``cron_tz="Asia/Shanghai"``
crawls hourly, and every ten minutes between midnight and six in Beijing, when re-uploads
of taken-down items cluster. The next slot is the earlier of the two.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from alerts.registry import RegistryError, get_client
from likewatch import settings
from likewatch.catalog import Catalog
from likewatch.catalog.queue import PlatformHealth, Watch
from likewatch.work import queue
from likewatch.work.clock import SYSTEM, Clock
from likewatch.work.db import insert_missing, locked, write_session
from likewatch.work.lease import backoff_delay

MODES = ("listing", "search", "api")


def add_watch(cat: Catalog, client: str, platform: str, url: str, *, mode: str = "listing",
              query: str = "", every: float = 900.0, max_pages: int | None = None,
              cron: str = "", cron_tz: str = "UTC", clock: Clock = SYSTEM) -> int:
    """Create a watch; its first crawl is due at once. Returns its id. ``cron``: a schedule
    window (module docstring)."""
    if mode not in MODES:
        raise RegistryError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if every <= 0:
        raise RegistryError("--every must be a positive number of seconds")
    if not url.startswith(("http://", "https://")):
        raise RegistryError(f"not an http(s) URL: {url!r}")
    if mode == "search" and not query:
        raise RegistryError("a search watch needs --query")
    if cron:
        trigger(cron, cron_tz)  # a clear error now, not at the first due slot
    with write_session(cat) as s:
        c = get_client(s, client)
        w = Watch(client_id=c.id, platform=platform, url=url, mode=mode, query=query,
                  every=float(every), max_pages=max_pages, cron=cron.strip(),
                  cron_tz=cron_tz, next_due_at=clock.now())
        s.add(w)
        s.flush()
        return w.id


def list_watches(cat: Catalog, *, clock: Clock = SYSTEM) -> list[dict[str, Any]]:
    t = clock.now()
    with cat.session() as s:
        return [{"id": w.id, "client_id": w.client_id, "platform": w.platform, "url": w.url,
                 "mode": w.mode, "query": w.query, "every": w.every, "enabled": w.enabled,
                 "cron": w.cron or None, "cron_tz": w.cron_tz if w.cron else None,
                 "next_due_in": round(w.next_due_at - t, 1),
                 "last_status": w.last_status, "last_summary": w.last_summary}
                for w in s.scalars(select(Watch).order_by(Watch.id))]


def in_backoff(cat: Catalog, platform: str, *, clock: Clock = SYSTEM) -> bool:
    t = clock.now()
    with cat.session() as s:
        h = s.get(PlatformHealth, platform)
        return h is not None and h.backoff_until > t


def schedule_due(cat: Catalog, *, clock: Clock = SYSTEM) -> list[str]:
    """Enqueue one crawl job per due watch (platforms in backoff wait). Returns job keys."""
    t = clock.now()
    keys = []
    with write_session(cat) as s:
        backoff = {h.platform for h in s.scalars(select(PlatformHealth).where(
            PlatformHealth.backoff_until > t))}
        # Two crawler processes scheduling at once skip each other's watches.
        for w in s.scalars(select(Watch).where(Watch.enabled.is_(True), Watch.next_due_at <= t)
                           .with_for_update(skip_locked=True)):
            if w.platform in backoff:
                continue
            key = f"crawl:{w.id}:{int(w.next_due_at * 1000)}"
            queue.enqueue(s, "crawl", key, {"watch_id": w.id}, clock=clock)
            keys.append(key)
            w.next_due_at = next_slot(w.next_due_at, w.every, t, w.cron, w.cron_tz)
    return keys


def trigger(cron: str, tz: str) -> CronTrigger:
    """The CronTrigger of a schedule window; RegistryError if it does not parse."""
    try:
        return CronTrigger.from_crontab(cron.strip(), timezone=tz or "UTC")
    except (ValueError, LookupError) as exc:  # a bad field; an unknown time zone
        raise RegistryError(f"bad schedule window {cron!r} ({tz}): {exc}") from None


def next_slot(due: float, every: float, t: float, cron: str = "", tz: str = "UTC") -> float:
    """The next due time after the slot ``due`` ran at ``t``: ``every`` seconds on (or from
    now when behind), or the window's next fire time after ``t`` if sooner."""
    nxt = due + every
    nxt = nxt if nxt > t else t + every
    if cron:
        after = dt.datetime.fromtimestamp(t, dt.UTC) + dt.timedelta(seconds=1)
        fire = trigger(cron, tz).get_next_fire_time(None, after)
        if fire is not None:
            nxt = min(nxt, fire.timestamp())
    return nxt


def record_result(cat: Catalog, watch_id: int, platform: str, *, ok: bool,
                  summary: dict[str, Any] | None = None, error: str = "",
                  clock: Clock = SYSTEM) -> float:
    """Record a crawl's outcome on its watch and platform; returns the backoff (0 if ok)."""
    t = clock.now()
    with write_session(cat) as s:
        w = s.get(Watch, watch_id)
        if w is not None:
            w.last_run_at = t
            w.last_status = "ok" if ok else "failed"
            w.last_summary = summary if ok else {"error": error[:500]}
        # Created by whichever crawler process comes first, then locked: another process
        # recording this platform's result waits instead of failing or overwriting it.
        insert_missing(s, PlatformHealth, {"platform": platform, "failures": 0,
                                           "backoff_until": 0.0, "last_error": ""})
        h = locked(s, PlatformHealth, platform)
        if ok:
            h.failures, h.backoff_until, h.last_ok_at = 0, 0.0, t
            return 0.0
        h.failures = (h.failures or 0) + 1
        delay = backoff_delay(h.failures, float(settings.get("crawl_backoff_base")),
                                    float(settings.get("crawl_backoff_max")), jitter=0.1)
        h.backoff_until, h.last_error, h.last_failure_at = t + delay, error[:2000], t
        return delay


def health(cat: Catalog, *, clock: Clock = SYSTEM) -> list[dict[str, Any]]:
    """Per-platform health for `likewatch status`."""
    limit = int(settings.get("crawl_unhealthy_after"))
    t = clock.now()
    with cat.session() as s:
        return [{"platform": h.platform, "healthy": h.failures < limit,
                 "consecutive_failures": h.failures,
                 "backoff_s": max(0.0, round(h.backoff_until - t, 1)),
                 "last_error": h.last_error or None}
                for h in s.scalars(select(PlatformHealth).order_by(PlatformHealth.platform))]
