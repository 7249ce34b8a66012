"""The durable work queue (``work_queue``): jobs handed between roles, on leases.

A job has a unique ``key`` (enqueueing is idempotent), a queue name (``crawl``,
``backsearch``, ...) and a JSON payload. It goes ready -> leased -> done, or back to ready
after a failure (due again after a backoff: settings ``queue_retry_base`` and
``queue_retry_max``), or dead after its ``max_attempts`` (setting ``queue_max_attempts``
by default). Claims, fencing, dead letters and heartbeats are :mod:`likewatch.work.lease`'s;
this module names the table's columns and keeps the queue's own vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from likewatch import settings
from likewatch.catalog import Catalog
from likewatch.catalog.queue import QueueJob
from likewatch.work import lease as leases
from likewatch.work.clock import SYSTEM, Clock
from likewatch.work.db import write_session

JOBS = leases.LeaseTable(QueueJob, waiting="ready", held="leased", due="available_at",
                         max_attempts_column="max_attempts", finished_column="finished_at")


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
    lease: leases.Lease


def enqueue(session: Session, queue: str, key: str, payload: dict[str, Any] | None = None, *,
            available_at: float | None = None, max_attempts: int | None = None,
            clock: Clock = SYSTEM) -> bool:
    """Add a job unless one with ``key`` exists; True when it was added. Idempotent."""
    t = clock.now()
    values = {
        "queue": queue, "key": key, "payload": payload or {}, "state": "ready",
        "attempts": 0,
        "max_attempts": max_attempts or int(settings.get("queue_max_attempts")),
        "available_at": t if available_at is None else available_at,
        "lease_owner": "", "lease_until": 0.0, "last_error": "", "created_at": t,
    }
    dialect = session.get_bind().dialect.name
    ins = pg_insert(QueueJob) if dialect == "postgresql" else sqlite_insert(QueueJob)
    stmt = (ins.values(**values).on_conflict_do_nothing(index_elements=["key"])
            .returning(QueueJob.id))
    return session.execute(stmt).first() is not None


def claim(cat: Catalog, queue: str, owner: str, *, lease_seconds: float | None = None,
          clock: Clock = SYSTEM) -> ClaimedJob | None:
    """Lease the oldest claimable job of ``queue`` to ``owner``; None when there is none."""
    lease = leases.claim(cat, JOBS, owner,
                         lease_seconds=float(lease_seconds or settings.get("queue_lease_seconds")),
                         where=[QueueJob.queue == queue], returning=("key", "payload"),
                         clock=clock)
    if lease is None:
        return None
    return ClaimedJob(lease.ids[0], queue, str(lease.row["key"]),
                      dict(lease.row["payload"] or {}), lease.token,
                      int(lease.row["max_attempts"]), owner, lease.until, lease)


def complete(cat: Catalog, job: ClaimedJob, result: dict[str, Any] | None = None, *,
             clock: Clock = SYSTEM) -> bool:
    """Mark a claimed job done; False when this worker no longer holds its lease."""
    with write_session(cat) as s:
        return leases.settle(s, JOBS, job.lease, "done", finished_at=clock.now(),
                             result=result, last_error="")


def fail(cat: Catalog, job: ClaimedJob, error: str, *, retry: bool = True,
         delay: float | None = None, clock: Clock = SYSTEM) -> str:
    """Record a failure: back to ready after a backoff, or dead.

    Returns the new state (``ready`` or ``dead``), or ``lost-lease``."""
    state, values = leases.after_failure(
        JOBS, job.lease, error, max_attempts=job.max_attempts,
        retry_base=float(settings.get("queue_retry_base")),
        retry_max=float(settings.get("queue_retry_max")), retry=retry, delay=delay, clock=clock)
    with write_session(cat) as s:
        if not leases.settle(s, JOBS, job.lease, state, **values):
            return "lost-lease"
    return state


def extend_lease(cat: Catalog, job: ClaimedJob, lease_seconds: float) -> bool:
    """Push the lease forward (a heartbeat); False when the lease was lost."""
    return leases.extend(cat, JOBS, job.lease, lease_seconds)


@contextmanager
def heartbeat(cat: Catalog, job: ClaimedJob | Sequence[ClaimedJob],
              lease_seconds: float | None = None) -> Iterator[None]:
    """Keep extending ``job``'s lease (or those of several jobs) from a thread while the
    body runs."""
    held = [job.lease] if isinstance(job, ClaimedJob) else [j.lease for j in job]
    with leases.heartbeat(cat, JOBS, held,
                          float(lease_seconds or settings.get("queue_lease_seconds"))):
        yield


def claim_many(cat: Catalog, queue: str, owner: str, n: int, *,
               lease_seconds: float | None = None, clock: Clock = SYSTEM) -> list[ClaimedJob]:
    """Lease up to ``n`` jobs of ``queue`` to ``owner`` (fewer when fewer are claimable)."""
    jobs: list[ClaimedJob] = []
    while len(jobs) < n and (job := claim(cat, queue, owner, lease_seconds=lease_seconds,
                                          clock=clock)) is not None:
        jobs.append(job)
    return jobs


def counts(cat: Catalog) -> dict[str, dict[str, int]]:
    """{queue: {state: count}} for status displays."""
    out: dict[str, dict[str, int]] = {}
    with cat.session() as s:
        for queue, state, n in s.execute(
                select(QueueJob.queue, QueueJob.state, func.count()).group_by(
                    QueueJob.queue, QueueJob.state)):
            out.setdefault(queue, {})[state] = int(n)
    return out


def prune(cat: Catalog, older_than: float = 7 * 86400.0, *, clock: Clock = SYSTEM) -> int:
    """Delete done jobs finished more than ``older_than`` seconds ago (dead ones are kept)."""
    with write_session(cat) as s:
        res = s.execute(delete(QueueJob).where(QueueJob.state == "done",
                                               QueueJob.finished_at < clock.now() - older_than))
        return int(getattr(res, "rowcount", 0) or 0)
