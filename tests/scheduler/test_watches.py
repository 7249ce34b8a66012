"""Watches become crawl jobs once per due slot; failing platforms back off and show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from alerts import registry
from likewatch.catalog import Catalog
from likewatch.catalog.queue import QueueJob
from likewatch.work.clock import ManualClock
from scheduler import jobs, watches
from scheduler.status import format_status, scheduler_status


def _watch(cat, url="http://127.0.0.1:9/browse", every=10.0):
    registry.add_client(cat, "acme")
    return watches.add_watch(cat, "acme", "sandbox", url, every=every)


def test_each_due_slot_is_enqueued_once_and_missed_slots_coalesce():
    cat = Catalog.open()
    clock = ManualClock()
    registry.add_client(cat, "acme")
    wid = watches.add_watch(cat, "acme", "sandbox", "http://127.0.0.1:9/browse", every=10.0,
                            clock=clock)
    t0 = clock.now()

    def due_at(offset):
        clock.t = t0 + offset
        return watches.schedule_due(cat, clock=clock)

    assert due_at(0) == [f"crawl:{wid}:{int(t0 * 1000)}"]
    assert due_at(1) == []  # not due again yet
    assert due_at(10) == [f"crawl:{wid}:{int((t0 + 10) * 1000)}"]
    # Down for a minute: the five missed slots become one run, the next one 10 s later.
    assert due_at(75) == [f"crawl:{wid}:{int((t0 + 20) * 1000)}"]
    assert due_at(80) == []
    assert due_at(85) == [f"crawl:{wid}:{int((t0 + 85) * 1000)}"]
    with cat.session() as s:
        assert len(s.scalars(select(QueueJob)).all()) == 4


def test_failing_platform_backs_off_and_shows_unhealthy(monkeypatch):
    monkeypatch.setenv("LIKEWATCH_CRAWL_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("LIKEWATCH_QUEUE_MAX_ATTEMPTS", "1")
    cat = Catalog.open()
    # Loopback is not allow-listed here, so the crawl is refused: a failure like any other.
    _watch(cat, every=0.01)
    for _ in range(3):
        out = jobs.crawl_due(cat)
        assert out["scheduled"] == 1 and out["dead"] == 1
        import time
        time.sleep(0.05)
    [h] = watches.health(cat)
    assert not h["healthy"] and h["consecutive_failures"] == 3
    assert "allow_private_hosts" in h["last_error"]
    text = "\n".join(format_status(scheduler_status(cat)))
    assert "platform sandbox: UNHEALTHY (3 consecutive failures" in text
    assert "queue crawl: dead=3" in text
    # While backing off, the watch is not scheduled.
    monkeypatch.setenv("LIKEWATCH_CRAWL_BACKOFF_BASE", "60")
    watches.record_result(cat, 1, "sandbox", ok=False, error="x")
    assert jobs.crawl_due(cat) == {"scheduled": 0}
    watches.record_result(cat, 1, "sandbox", ok=True, summary={})
    assert watches.health(cat)[0]["healthy"]


def test_cli_client_person_watch_subscribe_status(monkeypatch):
    # the receiver below is on loopback: subscribing to it needs the allow-list
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")

    def lw(*args):
        return subprocess.run([str(Path(sys.executable).parent / "likewatch"), *args],
                              capture_output=True, text=True, timeout=60)

    assert lw("client", "add", "Star Agency", "--kind", "agency").returncode == 0
    r = lw("person", "add", "--client", "Star Agency", "--person", "p1", "--name", "王小明",
           "--alias", "小明", "--official", "sandbox:u42")
    assert r.returncode == 0, r.stderr
    r = lw("watch", "add", "--client", "Star Agency", "--platform", "sandbox",
           "--url", "http://127.0.0.1:8700/browse?page=1", "--every", "30")
    assert r.returncode == 0 and "every 30 s" in r.stdout
    r = lw("subscribe", "--client", "Star Agency", "--webhook", "http://127.0.0.1:9/h",
           "--secret", "s", "--digest-minutes", "5")
    assert r.returncode == 0 and "every person" in r.stdout
    r = lw("subscribe", "--client", "Star Agency", "--webhook", "http://127.0.0.1:9/h")
    assert r.returncode == 2 and "secret" in r.stderr
    r = lw("subscribe", "--client", "Nobody", "--slack", "http://127.0.0.1:9/h")
    assert r.returncode == 2 and "no client" in r.stderr
    r = lw("status")
    assert r.returncode == 0 and "watch 1: sandbox listing" in r.stdout
    r = lw("alerts", "--json")
    assert r.returncode == 0 and r.stdout == ""
    assert lw("run", "--roles", "crawler,bogus").returncode == 2
