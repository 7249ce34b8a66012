"""Turns (likewatch/work/turn.py): one process at a time, handed over when given back or
when its holder's lease expires, fenced by a token."""

from __future__ import annotations

import threading
import time

from likewatch.catalog import Catalog
from likewatch.work import turn
from likewatch.work.clock import ManualClock


def test_one_holder_at_a_time_expiry_and_fencing() -> None:
    clock = ManualClock()
    with Catalog.open() as cat:
        first = turn.take(cat, "index", "a", 10, clock=clock)
        assert first == 1
        assert turn.take(cat, "index", "b", 10, clock=clock) is None  # a holds it
        assert turn.take(cat, "other", "b", 10, clock=clock) == 1  # turns are per name
        assert turn.take(cat, "index", "a", 10, clock=clock) == 2  # the holder again
        clock.advance(11)  # a died: its lease expired
        second = turn.take(cat, "index", "b", 10, clock=clock)
        assert second == 3
        assert not turn.extend(cat, "index", "a", 2, 10, clock=clock)  # a lost it
        assert not turn.give_back(cat, "index", "a", 2)
        assert turn.take(cat, "index", "a", 10, clock=clock) is None
        assert turn.extend(cat, "index", "b", second, 10, clock=clock)
        assert turn.give_back(cat, "index", "b", second)
        assert turn.take(cat, "index", "a", 10, clock=clock) == 4  # given back: at once


def test_the_context_manager_holds_the_turn_while_the_body_runs() -> None:
    with Catalog.open() as cat:
        inside = threading.Event()
        release = threading.Event()
        seen: list[bool] = []

        def holder() -> None:
            with turn.turn(cat, "index", "a", 0.3) as mine:
                seen.append(mine)
                inside.set()
                release.wait(10)

        t = threading.Thread(target=holder)
        t.start()
        assert inside.wait(10)
        time.sleep(0.5)  # longer than the lease: the heartbeat keeps extending it
        with turn.turn(cat, "index", "b", 0.3) as mine:
            assert not mine
        release.set()
        t.join(10)
        with turn.turn(cat, "index", "b", 0.3) as mine:
            assert mine
    assert seen == [True]
