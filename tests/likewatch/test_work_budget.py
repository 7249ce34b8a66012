"""Hosts' politeness budgets in the catalog (likewatch/work/budget.py): spacing and pauses
that hold for every process together."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
from pathlib import Path

import pytest

from likewatch.catalog import Catalog
from likewatch.catalog.queue import HostBudget
from likewatch.work import budget
from likewatch.work.clock import ManualClock


def test_reservations_are_spaced_and_pauses_hold() -> None:
    clock = ManualClock()
    t0 = clock.t
    with Catalog.open() as cat:
        starts = [budget.reserve(cat, "h:80", 0.5, clock=clock) for _ in range(4)]
        assert starts == [t0, t0 + 0.5, t0 + 1.0, t0 + 1.5]  # booked ahead, one apart
        assert budget.reserve(cat, "other:80", 0.5, clock=clock) == t0  # per host
        clock.advance(10)
        assert budget.reserve(cat, "h:80", 0.5, clock=clock) == t0 + 10  # no burst saved up
        assert budget.pause(cat, "h:80", t0 + 30)
        assert not budget.pause(cat, "h:80", t0 + 20)  # paused longer already
        assert budget.paused_until(cat, "h:80") == t0 + 30
        assert budget.reserve(cat, "h:80", 0.5, clock=clock) == t0 + 30
        # Without spacing a request only reads the row: it waits for a pause, nothing else.
        assert budget.reserve(cat, "h:80", 0.0, clock=clock) == t0 + 30
        assert budget.reserve(cat, "new:80", 0.0, clock=clock) == t0 + 10
        assert budget.paused_until(cat, "new:80") == 0.0


def test_interval_is_the_rate_or_the_crawl_delay_whichever_is_longer() -> None:
    pacing = budget.SharedPacing(rate=4.0, host_rates=budget.parse_rates(
        ["slow.example=0.5", "api.example:8443=10", "Free.example=0"]))
    assert pacing.interval("www.example:443") == 0.25
    assert pacing.interval("www.example:443", crawl_delay=1.5) == 1.5
    assert pacing.interval("slow.example:443") == 2.0  # the host's own rate, any port
    assert pacing.interval("api.example:8443") == 0.1
    assert pacing.interval("free.example:80") == 0.0
    assert budget.SharedPacing().interval("x:80", 0.3) == 0.3
    for bad in (["nohost"], ["=2"], ["h=fast"], ["h=-1"]):
        with pytest.raises(ValueError, match="HOST=REQUESTS_PER_SECOND"):
            budget.parse_rates(bad)


def test_a_waiting_request_goes_after_a_pause_that_came_meanwhile() -> None:
    """Requests waiting for their turn when another one's 429 pauses the host are sent to
    the back of the line: none goes out during the pause."""
    with Catalog.open() as cat:
        pacing = budget.SharedPacing(rate=2.0, catalog=lambda: cat)
        sent: list[float] = []

        async def request() -> None:
            await pacing.wait("h:80")
            sent.append(pacing.clock.now())

        def booked_until() -> float:
            with cat.session() as s:
                row = s.get(HostBudget, "h:80")
                return row.next_start if row is not None else 0.0

        async def main() -> None:
            tasks = [asyncio.create_task(request()) for _ in range(5)]
            deadline = pacing.clock.now() + 60
            # Until all five have their turns (0, 0.5 ... 2 s: booked to 2.5 s after the
            # first's; the first went out a moment after its turn).
            while not sent or booked_until() < sent[0] + 5 * 0.5 - 0.3:
                assert pacing.clock.now() < deadline, "the five requests were never booked"
                await asyncio.sleep(0.01)
            paused_at = pacing.clock.now()
            pacing.pause("h:80", paused_at + 1.5)
            await asyncio.gather(*tasks)
            # The first, and perhaps one whose look was on its way when the pause came; the
            # others after it (without the second look, those at 0.5 and 1 s went during it).
            early = [t for t in sent if t < paused_at + 1.5]
            assert len(early) <= 2, (paused_at, sent)

        asyncio.run(main())
    assert len(sent) == 5


def _reserver(home: str, n: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    os.environ["LIKEWATCH_HOME"] = home
    with Catalog.open() as cat:
        out.put([budget.reserve(cat, "h:80", 0.05) for _ in range(n)])


def test_processes_share_one_budget(likewatch_home: Path) -> None:
    """Three processes reserving at once get distinct turns, each 50 ms after another."""
    Catalog.open().close()  # tables made before the processes race for them
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_reserver, args=(str(likewatch_home), 20, out))
             for _ in range(3)]
    for p in procs:
        p.start()
    starts = sorted(s for _ in procs for s in out.get(timeout=120))
    for p in procs:
        p.join(timeout=30)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(starts) == 60 and min(gaps) >= 0.05 - 1e-6, min(gaps)
