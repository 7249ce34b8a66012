"""Role heartbeats: beats and ticks per worker, summarised per role."""

from __future__ import annotations

from likewatch.catalog import Catalog
from likewatch.work import heartbeat
from likewatch.work.clock import ManualClock


def test_beats_and_ticks_are_summarised_per_role():
    cat = Catalog.open()
    clock = ManualClock()
    t0 = clock.now()
    assert heartbeat.roles(cat, clock=clock) == []
    heartbeat.beat(cat, "crawler", "crawler@h:1:a", clock=clock)
    heartbeat.beat(cat, "matcher", "matcher@h:1:a", clock=clock)
    clock.advance(2)
    heartbeat.tick(cat, "matcher", "matcher@h:1:a", 0.75, True, clock=clock)
    clock.advance(3)
    heartbeat.beat(cat, "matcher", "matcher@h:2:b", clock=clock)  # a second process
    got = {r["role"]: r for r in heartbeat.roles(cat, clock=clock)}
    assert list(got) == ["crawler", "matcher"]
    assert got["crawler"]["last_beat_at"] == t0 and got["crawler"]["beat_age_s"] == 5.0
    assert got["crawler"]["last_tick_at"] is None and got["crawler"]["tick_age_s"] is None
    m = got["matcher"]
    assert m["workers"] == 2 and m["beat_age_s"] == 0.0
    assert (m["last_tick_at"], m["tick_age_s"], m["last_tick_s"], m["last_tick_ok"]) == (
        t0 + 2, 3.0, 0.75, True)
    clock.advance(1)
    heartbeat.tick(cat, "matcher", "matcher@h:2:b", 4.0, False, clock=clock)
    m = {r["role"]: r for r in heartbeat.roles(cat, clock=clock)}["matcher"]
    assert (m["last_tick_s"], m["last_tick_ok"]) == (4.0, False)  # the newest tick wins


def test_silent_workers_stop_counting_and_are_pruned():
    cat = Catalog.open()
    clock = ManualClock()
    heartbeat.beat(cat, "alerter", "alerter@h:1:a", clock=clock)
    clock.advance(heartbeat.STALE_AFTER_S + 1)
    heartbeat.beat(cat, "alerter", "alerter@h:2:b", clock=clock)
    (row,) = heartbeat.roles(cat, clock=clock)
    assert row["workers"] == 1  # the first one stopped beating: gone
    clock.advance(heartbeat.KEEP_S - heartbeat.STALE_AFTER_S)
    assert heartbeat.prune(cat, clock=clock) == 1
    assert heartbeat.prune(cat, clock=clock) == 0
    (row,) = heartbeat.roles(cat, clock=clock)
    assert row["workers"] == 0 and row["beat_age_s"] > heartbeat.STALE_AFTER_S
