"""A daemon restart neither double-runs nor skips jobs: APScheduler's job store in the
catalog keeps each role's next run time; runs missed while down are coalesced into one."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from likewatch.work.db import catalog, reset_catalog
from scheduler import daemon

RUNS = Path("/nonexistent")


def counting_job() -> None:
    """Stands in for a role's tick: appends the time of each run to a file."""
    with open(RUNS, "a") as fh:
        fh.write(f"{time.time()}\n")


def _runs() -> list[float]:
    return [float(x) for x in RUNS.read_text().split()] if RUNS.exists() else []


def test_restart_keeps_schedule_coalesces_missed_runs_and_never_doubles(
        tmp_path, monkeypatch):
    global RUNS
    RUNS = tmp_path / "runs.txt"
    monkeypatch.setitem(daemon.JOB_FUNCS, "alerter",
                        "tests.scheduler.test_restart:counting_job")
    monkeypatch.setenv("LIKEWATCH_SCHEDULER_MISFIRE_GRACE", "30")
    reset_catalog()
    try:
        sched = daemon.build_scheduler(["alerter"], tick=1.0)
        time.sleep(3.5)
        sched.shutdown(wait=True)
        first = _runs()
        assert 3 <= len(first) <= 5  # at start, then every second
        with catalog().engine.connect() as conn:
            stored = conn.execute(text("SELECT id, next_run_time FROM apscheduler_alerter")).all()
        assert [row[0] for row in stored] == ["alerter.tick"]
        time.sleep(3.2)  # down: three runs are missed
        restarted_at = time.time()
        sched = daemon.build_scheduler(["alerter"], tick=1.0)
        time.sleep(0.6)
        after = [t for t in _runs() if t >= restarted_at]
        # The missed runs happen once, at once: not three times, and not skipped.
        assert len(after) == 1 and after[0] - restarted_at < 0.5
        time.sleep(2.0)
        sched.shutdown(wait=True)
        after = [t for t in _runs() if t >= restarted_at]
        assert 2 <= len(after) <= 4
        gaps = [b - a for a, b in zip(after, after[1:], strict=False)]
        assert all(g > 0.5 for g in gaps)  # never two runs for one slot
    finally:
        reset_catalog()


def test_a_running_job_is_skipped_not_doubled(tmp_path, monkeypatch, caplog, capsys):
    global RUNS
    RUNS = tmp_path / "runs.txt"
    monkeypatch.setitem(daemon.JOB_FUNCS, "alerter", "tests.scheduler.test_restart:slow_job")
    reset_catalog()
    try:
        import logging

        caplog.set_level(logging.INFO)
        sched = daemon.build_scheduler(["alerter"], tick=0.3)
        time.sleep(2.0)
        sched.shutdown(wait=True)
        runs = _runs()
        assert 1 <= len(runs) <= 2  # each run takes 1.5 s: the ticks in between are skipped
        logged = caplog.text + capsys.readouterr().out
        assert "job skipped: previous run still running" in logged
    finally:
        reset_catalog()


def slow_job() -> None:
    counting_job()
    time.sleep(1.5)
