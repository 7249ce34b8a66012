"""The work layer's pieces on their own: backoff, fencing tokens, dead letters, the clock,
cursors and the compare-and-set claim. Time moves by a ManualClock, not by sleeping."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate
from likewatch.catalog.queue import QueueJob
from likewatch.work import cursor, queue
from likewatch.work.clock import ManualClock, as_datetime, as_seconds
from likewatch.work.db import compare_and_set, write_session
from likewatch.work.lease import backoff_delay


def test_backoff_delay_grows_and_is_capped():
    delays = [backoff_delay(a, 1.0, 10.0, jitter=0.0) for a in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    jittered = {round(backoff_delay(3, 1.0, 100.0), 3) for _ in range(20)}
    assert len(jittered) > 1 and all(2.0 <= d <= 6.0 for d in jittered)


def _one_job(cat, clock, max_attempts=5):
    with write_session(cat) as s:
        queue.enqueue(s, "work", "k", {"n": 1}, max_attempts=max_attempts, clock=clock)


def test_the_same_owner_claiming_again_fences_off_its_own_stale_lease():
    """The fencing token is the attempt number, not the owner's name: a worker that lost
    its lease and took the job again in a later tick cannot finish it with the old claim."""
    cat, clock = Catalog.open(), ManualClock()
    _one_job(cat, clock)
    old = queue.claim(cat, "work", "w", lease_seconds=10, clock=clock)
    clock.advance(11)
    new = queue.claim(cat, "work", "w", lease_seconds=10, clock=clock)
    assert old is not None and new is not None and (old.id, old.owner) == (new.id, new.owner)
    assert (old.lease.token, new.lease.token) == (1, 2)
    assert not queue.complete(cat, old, clock=clock)
    assert queue.fail(cat, old, "late", clock=clock) == "lost-lease"
    assert not queue.extend_lease(cat, old, 30)
    assert queue.complete(cat, new, {"ok": 1}, clock=clock)


def test_a_job_whose_every_holder_died_becomes_a_dead_letter_at_claim():
    cat, clock = Catalog.open(), ManualClock()
    _one_job(cat, clock, max_attempts=2)
    for _ in range(2):
        assert queue.claim(cat, "work", "dies", lease_seconds=5, clock=clock) is not None
        clock.advance(6)
    assert queue.claim(cat, "work", "w", lease_seconds=5, clock=clock) is None
    with cat.session() as s:
        row = s.scalars(select(QueueJob)).one()
    assert row.state == "dead" and row.finished_at == clock.now()
    assert "lease expired" in row.last_error and row.lease_owner == ""


def test_a_failure_waits_for_its_backoff_on_the_clock():
    cat, clock = Catalog.open(), ManualClock()
    _one_job(cat, clock)
    job = queue.claim(cat, "work", "w", clock=clock)
    assert queue.fail(cat, job, "boom", delay=30.0, clock=clock) == "ready"
    clock.advance(29.9)
    assert queue.claim(cat, "work", "w", clock=clock) is None
    clock.advance(0.2)
    again = queue.claim(cat, "work", "w", clock=clock)
    assert again is not None and again.attempts == 2


def test_clock_conversions_round_trip_and_refuse_naive_datetimes():
    t = 1_800_000_123.25
    assert as_datetime(t).tzinfo is dt.UTC and as_seconds(as_datetime(t)) == t
    with pytest.raises(ValueError, match="naive"):
        as_seconds(dt.datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_cursors_start_at_zero_and_never_move_back():
    cat = Catalog.open()
    assert cursor.position(cat, "c") == 0
    assert cursor.advance(cat, "c", 7) == 7
    assert cursor.advance(cat, "c", 3) == 7
    with write_session(cat) as s:
        mark = cursor.at(s, "c")
        mark.value = 9
    assert cursor.position(cat, "c") == 9


def test_compare_and_set_lets_only_the_first_claim_through():
    cat = Catalog.open()
    with write_session(cat) as s:
        c = Candidate(platform="sandbox", item_id="v1", url="http://x/v1")
        s.add(c)
        s.flush()
        cid = c.id
    with write_session(cat) as s:
        assert compare_and_set(s, Candidate, cid, "match_status", "pending", "matched")
    with write_session(cat) as s:
        assert not compare_and_set(s, Candidate, cid, "match_status", "pending", "failed")
    with cat.session() as s:
        assert s.get(Candidate, cid).match_status == "matched"
