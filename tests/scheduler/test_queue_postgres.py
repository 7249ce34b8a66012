"""The queues on PostgreSQL: a real server (Debian's postgresql, started for this module),
FOR UPDATE SKIP LOCKED claims from concurrent processes, leases, the outbox and alerts."""

from __future__ import annotations

import multiprocessing as mp
import os
import time

from alerts import outbox, registry
from alerts.build import sync_alerts
from likewatch.catalog import Catalog
from likewatch.work import queue
from likewatch.work.db import write_session
from tests.alerts.helpers import candidate, match, world


def test_enqueue_claim_lease_fence_on_postgres(pg_url):
    cat = Catalog.open()
    assert cat.engine.dialect.name == "postgresql"
    with write_session(cat) as s:
        assert queue.enqueue(s, "w", "k1", {"a": 1})
        assert not queue.enqueue(s, "w", "k1", {"a": 2})
    job = queue.claim(cat, "w", "dies", lease_seconds=0.3)
    assert job.payload == {"a": 1} and queue.claim(cat, "w", "other") is None
    time.sleep(0.4)
    again = queue.claim(cat, "w", "other")
    assert again.id == job.id and again.attempts == 2
    assert not queue.complete(cat, job) and queue.complete(cat, again)
    cat.close()


def _claimer(url: str, home: str, out) -> None:
    os.environ["LIKEWATCH_CATALOG_URL"] = url
    os.environ["LIKEWATCH_HOME"] = home
    cat = Catalog.open()
    got = []
    while (job := queue.claim(cat, "w", f"p{os.getpid()}")) is not None:
        got.append(job.payload["i"])
        time.sleep(0.002)  # hold the lease a moment: the others must skip, not wait
        queue.complete(cat, job)
    cat.close()
    out.put(got)


def test_skip_locked_claims_never_overlap(pg_url, likewatch_home):
    cat = Catalog.open()
    with write_session(cat) as s:
        for i in range(150):
            queue.enqueue(s, "w", f"k{i}", {"i": i})
    cat.close()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(pg_url, str(likewatch_home), out))
             for _ in range(3)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert sorted(i for r in results for i in r) == list(range(150))


def test_alerts_and_outbox_on_postgres(pg_url):
    cat = Catalog.open()
    ids = world(cat)
    registry.add_subscription(cat, "acme", "webhook", "http://127.0.0.1:9/x", secret="s")
    c1 = candidate(cat, "v1")
    match(cat, c1, ids["alice"], "face", 0.4)
    match(cat, c1, ids["alice"], "pdq", 20, 70)
    assert sync_alerts(cat) == {"created": 1}
    assert sync_alerts(cat) == {}
    unit = outbox.claim(cat, "me", lease_seconds=30)
    assert unit is not None and outbox.claim(cat, "you") is None
    cat.close()
