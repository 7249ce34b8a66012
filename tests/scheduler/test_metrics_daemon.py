"""`curl /metrics` on a running daemon: `likewatch run` as a process of its own (roles
crawler, matcher, alerter, indexer; no api role, so /metrics is on --metrics-port), a watch
on the sandbox, a person enrolled, one webhook that takes alerts and one that is down. The
scrape shows pages crawled, candidates, match latency, alerts by tier, delivery attempts
and failures, queue depths, index lag, adapter health and the roles' heartbeats. (The api
role's /metrics and /api/health: tests/scheduler/test_api_role.py.)"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerts import registry
from alerts.receiver import WebhookReceiver
from likewatch.catalog import Catalog
from matchers.enroll import enroll
from scheduler.watches import add_watch

LIKEWATCH = str(Path(sys.executable).parent / "likewatch")
ROLES = ("crawler", "matcher", "alerter", "indexer")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(url: str) -> Samples | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _get(m: Samples, name: str, **labels: str) -> float | None:
    return m.get((name, tuple(sorted(labels.items()))))


def _total(m: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over the samples carrying ``labels`` (any other labels)."""
    want = set(labels.items())
    return sum(v for (n, ls), v in m.items() if n == name and want <= set(ls))


def _complete(m: Samples) -> bool:
    """Everything the scrape must show once the watch was crawled, matched, alerted,
    delivered (and failed once) and indexed."""
    return bool(
        _total(m, "likewatch_crawl_pages_total", platform="sandbox") >= 25
        and _total(m, "likewatch_candidates_found_total", platform="sandbox") == 24
        and _total(m, "likewatch_candidates_processed_total") >= 24
        and (_get(m, "likewatch_match_seconds_count") or 0) >= 24
        and _total(m, "likewatch_alerts", tier="alert") >= 1
        and _total(m, "likewatch_delivery_attempts_total", channel="webhook", outcome="sent") >= 1
        and _total(m, "likewatch_delivery_failures_total", channel="webhook") >= 1
        and _get(m, "likewatch_queue_jobs", queue="crawl", state="done") == 1
        and _get(m, "likewatch_index_lag_candidates") == 0
        and _total(m, "likewatch_index_documents_total", kind="indexed") == 24
        and all(_get(m, "likewatch_role_last_tick_timestamp_seconds", role=r) for r in ROLES))


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~1 min alone; a crawl, 24 candidates matched and indexed on 2 busy cores
def test_curl_metrics_on_a_running_daemon(sandbox_server, sandbox_data, likewatch_home,
                                          monkeypatch, tmp_path):
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    truth = json.loads((sandbox_data / "ground_truth.json").read_text(encoding="utf-8"))
    dead_port = _free_port()  # nothing listens there: every delivery to it fails
    with Catalog.open() as cat, WebhookReceiver("k") as rx:
        registry.add_client(cat, "Studio")
        registry.add_person(cat, "Studio", "demo-a", name="Demo person A")
        enroll(cat, "demo-a", [Path(p) for p in truth["persons"]["demo-a"]["reference_files"]],
               client="Studio")
        registry.add_subscription(cat, "Studio", "webhook", rx.url, person="demo-a", secret="k")
        registry.add_subscription(cat, "Studio", "webhook",
                                  f"http://127.0.0.1:{dead_port}/hook", person="demo-a",
                                  secret="k")
        add_watch(cat, "Studio", "sandbox", f"{sandbox_server.base_url}/browse?page=1",
                  every=3600, max_pages=1)

        port = _free_port()
        log = (tmp_path / "daemon.log").open("w")
        proc = subprocess.Popen(
            [LIKEWATCH, "run", "--roles", ",".join(ROLES), "--tick", "0.5",
             "--metrics-port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        url = f"http://127.0.0.1:{port}/metrics"
        last: Samples | None = None
        try:
            deadline = time.monotonic() + 720
            while time.monotonic() < deadline and proc.poll() is None:
                last = _scrape(url) or last
                if last and _complete(last):
                    break
                time.sleep(1.0)
            assert last is not None, "no /metrics answer; log:\n" + _tail(tmp_path)
            assert _complete(last), (
                {k: v for k, v in last.items() if "bucket" not in k[0]}, _tail(tmp_path))
            assert len(rx.received) >= 1  # the alert really went out
        finally:
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=120)
            log.close()
    assert rc == 0, _tail(tmp_path)
    m = last
    assert _get(m, "likewatch_adapter_up", platform="sandbox") == 1
    assert _get(m, "likewatch_platform_healthy", platform="sandbox") == 1
    assert _get(m, "likewatch_catalog_up") == 1
    assert _total(m, "likewatch_outbox_messages") >= 2
    assert _get(m, "likewatch_candidates", status="pending") is None  # all matched
    assert all(_get(m, "likewatch_role_workers", role=r) == 1 for r in ROLES)
    assert _total(m, "likewatch_role_ticks_total", role="matcher", outcome="ok") >= 1
    assert _total(m, "likewatch_crawls_total", platform="sandbox", outcome="ok") == 1


def _tail(tmp_path: Path) -> str:
    path = tmp_path / "daemon.log"
    return "\n".join(path.read_text(errors="replace").splitlines()[-40:]) if path.exists() else ""

