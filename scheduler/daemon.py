"""`likewatch run`: the long-running daemon on APScheduler 3.x.

Each role (crawler, matcher, alerter) is one interval job whose function lives in
:mod:`scheduler.jobs`; the ``api`` role serves the webapp. Jobs are stored in the catalog
database (SQLAlchemyJobStore, one table per role: ``apscheduler_<role>``), so a restarted
daemon keeps each job's next run time: a run missed while it was down happens once
(``coalesce``) if it is within ``misfire_grace_time``, and nothing runs twice. A job still
running when its next run comes is skipped (``max_instances=1``) and the skip is logged.
Several processes may run the same role (on several hosts): their work is claimed from
the durable queues with leases, so they never do the same work twice.

Observability: each role beats (``likewatch.work.heartbeat``) every few seconds from the
main loop and at the end of each tick, for ``/api/health``, ``likewatch status`` and
``/metrics``; ``/metrics`` is served by the api role's web application and, when setting
``metrics_port`` (or ``--metrics-port``) is set, on a port of its own
(``likewatch.metrics_http``).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from likewatch import metrics, metrics_http, settings
from likewatch.log import get_logger
from likewatch.work import heartbeat
from likewatch.work.db import catalog
from scheduler import jobs

log = get_logger("likewatch.daemon")

ROLES = ("crawler", "matcher", "alerter", "evidence", "indexer", "api")
JOB_FUNCS = {
    "crawler": "scheduler.jobs:crawler_job",
    "matcher": "scheduler.jobs:matcher_job",
    "alerter": "scheduler.jobs:alerter_job",
    "evidence": "scheduler.jobs:evidence_job",
    "indexer": "scheduler.jobs:indexer_job",
}


class DaemonError(Exception):
    """The daemon cannot start as asked (e.g. its metrics port is taken)."""


def parse_roles(text: str) -> list[str]:
    roles = [r.strip() for r in text.split(",") if r.strip()]
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"unknown role(s) {', '.join(unknown) or '(none)'}; "
                         f"choose from {', '.join(ROLES)}")
    return roles


class _SkipFilter(logging.Filter):
    """APScheduler's own skip warning, which :func:`_on_event` logs in our format."""

    stopping = False

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if "maximum number of running instances" in msg:
            return False
        # APScheduler 3's shutdown wakes its loop once more, which then tries to submit
        # due jobs to the executor it just shut down; nothing is lost (the jobs stay in
        # the job store), so that one error is noise.
        return not (_SkipFilter.stopping and msg.startswith("Error submitting job"))


def _on_event(event: Any) -> None:
    if event.code == EVENT_JOB_MAX_INSTANCES:
        log.info("job skipped: previous run still running", job=event.job_id)
    elif event.code == EVENT_JOB_MISSED:
        log.warning("job run missed (beyond misfire grace)", job=event.job_id,
                    scheduled=str(event.scheduled_run_time))
    elif event.code == EVENT_JOB_ERROR:
        log.error("job failed", job=event.job_id, error=repr(event.exception))


def build_scheduler(roles: Sequence[str], tick: float | None = None) -> BackgroundScheduler:
    """A started scheduler with one persistent interval job per role (not api)."""
    cat = catalog()
    tick = float(tick or settings.get("scheduler_tick_seconds"))
    grace = int(max(1.0, float(settings.get("scheduler_misfire_grace"))))
    job_roles = [r for r in roles if r in JOB_FUNCS]
    sched = BackgroundScheduler(
        jobstores={r: SQLAlchemyJobStore(engine=cat.engine, tablename=f"apscheduler_{r}")
                   for r in job_roles},
        executors={"default": ThreadPoolExecutor(max(1, len(job_roles)))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
        timezone=dt.UTC,
    )
    sched.add_listener(_on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    sched.start(paused=True)
    for role in job_roles:
        job_id = f"{role}.tick"
        existing = sched.get_job(job_id, jobstore=role)
        trigger = IntervalTrigger(seconds=tick, timezone=dt.UTC)
        if existing is None:
            # First start: run at once, then every tick. Another process of the role
            # starting at the same moment may have added it first: that one is used.
            try:
                sched.add_job(JOB_FUNCS[role], trigger, id=job_id, jobstore=role,
                              name=f"likewatch {role}", next_run_time=dt.datetime.now(dt.UTC))
            except ConflictingIdError:
                log.info("job added by another process", job=job_id)
        elif getattr(existing.trigger, "interval", None) != trigger.interval:
            sched.reschedule_job(job_id, jobstore=role, trigger=trigger)
        elif existing.next_run_time and existing.next_run_time < dt.datetime.now(dt.UTC):
            # Runs were missed while the daemon was down: one run now stands for all of
            # them (coalescing), and the interval restarts from it, so no burst follows.
            log.info("runs missed while down: one run now", job=job_id,
                     due_since=str(existing.next_run_time))
            now = dt.datetime.now(dt.UTC)
            sched.reschedule_job(job_id, jobstore=role, trigger=IntervalTrigger(
                seconds=tick, start_date=now, timezone=dt.UTC))
            sched.modify_job(job_id, jobstore=role, next_run_time=now)
        else:
            log.info("job resumed from the job store", job=job_id,
                     next_run=str(existing.next_run_time))
    sched.resume()
    return sched


def _start_api(stop: threading.Event, host: str = "127.0.0.1", port: int = 8080
               ) -> threading.Thread:
    """Serve ``webapp.app.create_app(catalog, index)`` (ASGI, uvicorn) in a thread until
    ``stop``."""
    import uvicorn

    from matchers.index import open_index
    from webapp.app import create_app

    def serve() -> None:
        import asyncio

        async def main() -> None:
            cat, index = catalog(), open_index()
            server = uvicorn.Server(uvicorn.Config(
                create_app(cat, index), host=host, port=port, log_config=None,
                access_log=False, lifespan="off", server_header=False))

            async def watch() -> None:
                while not stop.is_set():
                    await asyncio.sleep(0.2)
                server.should_exit = True

            watcher = asyncio.create_task(watch())
            log.info("api listening", url=f"http://{host}:{port}")
            try:
                await server.serve()
            finally:
                watcher.cancel()
                index.close()

        try:
            asyncio.run(main())
        except Exception as exc:  # noqa: BLE001 - the other roles keep running
            log.error("api role failed", error=repr(exc))

    thread = threading.Thread(target=serve, name="api", daemon=True)
    thread.start()
    return thread


def _start_metrics(port: int | None) -> metrics_http.MetricsServer | None:
    """The metrics port (``--metrics-port``, else setting ``metrics_port``; 0: none)."""
    port = int(settings.get("metrics_port") if port is None else port)
    if port <= 0:
        return None
    host = str(settings.get("metrics_host"))
    try:
        server = metrics_http.MetricsServer(metrics.registry_for(catalog()), host, port).start()
    except OSError as exc:
        raise DaemonError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
                          ) from exc
    log.info("metrics listening", url=server.url)
    return server


class _Beats:
    """The roles' heartbeats from the daemon's main loop, every ``interval`` seconds."""

    def __init__(self, roles: Sequence[str], interval: float) -> None:
        self.roles, self.interval, self.next = list(roles), interval, 0.0
        try:
            heartbeat.prune(catalog())
        except Exception as exc:  # noqa: BLE001 - old rows are harmless
            log.warning("old heartbeats not pruned", error=str(exc)[:200])

    def __call__(self, api: threading.Thread | None) -> None:
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + self.interval
        try:
            for role in self.roles:
                if role != "api" or (api is not None and api.is_alive()):
                    heartbeat.beat(catalog(), role, jobs.owner(role))
        except Exception as exc:  # noqa: BLE001 - the roles go on; health shows the gap
            log.warning("heartbeat not recorded", error=str(exc)[:200])


def run(roles: Sequence[str], *, tick: float | None = None, duration: float | None = None,
        stop: threading.Event | None = None, install_signals: bool = True,
        api_host: str = "127.0.0.1", api_port: int = 8080,
        metrics_port: int | None = None) -> int:
    """Run the given roles until SIGINT/SIGTERM, ``stop`` is set, or ``duration`` passes."""
    stop = stop or threading.Event()
    # One line per tick from APScheduler is noise; its warnings and errors still show.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").addFilter(_SkipFilter())
    exporter = _start_metrics(metrics_port)  # first: a taken port stops nothing half-started
    previous_handlers = {}
    if install_signals and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous_handlers[sig] = signal.signal(sig, lambda *_: stop.set())
    jobs.stopping.clear()
    sched = build_scheduler(roles, tick)
    api = _start_api(stop, api_host, api_port) if "api" in roles else None
    tick_s = float(tick or settings.get("scheduler_tick_seconds"))
    beats = _Beats(roles, min(15.0, max(1.0, tick_s)))
    log.info("daemon running", roles=",".join(roles), tick_s=tick_s)
    deadline = time.monotonic() + duration if duration else None
    try:
        while not stop.wait(0.2):
            beats(api)
            if deadline and time.monotonic() >= deadline:
                break
    finally:
        stop.set()
        _SkipFilter.stopping = True
        jobs.stopping.set()
        sched.pause()  # no new submissions while the running ticks finish
        limit = time.monotonic() + 600
        while jobs.running() and time.monotonic() < limit:
            time.sleep(0.1)
        time.sleep(0.2)
        sched.shutdown(wait=True)
        if api:
            api.join(timeout=10)
        if exporter:
            exporter.stop()
        # The daemon is gone; the role functions stay usable in this process (tests, demo).
        jobs.stopping.clear()
        _SkipFilter.stopping = False
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)
        log.info("daemon stopped")
    return 0
