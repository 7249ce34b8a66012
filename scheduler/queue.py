"""Durable work queue in the catalog: enqueue, claim with a lease, complete, fail.

A claim is one statement, ``UPDATE work_queue SET state='leased', lease_owner=..,
lease_until=.. WHERE id = (SELECT id ... LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING ..``;
PostgreSQL renders the ``FOR UPDATE SKIP LOCKED`` (concurrent workers skip each other's
rows), SQLite omits it and runs the statement under ``BEGIN IMMEDIATE`` (one writer at a
time, so the sub-select and the update are atomic). A job whose lease has expired (its
worker died) is claimable again; completing or failing is fenced by the lease owner, so a
worker that lost its lease cannot overwrite the new owner's result.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from likewatch import settings
from likewatch.catalog import Catalog
from likewatch.catalog.queue import QueueJob
from likewatch.log import get_logger
from scheduler.db import write_session

log = get_logger("likewatch.queue")


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    queue: str
    key: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    owner: str
    lease_until: float


def backoff_delay(attempt: int, base: float, cap: float, jitter: float = 0.5) -> float:
    """Exponential backoff with jitter: base * 2**(attempt-1), capped, times 1 +- jitter."""
    raw = min(cap, base * (2 ** max(0, attempt - 1)))
    return max(0.0, raw * (1.0 + random.uniform(-jitter, jitter)))


def enqueue(session: Session, queue: str, key: str, payload: dict[str, Any] | None = None, *,
            available_at: float | None = None, max_attempts: int | None = None) -> bool:
    """Add a job unless one with ``key`` exists; True when it was added. Idempotent."""
    values = {
        "queue": queue, "key": key, "payload": payload or {}, "state": "ready",
        "attempts": 0,
        "max_attempts": max_attempts or int(settings.get("queue_max_attempts")),
        "available_at": time.time() if available_at is None else available_at,
        "lease_owner": "", "lease_until": 0.0, "last_error": "", "created_at": time.time(),
    }
    dialect = session.get_bind().dialect.name
    ins = pg_insert(QueueJob) if dialect == "postgresql" else sqlite_insert(QueueJob)
    stmt = (ins.values(**values).on_conflict_do_nothing(index_elements=["key"])
            .returning(QueueJob.id))
    return session.execute(stmt).first() is not None


def claim(cat: Catalog, queue: str, owner: str, *, lease_seconds: float | None = None,
          now: float | None = None) -> ClaimedJob | None:
    """Lease the oldest claimable job of ``queue`` to ``owner``; None when there is none."""
    lease = float(lease_seconds or settings.get("queue_lease_seconds"))
    while True:
        t = time.time() if now is None else now
        claimable = or_(
            and_(QueueJob.state == "ready", QueueJob.available_at <= t),
            and_(QueueJob.state == "leased", QueueJob.lease_until < t),
        )
        pick = (
            select(QueueJob.id)
            .where(QueueJob.queue == queue, claimable)
            .order_by(QueueJob.available_at, QueueJob.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(QueueJob)
            .where(QueueJob.id == pick)
            .values(state="leased", lease_owner=owner, lease_until=t + lease,
                    attempts=QueueJob.attempts + 1)
            .returning(QueueJob.id, QueueJob.key, QueueJob.payload, QueueJob.attempts,
                       QueueJob.max_attempts)
            .execution_options(synchronize_session=False)
        )
        with write_session(cat) as s:
            row = s.execute(stmt).first()
            if row is None:
                return None
            job = ClaimedJob(row.id, queue, row.key, dict(row.payload or {}), row.attempts,
                             row.max_attempts, owner, t + lease)
            if job.attempts <= job.max_attempts:
                return job
            # Its workers kept dying (lease expired every time): a dead letter.
            s.execute(update(QueueJob).where(QueueJob.id == job.id).values(
                state="dead", finished_at=t,
                last_error=f"lease expired {job.max_attempts} times"))
        log.warning("job dead after expired leases", queue=queue, key=job.key)


def _fenced(job: ClaimedJob) -> Any:
    return and_(QueueJob.id == job.id, QueueJob.lease_owner == job.owner,
                QueueJob.state == "leased")


def complete(cat: Catalog, job: ClaimedJob, result: dict[str, Any] | None = None) -> bool:
    """Mark a claimed job done; False when this worker no longer holds its lease."""
    with write_session(cat) as s:
        res = s.execute(update(QueueJob).where(_fenced(job)).values(
            state="done", finished_at=time.time(), result=result, last_error=""))
        return bool(getattr(res, "rowcount", 0))


def fail(cat: Catalog, job: ClaimedJob, error: str, *, retry: bool = True,
         delay: float | None = None) -> str:
    """Record a failure: back to ready after a backoff, or dead. Returns the new state."""
    dead = not retry or job.attempts >= job.max_attempts
    if delay is None:
        delay = backoff_delay(job.attempts, float(settings.get("queue_retry_base")),
                              float(settings.get("queue_retry_max")))
    values: dict[str, Any] = {"last_error": error[:2000], "lease_owner": "", "lease_until": 0.0}
    if dead:
        values.update(state="dead", finished_at=time.time())
    else:
        values.update(state="ready", available_at=time.time() + delay)
    with write_session(cat) as s:
        res = s.execute(update(QueueJob).where(_fenced(job)).values(**values))
        if not getattr(res, "rowcount", 0):
            return "lost-lease"
    return "dead" if dead else "ready"


def extend_lease(cat: Catalog, job: ClaimedJob, lease_seconds: float) -> bool:
    """Push the lease forward (a heartbeat); False when the lease was lost."""
    with write_session(cat) as s:
        res = s.execute(update(QueueJob).where(_fenced(job)).values(
            lease_until=time.time() + lease_seconds))
        return bool(getattr(res, "rowcount", 0))


@contextmanager
def heartbeat(cat: Catalog, job: ClaimedJob, lease_seconds: float | None = None) -> Iterator[None]:
    """Keep extending ``job``'s lease from a thread while the body runs."""
    lease = float(lease_seconds or settings.get("queue_lease_seconds"))
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease / 3.0):
            try:
                if not extend_lease(cat, job, lease):
                    log.warning("lease lost", key=job.key)
                    return
            except Exception as exc:  # noqa: BLE001 - a heartbeat must not kill the worker
                log.warning("heartbeat failed", key=job.key, error=str(exc))

    thread = threading.Thread(target=beat, name=f"lease-{job.id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def counts(cat: Catalog) -> dict[str, dict[str, int]]:
    """{queue: {state: count}} for status displays."""
    from sqlalchemy import func

    out: dict[str, dict[str, int]] = {}
    with cat.session() as s:
        for queue, state, n in s.execute(
                select(QueueJob.queue, QueueJob.state, func.count()).group_by(
                    QueueJob.queue, QueueJob.state)):
            out.setdefault(queue, {})[state] = int(n)
    return out


def prune(cat: Catalog, older_than: float = 7 * 86400.0) -> int:
    """Delete done jobs finished more than ``older_than`` seconds ago (dead ones are kept)."""
    from sqlalchemy import delete

    with write_session(cat) as s:
        res = s.execute(delete(QueueJob).where(QueueJob.state == "done",
                                               QueueJob.finished_at < time.time() - older_than))
        return int(getattr(res, "rowcount", 0) or 0)
