"""Prometheus metrics: every metric Likewatch exposes is defined here, in the core.

Each package counts what it does by importing this module (the core sits below every
package, so no import crosses a layer): ``metrics.CRAWL_PAGES.labels(platform=p).inc(n)``.
Names and meanings are documented in ``docs/observability.md``; the Grafana dashboard
``deploy/grafana/likewatch.json`` reads them.

Two kinds of metric:

- **counted** in the process that does the work (counters and histograms of
  ``prometheus_client``'s process registry): crawls and their pages, candidates found and
  matched, match latency, alert building, deliveries, role ticks. The roles of one daemon
  run as threads of one process and share these; a deployment of several processes has
  each expose its own (Prometheus sums them).
- **read from the catalog** at each scrape (:class:`CatalogCollector`): queue depths,
  pending candidates, index lag, platform and adapter health, alerts by tier, the roles'
  heartbeats. These are the same in every process that reads one catalog. Packages above
  the core add samples through the entry-point group ``likewatch.metrics``
  (``likewatch/plugins.py``): a function ``(catalog) -> [(name, labels, value)]`` whose
  names are declared in :data:`CATALOG_GAUGES` below.

Where they are served: ``/metrics`` of the web application (the daemon's api role,
``likewatch serve``) and, for a daemon without it, the port of setting ``metrics_port``
(``likewatch.metrics_http``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from likewatch import plugins

log = logging.getLogger(__name__)

Sample = tuple[str, dict[str, str], float]
Source = Callable[[Any], Iterable[Sample]]

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: Prometheus does not need them
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# --- counted where the work happens ----------------------------------------------------
BUILD = Info("likewatch_build", "The running Likewatch version.")
CRAWLS = Counter("likewatch_crawls", "Crawls run, by platform and outcome (ok, failed).",
                 ["platform", "outcome"])
CRAWL_PAGES = Counter("likewatch_crawl_pages",
                      "Pages the crawler parsed, from each finished crawl's summary.",
                      ["platform"])
CRAWL_ERRORS = Counter("likewatch_crawl_errors",
                       "Faults seen while crawling, by platform and kind (http_500, "
                       "media_too_large, parse_error, ...).", ["platform", "kind"])
CANDIDATES_FOUND = Counter("likewatch_candidates_found",
                           "New candidates (content items) a crawl stored.", ["platform"])
CANDIDATES_PROCESSED = Counter("likewatch_candidates_processed",
                               "Candidates hashed and matched, by outcome (matched: at least "
                               "one person; unmatched; failed: no media readable).",
                               ["outcome"])
MATCH_SECONDS = Histogram("likewatch_match_seconds",
                          "Seconds from taking a pending candidate to storing its matches "
                          "(hashing its thumbnail and keyframes, matching every bank).",
                          buckets=_LATENCY_BUCKETS)
ALERT_BUILDS = Counter("likewatch_alert_builds",
                       "Alert building from new matches, by outcome (created, updated, "
                       "escalated, suppressed, unchanged).", ["outcome"])
DELIVERY_ATTEMPTS = Counter("likewatch_delivery_attempts",
                            "Alert delivery attempts, by channel and outcome (sent, retry, "
                            "dead, lost-lease).", ["channel", "outcome"])
DELIVERY_FAILURES = Counter("likewatch_delivery_failures",
                            "Alert delivery attempts that failed, by channel.", ["channel"])
DELIVERY_SECONDS = Histogram("likewatch_delivery_seconds",
                             "Seconds one alert delivery attempt took, by channel.",
                             ["channel"], buckets=_LATENCY_BUCKETS)
INDEX_DOCUMENTS = Counter("likewatch_index_documents",
                          "Documents the indexer role sent to the candidate index, by kind "
                          "(indexed, reindexed, replayed).", ["kind"])
ROLE_TICKS = Counter("likewatch_role_ticks", "Ticks of the daemon's roles, by outcome (ok, "
                     "error).", ["role", "outcome"])
ROLE_TICK_SECONDS = Histogram("likewatch_role_tick_seconds",
                              "Seconds one tick of a daemon role took.", ["role"],
                              buckets=_LATENCY_BUCKETS)

# --- read from the catalog at each scrape (name -> help, label names) -------------------
CATALOG_GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "likewatch_catalog_up": ("1 when the catalog could be read for this scrape.", ()),
    "likewatch_queue_jobs": ("Jobs in the work queue, by queue (crawl, backsearch) and "
                             "state (ready, leased, done, dead).", ("queue", "state")),
    "likewatch_outbox_messages": ("Alert deliveries in the outbox, by state (pending, "
                                  "sent, dead).", ("state",)),
    "likewatch_candidates": ("Candidates in the catalog, by match status (pending, "
                             "matched, failed).", ("status",)),
    "likewatch_index_lag_candidates": ("Candidates the indexer role has not yet sent to the "
                                       "candidate index.", ()),
    "likewatch_alerts": ("Alerts in the catalog, by tier (alert, review) and status.",
                         ("tier", "status")),
    "likewatch_platform_healthy": ("1 while a platform's crawls succeed (fewer consecutive "
                                   "failures than setting crawl_unhealthy_after).",
                                   ("platform",)),
    "likewatch_platform_consecutive_failures": ("Consecutive failed crawls of a platform.",
                                                ("platform",)),
    "likewatch_platform_backoff_seconds": ("Seconds until a failing platform is crawled "
                                           "again.", ("platform",)),
    "likewatch_adapter_up": ("1 when a platform adapter's latest crawl looks healthy, 0 when "
                             "it is broken (parse rate collapsed) or blocked.", ("platform",)),
    "likewatch_adapter_parse_rate": ("Items parsed per page in an adapter's latest crawl.",
                                     ("platform",)),
    "likewatch_role_last_heartbeat_timestamp_seconds": ("When a daemon role last showed it "
                                                        "was alive (Unix seconds).", ("role",)),
    "likewatch_role_last_tick_timestamp_seconds": ("When a daemon role last finished a tick "
                                                   "(Unix seconds).", ("role",)),
    "likewatch_role_workers": ("Workers (processes) of a role that beat within the last "
                               "minute.", ("role",)),
    "likewatch_metrics_source_up": ("1 when a contributed metrics source answered this "
                                    "scrape.", ("source",)),
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("likewatch")
    except PackageNotFoundError:
        return "unknown"


BUILD.info({"version": _version()})


# --- helpers the packages call ----------------------------------------------------------
def count_crawl(summary: dict[str, Any] | None, *, platform: str, ok: bool) -> None:
    """Count one finished crawl from its summary (``crawler.run.crawl``'s dict). Crawls run
    in a subprocess; the parent counts what the summary says."""
    CRAWLS.labels(platform=platform, outcome="ok" if ok else "failed").inc()
    if not summary:
        return
    CRAWL_PAGES.labels(platform=platform).inc(int(summary.get("pages") or 0))
    CANDIDATES_FOUND.labels(platform=platform).inc(int(summary.get("items_new") or 0))
    for kind, n in (summary.get("errors") or {}).items():
        CRAWL_ERRORS.labels(platform=platform, kind=str(kind)).inc(int(n or 0))


def count_processed(matched: int, failed: int, candidates: int) -> None:
    """Count the candidates one matcher run took (``ProcessSummary`` fields)."""
    CANDIDATES_PROCESSED.labels(outcome="matched").inc(max(0, matched))
    CANDIDATES_PROCESSED.labels(outcome="failed").inc(max(0, failed))
    CANDIDATES_PROCESSED.labels(outcome="unmatched").inc(max(0, candidates - matched - failed))


def count_delivery(channel: str, outcome: str, ok: bool, seconds: float) -> None:
    """Count one delivery attempt: ``ok`` whether the channel took it, ``outcome`` what
    became of the unit (``sent``, ``retry``, ``dead`` or ``lost-lease``)."""
    DELIVERY_ATTEMPTS.labels(channel=channel, outcome=outcome).inc()
    if not ok:
        DELIVERY_FAILURES.labels(channel=channel).inc()
    DELIVERY_SECONDS.labels(channel=channel).observe(seconds)


# --- the catalog's side ----------------------------------------------------------------
def core_samples(cat: Any) -> Iterator[Sample]:
    """What the core reads from the catalog: queues, candidates, index lag, platform
    health, heartbeats."""
    from sqlalchemy import select

    from likewatch import settings
    from likewatch.catalog.queue import PlatformHealth
    from likewatch.work import heartbeat
    from likewatch.work.clock import SYSTEM
    from likewatch.work.depths import depths

    d = depths(cat)
    for qname, states in d["work"].items():
        for state, n in states.items():
            yield "likewatch_queue_jobs", {"queue": qname, "state": state}, n
    for state, n in d["outbox"].items():
        yield "likewatch_outbox_messages", {"state": state}, n
    for status, n in d["candidates"].items():
        yield "likewatch_candidates", {"status": status}, n
    yield "likewatch_index_lag_candidates", {}, d["index_lag"]
    limit = int(settings.get("crawl_unhealthy_after"))
    now = SYSTEM.now()
    with cat.session() as s:
        for h in s.scalars(select(PlatformHealth)):
            labels = {"platform": h.platform}
            yield "likewatch_platform_healthy", labels, float(h.failures < limit)
            yield "likewatch_platform_consecutive_failures", labels, float(h.failures)
            yield ("likewatch_platform_backoff_seconds", labels,
                   max(0.0, float(h.backoff_until) - now))
    for r in heartbeat.roles(cat):
        labels = {"role": r["role"]}
        yield "likewatch_role_last_heartbeat_timestamp_seconds", labels, r["last_beat_at"]
        if r["last_tick_at"] is not None:
            yield "likewatch_role_last_tick_timestamp_seconds", labels, r["last_tick_at"]
        yield "likewatch_role_workers", labels, r["workers"]


class CatalogCollector(Collector):
    """Gauges read from one catalog at each scrape (see the module docstring)."""

    def __init__(self, catalog: Any, sources: dict[str, Source] | None = None) -> None:
        self.catalog = catalog
        self.sources = sources if sources is not None else declared_sources()

    def collect(self) -> Iterator[Metric]:
        families = {name: GaugeMetricFamily(name, text, labels=list(labels))
                    for name, (text, labels) in CATALOG_GAUGES.items()}

        def add(samples: Iterable[Sample]) -> None:
            for name, labels, value in samples:
                family = families[name]  # a KeyError: an undeclared name (a bug)
                family.add_metric([labels[k] for k in CATALOG_GAUGES[name][1]], float(value))

        up = 1.0
        try:
            add(list(core_samples(self.catalog)))
        except Exception as exc:  # noqa: BLE001 - a scrape reports a dead catalog, not a 500
            log.warning("metrics: catalog unreadable: %s", exc)
            up = 0.0
        families["likewatch_catalog_up"].add_metric([], up)
        for name, source in sorted(self.sources.items()):
            try:
                add(list(source(self.catalog)))
                ok = 1.0
            except Exception as exc:  # noqa: BLE001 - one source failing spoils no other
                log.warning("metrics: source %s failed: %s", name, exc)
                ok = 0.0
            families["likewatch_metrics_source_up"].add_metric([name], ok)
        yield from families.values()


def declared_sources() -> dict[str, Source]:
    """The ``likewatch.metrics`` entry points (packages' catalog samples), by name."""
    out: dict[str, Source] = {}
    for ep in plugins.declared(plugins.METRICS):
        try:
            out[ep.name] = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the scrape
            log.warning("metrics: cannot load source %s: %s", ep.name, exc)
    return out


class _Process(Collector):
    """This process's counters (the default registry), inside another registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def registry_for(catalog: Any) -> CollectorRegistry:
    """A registry with this process's counters and the catalog's gauges: what a scrape gets."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Process())
    registry.register(CatalogCollector(catalog))
    return registry
