"""Each crawled host's politeness budget, kept in the catalog for every crawler process.

One crawler process knows only its own requests: several crawling one platform would each
keep to its limits and together exceed them. So each host (``host:port``) has one row in
``host_budgets`` that every crawler process takes its requests from:

- **Spacing**: requests to the host start at least ``max(1 / rate, Crawl-delay)`` apart,
  all processes together. The rate is the setting ``crawl_rate_per_host`` (requests per
  second, 0: none) or the host's entry in ``crawl_host_rates``; the Crawl-delay is what the
  process read in the host's robots.txt (Scrapy reads it before any other request to the
  host, so every process knows it). :func:`reserve` takes the row's ``next_start`` (or
  now, if later) as this request's start and moves ``next_start`` one interval past it,
  in one locked transaction: a token bucket one token deep, so never a burst. A process
  that dies after reserving leaves a gap, not a burst.
- **Pauses**: a 429 or 503 with ``Retry-After`` moves ``paused_until`` forward
  (:func:`pause`); no request of any process starts before it.

Times are the work layer's clock (wall-clock seconds): hosts that run crawler processes
keep their clocks in step (NTP). Without spacing (no rate, no Crawl-delay) a request only
reads the row (is the host paused?), so an unthrottled host costs a read per request.
The crawler's ``HostPacingMiddleware`` asks :class:`SharedPacing` before each request;
``crawl_budget_shared = false`` keeps the budget per process, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from likewatch.catalog import Catalog
from likewatch.catalog.queue import HostBudget
from likewatch.work.clock import SYSTEM, Clock
from likewatch.work.db import catalog as process_catalog
from likewatch.work.db import insert_missing, locked, write_session

_NEW = {"next_start": 0.0, "paused_until": 0.0, "pauses": 0}


def reserve(cat: Catalog, host: str, interval: float, *, clock: Clock = SYSTEM) -> float:
    """When the next request to ``host`` may start (clock seconds; now or later), the
    next one of any process coming ``interval`` seconds after it at the earliest."""
    t = clock.now()
    if interval <= 0:  # nothing to space: only a pause holds it back
        with cat.session() as s:
            row = s.get(HostBudget, host)
            return max(t, row.paused_until) if row is not None else t
    with write_session(cat) as s:
        insert_missing(s, HostBudget, {"host": host, **_NEW})
        row = locked(s, HostBudget, host)
        start = max(t, row.next_start, row.paused_until)
        row.next_start = start + interval
        return float(start)


def paused_until(cat: Catalog, host: str) -> float:
    """Until when ``host`` is paused (0.0: it never was)."""
    with cat.session() as s:
        row = s.get(HostBudget, host)
        return float(row.paused_until) if row is not None else 0.0


def pause(cat: Catalog, host: str, until: float) -> bool:
    """No request to ``host`` starts before ``until`` (a Retry-After); False when it was
    paused that long already."""
    with write_session(cat) as s:
        insert_missing(s, HostBudget, {"host": host, **_NEW})
        row = locked(s, HostBudget, host)
        if until <= row.paused_until:
            return False
        row.paused_until = until
        row.pauses += 1
        return True


def parse_rates(entries: Sequence[str]) -> dict[str, float]:
    """``["host=rate", ...]`` (the ``crawl_host_rates`` setting) as ``{host: rate}``."""
    rates: dict[str, float] = {}
    for entry in entries:
        host, sep, value = str(entry).partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or not host.strip() or rate < 0:
            raise ValueError(f"crawl_host_rates: expected HOST=REQUESTS_PER_SECOND, got {entry!r}")
        rates[host.strip().lower()] = rate
    return rates


@dataclass
class SharedPacing:
    """The crawler side: what ``HostPacingMiddleware`` asks before each request."""

    rate: float = 0.0  # requests per second per host, 0: none
    host_rates: dict[str, float] = field(default_factory=dict)  # per host (``host[:port]``)
    clock: Clock = SYSTEM
    catalog: Callable[[], Catalog] = process_catalog

    def interval(self, host: str, crawl_delay: float = 0.0) -> float:
        """The spacing of ``host``'s requests: ``1 / rate`` or its Crawl-delay, the longer."""
        name = host.lower()
        rate = self.host_rates.get(name, self.host_rates.get(name.split(":")[0], self.rate))
        return max(1.0 / rate if rate > 0 else 0.0, crawl_delay)

    async def wait(self, host: str, crawl_delay: float = 0.0) -> float:
        """Wait for this request's turn in ``host``'s budget; returns the seconds waited.

        A request that waited for its turn looks again before it goes: a pause that came
        meanwhile (another request's 429, in any process) sends it to the back of the
        line, after the pause. Up to CONCURRENT_REQUESTS of a process wait here at once,
        so without this they would go out during the pause on turns taken before it."""
        cat, interval, waited = self.catalog(), self.interval(host, crawl_delay), 0.0
        while True:
            start = await asyncio.to_thread(reserve, cat, host, interval, clock=self.clock)
            delay = start - self.clock.now()
            if delay <= 0:
                return waited
            await asyncio.sleep(delay)
            waited += delay
            if await asyncio.to_thread(paused_until, cat, host) <= self.clock.now():
                return waited

    def pause(self, host: str, until: float) -> bool:
        """Every process holds back ``host``'s requests until ``until``."""
        return pause(self.catalog(), host, until)
