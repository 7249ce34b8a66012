"""`/api/health` (catalog, index, queues, roles) and `/metrics` of the web application."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from likewatch.catalog import Catalog
from likewatch.catalog.base import make_engine
from likewatch.work import heartbeat, queue
from likewatch.work.db import write_session
from matchers.index import open_index
from webapp.app import create_app


@pytest.fixture
def app() -> Iterator[tuple[Any, Catalog]]:
    cat = Catalog.open()
    index = open_index("embedded")
    try:
        yield create_app(cat, index, allowed_hosts=["testserver", "127.0.0.1"]), cat
    finally:
        index.close()
        cat.close()


def test_health_reports_catalog_index_queues_and_roles(app) -> None:
    asgi, cat = app
    with write_session(cat) as s:
        queue.enqueue(s, "crawl", "crawl:1:0", {})
    heartbeat.beat(cat, "crawler", "crawler@here")
    heartbeat.tick(cat, "crawler", "crawler@here", 1.5, True)
    body = TestClient(asgi).get("/api/health").json()  # no credentials needed
    assert body["ok"] is True and body["status"] == "ok"
    assert body["catalog"] == {"ok": True, "backend": "sqlite", "error": None}
    assert body["index"]["ok"] is True and body["index"]["backend"] == "embedded"
    assert body["index"]["documents"] == 0
    assert body["queues"]["work"] == {"crawl": {"ready": 1}}
    assert body["queues"]["candidates_pending"] == 0 and body["queues"]["index_lag"] == 0
    (role,) = body["roles"]
    assert role["role"] == "crawler" and role["workers"] == 1
    assert role["last_tick_ok"] is True and role["last_tick_s"] == 1.5
    assert role["beat_age_s"] < 60


def test_health_is_503_when_the_catalog_is_down(tmp_path: Path) -> None:
    dead = Catalog(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"), tmp_path)
    index = open_index("embedded")
    try:
        asgi = create_app(dead, index, allowed_hosts=["testserver"])
        r = TestClient(asgi).get("/api/health")
    finally:
        index.close()
    assert r.status_code == 503
    body = r.json()
    assert body["ok"] is False and body["status"] == "down"
    assert body["catalog"]["ok"] is False and body["catalog"]["error"]
    assert body["index"]["ok"] is True  # the answer still says what works


def test_metrics_from_loopback_or_with_the_token_only(app, monkeypatch) -> None:
    asgi, cat = app
    heartbeat.beat(cat, "matcher", "matcher@here")
    remote = TestClient(asgi, client=("198.51.100.7", 40000))
    r = remote.get("/metrics")
    assert r.status_code == 403 and "metrics_token" in r.text
    assert "likewatch_" not in r.text
    local = TestClient(asgi, client=("127.0.0.1", 40000))
    r = local.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'likewatch_role_workers{role="matcher"} 1.0' in r.text
    assert "# TYPE likewatch_delivery_attempts_total counter" in r.text
    assert r.headers["x-frame-options"] == "DENY"  # still inside the desk's headers
    assert local.post("/metrics").status_code == 405
    assert local.get("/metrics", headers={"Host": "evil.example"}).status_code == 400
    monkeypatch.setenv("LIKEWATCH_METRICS_TOKEN", "scrape-me")
    assert remote.get("/metrics", headers={"Authorization": "Bearer scrape-me"}
                      ).status_code == 200
    assert remote.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403
    # a desk API token is no metrics token, and /metrics is no desk page
    assert remote.get("/metrics", headers={"Authorization": "Bearer lwt_x"}).status_code == 403
    paths = asgi.api.openapi()["paths"]
    assert "/api/health" in paths and "/metrics" not in paths
