"""The durable work queue: idempotent enqueue, leases, fencing, retries, dead letters."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.queue import QueueJob
from likewatch.work import queue
from likewatch.work.db import write_session


def _enqueue(cat, n, q="work"):
    with write_session(cat) as s:
        for i in range(n):
            queue.enqueue(s, q, f"{q}:{i}", {"i": i})


def test_enqueue_is_idempotent_and_claim_leases_oldest_first():
    cat = Catalog.open()
    _enqueue(cat, 3)
    _enqueue(cat, 3)
    with cat.session() as s:
        assert len(s.scalars(select(QueueJob)).all()) == 3
    job = queue.claim(cat, "work", "w1", lease_seconds=30)
    assert job is not None and job.payload == {"i": 0} and job.attempts == 1
    assert queue.claim(cat, "other", "w1") is None
    assert queue.complete(cat, job, {"ok": True})
    with cat.session() as s:
        row = s.get(QueueJob, job.id)
        assert row.state == "done" and row.result == {"ok": True}


def test_expired_lease_is_retried_and_stale_owner_is_fenced_off():
    cat = Catalog.open()
    _enqueue(cat, 1)
    first = queue.claim(cat, "work", "dead-worker", lease_seconds=0.2)
    assert first is not None
    assert queue.claim(cat, "work", "w2", lease_seconds=30) is None  # still leased
    time.sleep(0.3)
    second = queue.claim(cat, "work", "w2", lease_seconds=30)
    assert second is not None and second.id == first.id and second.attempts == 2
    # The old owner wakes up: it can neither complete nor fail the job any more.
    assert not queue.complete(cat, first)
    assert queue.fail(cat, first, "late") == "lost-lease"
    assert queue.complete(cat, second)


def test_failure_backs_off_then_dead_letter():
    cat = Catalog.open()
    with write_session(cat) as s:
        queue.enqueue(s, "work", "k", {}, max_attempts=2)
    job = queue.claim(cat, "work", "w")
    assert queue.fail(cat, job, "boom", delay=0.2) == "ready"
    assert queue.claim(cat, "work", "w") is None  # backing off
    time.sleep(0.25)
    job = queue.claim(cat, "work", "w")
    assert job is not None and job.attempts == 2
    assert queue.fail(cat, job, "boom again") == "dead"
    with cat.session() as s:
        row = s.scalars(select(QueueJob)).one()
        assert row.state == "dead" and row.last_error == "boom again"
    assert queue.counts(cat) == {"work": {"dead": 1}}


def test_heartbeat_keeps_a_long_job_leased():
    cat = Catalog.open()
    _enqueue(cat, 1)
    job = queue.claim(cat, "work", "w", lease_seconds=0.6)
    with queue.heartbeat(cat, job, lease_seconds=0.6):
        time.sleep(1.5)
        assert queue.claim(cat, "work", "thief", lease_seconds=5) is None
    assert queue.complete(cat, job)


def _claim_all(home: str, out: mp.Queue) -> None:
    os.environ["LIKEWATCH_HOME"] = home
    cat = Catalog.open()
    got = []
    while True:
        job = queue.claim(cat, "work", f"p{os.getpid()}", lease_seconds=60)
        if job is None:
            break
        got.append(job.payload["i"])
        queue.complete(cat, job)
    out.put(got)


def test_concurrent_workers_never_claim_the_same_job(likewatch_home):
    cat = Catalog.open()
    _enqueue(cat, 120)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(str(likewatch_home), out)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [out.get(timeout=240) for _ in procs]  # spawned on a loaded machine: slow
    for p in procs:
        p.join(timeout=30)
    claimed = [i for r in results for i in r]
    assert sorted(claimed) == list(range(120))


WORKER = """
import sys, time
from likewatch.catalog import Catalog
from likewatch.work import queue
cat = Catalog.open()
job = queue.claim(cat, "work", "doomed", lease_seconds=0.5)
print(job.key, flush=True)
time.sleep(60)
"""


def test_kill_9_of_a_worker_loses_nothing(likewatch_home):
    cat = Catalog.open()
    _enqueue(cat, 1)
    proc = subprocess.Popen([sys.executable, "-c", WORKER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "work:0"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    time.sleep(0.6)
    job = queue.claim(cat, "work", "survivor")
    assert job is not None and job.key == "work:0" and job.attempts == 2
    assert queue.complete(cat, job)


def test_prune_drops_old_done_jobs_only():
    cat = Catalog.open()
    _enqueue(cat, 3)
    done = queue.claim(cat, "work", "w")
    queue.complete(cat, done)
    dead = queue.claim(cat, "work", "w")
    queue.fail(cat, dead, "x", retry=False)
    assert queue.prune(cat, older_than=3600) == 0
    assert queue.prune(cat, older_than=0) == 1
    assert queue.counts(cat) == {"work": {"dead": 1, "ready": 1}}
