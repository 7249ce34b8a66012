"""Prometheus metrics: counters counted where the work happens, gauges read from the catalog
at each scrape, the scrape rule (loopback or token), the metrics port."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from crawler.health import record_sample
from likewatch import metrics, metrics_http
from likewatch.catalog import Catalog
from likewatch.catalog.base import make_engine
from likewatch.catalog.models import Candidate
from likewatch.catalog.queue import PlatformHealth
from likewatch.work import cursor, heartbeat, queue
from likewatch.work.db import write_session


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _scrape(registry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client import generate_latest

    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_crawl_match_and_delivery_helpers_count():
    before = (_value("likewatch_crawl_pages_total", platform="t-plat"),
              _value("likewatch_candidates_found_total", platform="t-plat"),
              _value("likewatch_crawl_errors_total", platform="t-plat", kind="http_500"),
              _value("likewatch_crawls_total", platform="t-plat", outcome="failed"))
    metrics.count_crawl({"pages": 25, "items_new": 24, "errors": {"http_500": 2}},
                        platform="t-plat", ok=True)
    metrics.count_crawl(None, platform="t-plat", ok=False)
    after = (_value("likewatch_crawl_pages_total", platform="t-plat"),
             _value("likewatch_candidates_found_total", platform="t-plat"),
             _value("likewatch_crawl_errors_total", platform="t-plat", kind="http_500"),
             _value("likewatch_crawls_total", platform="t-plat", outcome="failed"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [25, 24, 2, 1]

    unmatched = _value("likewatch_candidates_processed_total", outcome="unmatched")
    metrics.count_processed(matched=3, failed=1, candidates=10)
    assert _value("likewatch_candidates_processed_total", outcome="unmatched") - unmatched == 6

    fails = _value("likewatch_delivery_failures_total", channel="t-chan")
    metrics.count_delivery("t-chan", "retry", False, 0.2)
    metrics.count_delivery("t-chan", "sent", True, 0.1)
    assert _value("likewatch_delivery_failures_total", channel="t-chan") - fails == 1
    assert _value("likewatch_delivery_attempts_total", channel="t-chan", outcome="sent") >= 1
    assert _value("likewatch_delivery_seconds_count", channel="t-chan") >= 2


def test_a_scrape_reads_queues_candidates_index_lag_health_and_heartbeats():
    cat = Catalog.open()
    with write_session(cat) as s:
        for i in range(3):
            queue.enqueue(s, "crawl", f"crawl:{i}", {})
        for i, status in enumerate(["pending", "pending", "matched", "failed", "matched"]):
            s.add(Candidate(platform="sandbox", item_id=f"v{i}", url=f"http://x/{i}",
                            match_status=status))
        s.add(PlatformHealth(platform="sandbox", failures=4, backoff_until=0.0, last_error="x"))
    job = queue.claim(cat, "crawl", "w1")
    assert job is not None
    cursor.advance(cat, "index.candidates", 2)  # the indexer sent the first two
    heartbeat.beat(cat, "crawler", "crawler@test")
    for _ in range(6):  # a healthy adapter, then a crawl that parsed nothing: broken
        record_sample(cat, "sandbox", pages=10, items=10)
    record_sample(cat, "sandbox", pages=10, items=0)
    got = _scrape(metrics.registry_for(cat))
    assert got[("likewatch_catalog_up", ())] == 1
    assert got[("likewatch_queue_jobs", (("queue", "crawl"), ("state", "ready")))] == 2
    assert got[("likewatch_queue_jobs", (("queue", "crawl"), ("state", "leased")))] == 1
    assert got[("likewatch_candidates", (("status", "pending"),))] == 2
    assert got[("likewatch_candidates", (("status", "matched"),))] == 2
    assert got[("likewatch_index_lag_candidates", ())] == 3
    assert got[("likewatch_platform_consecutive_failures", (("platform", "sandbox"),))] == 4
    assert got[("likewatch_platform_healthy", (("platform", "sandbox"),))] == 0
    assert got[("likewatch_role_workers", (("role", "crawler"),))] == 1
    assert got[("likewatch_role_last_heartbeat_timestamp_seconds", (("role", "crawler"),))] > 0
    # contributed by the packages (entry points likewatch.metrics): adapter health
    assert got[("likewatch_metrics_source_up", (("source", "adapters"),))] == 1
    assert got[("likewatch_adapter_up", (("platform", "sandbox"),))] == 0
    assert got[("likewatch_adapter_parse_rate", (("platform", "sandbox"),))] == 0.0
    # ... and the process's own counters in the same answer
    assert ("likewatch_build_info", (("version", metrics._version()),)) in got


def test_a_failing_source_or_catalog_is_reported_not_raised(tmp_path: Path):
    cat = Catalog.open()

    def broken(_cat):
        raise RuntimeError("boom")

    collector = metrics.CatalogCollector(cat, {"broken": broken,
                                               "fine": lambda c: [("likewatch_index_lag_candidates",
                                                                   {}, 0)]})
    families = {f.name: f for f in collector.collect()}
    assert [(s.labels, s.value) for s in families["likewatch_metrics_source_up"].samples] == [
        ({"source": "broken"}, 0.0), ({"source": "fine"}, 1.0)]
    dead = Catalog(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"), tmp_path)
    families = {f.name: f for f in metrics.CatalogCollector(dead, {}).collect()}
    assert families["likewatch_catalog_up"].samples[0].value == 0.0


def test_the_declared_sources_are_the_installed_ones():
    import tomllib

    root = Path(__file__).resolve().parents[2]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "entry-points"]["likewatch.metrics"]
    assert set(metrics.declared_sources()) == set(declared)  # else: make venv


@pytest.mark.parametrize("host, auth, token, allowed", [
    ("127.0.0.1", None, "", True),
    ("127.8.9.1", None, "", True),
    ("::1", None, "", True),
    ("::ffff:127.0.0.1", None, "", True),
    ("10.1.2.3", None, "", False),
    ("10.1.2.3", "Bearer s3cret", "", False),  # no token set: loopback only
    ("10.1.2.3", "Bearer s3cret", "s3cret", True),
    ("10.1.2.3", "Bearer wrong", "s3cret", False),
    ("10.1.2.3", "s3cret", "s3cret", False),
    ("testclient", None, "", False),
    (None, None, "", False),
])
def test_who_may_scrape(monkeypatch, host, auth, token, allowed):
    monkeypatch.setenv("LIKEWATCH_METRICS_TOKEN", token)
    assert metrics_http.scrape_allowed(host, auth) is allowed


def test_the_wsgi_endpoint_refuses_other_hosts_and_paths(monkeypatch):
    app = metrics_http.wsgi_endpoint(metrics.registry_for(Catalog.open()))
    seen = []

    def call(path, addr, auth=None):
        environ = {"PATH_INFO": path, "REMOTE_ADDR": addr, "REQUEST_METHOD": "GET",
                   "QUERY_STRING": ""}
        if auth:
            environ["HTTP_AUTHORIZATION"] = auth
        body = b"".join(app(environ, lambda status, headers: seen.append(status)))
        return seen[-1], body

    status, body = call("/metrics", "192.0.2.7")
    assert status.startswith("403") and b"metrics_token" in body
    monkeypatch.setenv("LIKEWATCH_METRICS_TOKEN", "t0k")
    status, body = call("/metrics", "192.0.2.7", "Bearer t0k")
    assert status.startswith("200") and b"likewatch_catalog_up 1.0" in body
    assert call("/elsewhere", "127.0.0.1")[0].startswith("404")


def test_the_metrics_port_serves_over_http():
    server = metrics_http.MetricsServer(metrics.registry_for(Catalog.open()), "127.0.0.1", 0)
    server.start()
    try:
        with urllib.request.urlopen(server.url, timeout=10) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain")
            text = r.read().decode()
        assert "# TYPE likewatch_crawl_pages_total counter" in text
        assert "likewatch_catalog_up 1.0" in text
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/nope", timeout=10)
        assert err.value.code == 404
        err.value.close()
    finally:
        server.stop()


def test_the_grafana_dashboard_reads_only_metrics_that_exist():
    import json
    import re

    from prometheus_client import Counter, Histogram

    root = Path(__file__).resolve().parents[2]
    dash = json.loads((root / "deploy" / "grafana" / "likewatch.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    used = {n for e in exprs for n in re.findall(r"\blikewatch_[a-z_]+", e)}
    exposed = set(metrics.CATALOG_GAUGES) | {"likewatch_build_info"}
    for obj in vars(metrics).values():
        if isinstance(obj, Counter):
            exposed.add(obj._name + "_total")
        elif isinstance(obj, Histogram):
            exposed |= {obj._name + suffix for suffix in ("_bucket", "_count", "_sum")}
    assert used and used <= exposed, used - exposed
    # every metric Likewatch defines is on the dashboard somewhere
    shown = {re.sub(r"_(bucket|count|sum)$", "", n) for n in used}
    defined = {re.sub(r"_(bucket|count|sum)$", "", n) for n in exposed}
    assert defined - shown <= {"likewatch_build_info"}, defined - shown
