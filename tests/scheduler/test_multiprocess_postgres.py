"""Several processes of one role on PostgreSQL (a real server): what each shares is done
once, by one of them. Processes are spawned (``multiprocessing``), each with its own
catalog connection, as role processes on several hosts would be."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from alerts import registry
from alerts.build import sync_alerts
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, OutboxMessage
from likewatch.work import budget, turn
from tests.alerts.helpers import candidate, match, world


def _in_process(url: str, home: str, task: str, out: Any) -> None:
    os.environ["LIKEWATCH_CATALOG_URL"] = url
    os.environ["LIKEWATCH_HOME"] = home
    try:
        with Catalog.open() as cat:
            if task == "budget":
                out.put([budget.reserve(cat, "h:80", 0.05) for _ in range(15)])
            elif task == "turn":
                held = []
                deadline = time.monotonic() + 20
                while len(held) < 3 and time.monotonic() < deadline:
                    with turn.turn(cat, "index.sync", f"p{os.getpid()}", 5.0) as mine:
                        if mine:
                            start = time.time()
                            time.sleep(0.2)
                            held.append((start, time.time()))
                    time.sleep(0.01)
                out.put(held)
            else:  # alerts: build them again and again while the other process does too
                created = 0
                for _ in range(30):
                    created += sync_alerts(cat).get("created", 0)
                out.put(created)
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out.put(f"error: {exc!r}")


def _run(url: str, home: Path, task: str, n: int) -> list[Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_in_process, args=(url, str(home), task, out)) for _ in range(n)]
    for p in procs:
        p.start()
    results = [out.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [r for r in results if isinstance(r, str)]
    assert errors == []
    return results


def test_budget_turns_are_shared_by_processes(pg_url: str, likewatch_home: Path) -> None:
    Catalog.open().close()  # tables first
    starts = sorted(s for r in _run(pg_url, likewatch_home, "budget", 3) for s in r)
    assert len(starts) == 45
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.05 - 1e-6


def test_one_process_at_a_time_holds_a_turn(pg_url: str, likewatch_home: Path) -> None:
    Catalog.open().close()
    held = sorted(h for r in _run(pg_url, likewatch_home, "turn", 3) for h in r)
    assert len(held) == 9  # each process had its three turns
    for (_, end), (start, _) in zip(held, held[1:]):
        assert start >= end, "two processes held the turn at once"


@pytest.mark.parametrize("pairs", [40])
def test_two_processes_building_alerts_take_turns(pg_url: str, likewatch_home: Path,
                                                  pairs: int) -> None:
    """Without the cursor's row lock both would read the same matches and one would fail
    on the alerts' unique key (or, with the outbox, send twice)."""
    with Catalog.open() as cat:
        ids = world(cat, persons=("alice", "bob"))
        registry.add_subscription(cat, "acme", "webhook", "http://127.0.0.1:9/x", secret="s")
        for i in range(pairs // 2):
            c = candidate(cat, f"v{i}")
            match(cat, c, ids["alice"])
            match(cat, c, ids["bob"], "pdq", 20, 70)
    created = _run(pg_url, likewatch_home, "alerts", 2)
    with Catalog.open() as cat, cat.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == pairs
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == pairs
    assert sum(created) == pairs
