"""The queues on PostgreSQL: a real server (Debian's postgresql, started for this module),
FOR UPDATE SKIP LOCKED claims from concurrent processes, leases, the outbox and alerts."""

from __future__ import annotations

import glob
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from alerts import outbox, registry
from alerts.build import sync_alerts
from likewatch.catalog import Catalog
from scheduler import queue
from scheduler.db import write_session
from tests.alerts.helpers import candidate, match, world


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_server():
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.fail("PostgreSQL is not installed (deploy/apt-packages.txt lists postgresql)")
    bindir = os.path.dirname(bins[-1])
    # Not under pytest's tmp root: that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="likewatch-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*as_pg, f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([*as_pg, f"{bindir}/pg_ctl", "-D", str(data), "-l", str(root / "log"), "-w",
                    "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start"], check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_pg, f"{bindir}/pg_ctl", "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server, monkeypatch):
    name = "lw_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_server.replace("+psycopg", "") + "/postgres", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    url = f"{pg_server}/{name}"
    monkeypatch.setenv("LIKEWATCH_CATALOG_URL", url)
    return url


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
