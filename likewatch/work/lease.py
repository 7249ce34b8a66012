"""Leases with fencing: the one implementation every durable queue in the catalog uses.

A lease queue is a table whose rows wait (``state`` = the table's *waiting* state) until
due (their due column ``<=`` now), are claimed by one worker for a while (``lease_owner``,
``lease_until``, ``attempts`` + 1), and are then settled by that worker: done, retried
after a backoff, or buried as a dead letter. Two tables are lease queues today, each
described by a :class:`LeaseTable` (they keep their released column names and states):

- ``work_queue`` (:mod:`likewatch.work.queue`): crawl and back-search jobs;
- ``alert_outbox`` (:mod:`alerts.outbox`): alert deliveries, a digest's rows leased together.

**Claim** is one statement, ``UPDATE t SET lease_owner=.., lease_until=.., attempts=
attempts+1 WHERE id = (SELECT id .. ORDER BY due, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING ..``: PostgreSQL renders ``FOR UPDATE SKIP LOCKED`` (concurrent workers skip
each other's rows); SQLite omits it and runs the statement under ``BEGIN IMMEDIATE``
(:func:`~likewatch.work.db.write_session`: one writer at a time, so the sub-select and
the update are atomic). A row is claimable when it waits or is held, is due, and its lease
has expired (``lease_until < now``: a worker that died lets go of it by itself).

**Fencing.** ``attempts`` after the claim is the lease's fencing token: every settle and
every lease extension is ``WHERE id IN (..) AND lease_owner = owner AND attempts = token
AND state = held``. A worker whose lease expired and was claimed again (by another worker,
or by itself in a later tick) matches no row, so it cannot overwrite the new holder's result.

**Dead letters.** A row claimed more than ``max_attempts`` times (every holder died before
settling it) becomes dead at claim time; a failure on the last attempt buries it too.
Dead rows stay in their table for people to look at (``likewatch alerts --state dead``,
``likewatch status``); nothing claims them again.

**Backoff.** A failed row waits ``base * 2**(attempt-1)`` seconds, capped, times 1 ± jitter
(:func:`backoff_delay`); the per-platform crawl backoff uses the same function.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from likewatch.catalog import Catalog
from likewatch.log import get_logger
from likewatch.work.clock import SYSTEM, Clock
from likewatch.work.db import write_session

log = get_logger("likewatch.work")


@dataclass(frozen=True)
class LeaseTable:
    """Where a table keeps a lease queue (column names are the table's own, released ones).

    Every lease table has ``id``, ``state``, ``attempts``, ``lease_owner``, ``lease_until``
    and ``last_error`` columns; the rest differs and is named here.
    """

    model: Any  # the mapped class
    waiting: str  # state of a row waiting to be claimed ("ready", "pending")
    held: str  # state of a row under a lease ("leased"; the outbox keeps "pending")
    due: str  # column of the time the row is due (float seconds)
    dead: str = "dead"
    max_attempts_column: str | None = None  # per-row limit, else the caller's
    group_column: str | None = None  # rows with one non-empty value are leased together
    finished_column: str | None = None  # stamped when a row settles for good

    def col(self, name: str) -> Any:
        return getattr(self.model, name)

    @property
    def open_states(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.waiting, self.held)))


@dataclass(frozen=True)
class Lease:
    """A claim on one row (or one group of rows) of a lease table."""

    ids: tuple[int, ...]
    owner: str
    token: int  # ``attempts`` after the claim: the fencing token
    until: float
    group: str = ""
    row: Mapping[str, Any] = field(default_factory=dict)  # the claimed row's columns read


def worker_id(role: str = "") -> str:
    """A lease owner name unique to this process: host, pid and a random suffix."""
    prefix = f"{role}@" if role else ""
    return f"{prefix}{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff_delay(attempt: int, base: float, cap: float, jitter: float = 0.5) -> float:
    """Exponential backoff with jitter: base * 2**(attempt-1), capped, times 1 +- jitter."""
    raw = min(cap, base * (2 ** max(0, attempt - 1)))
    return max(0.0, float(raw * (1.0 + random.uniform(-jitter, jitter))))


def claim(cat: Catalog, table: LeaseTable, owner: str, *, lease_seconds: float,
          max_attempts: int = 0, where: Sequence[Any] = (), returning: Sequence[str] = (),
          due_before: float | None = None, clock: Clock = SYSTEM) -> Lease | None:
    """Lease the next claimable row of ``table`` to ``owner``; None when there is none.

    ``where``: extra conditions on the row; ``returning``: columns to read into
    ``Lease.row``; ``due_before``: only rows due by then (a tick's start, so a row that
    fails now waits for its backoff instead of being retried in the same tick);
    ``max_attempts``: the limit when the table has no per-row one.
    """
    m = table.model
    extra = [c for c in (table.max_attempts_column, table.group_column) if c]
    while True:
        t = clock.now()
        due = t if due_before is None else min(t, due_before)
        pick = (select(m.id)
                .where(m.state.in_(table.open_states), table.col(table.due) <= due,
                       m.lease_until < t, *where)
                .order_by(table.col(table.due), m.id)
                .limit(1).with_for_update(skip_locked=True).scalar_subquery())
        stmt = (update(m).where(m.id == pick)
                .values(state=table.held, lease_owner=owner, lease_until=t + lease_seconds,
                        attempts=m.attempts + 1)
                .returning(m.id, m.attempts, *(table.col(c) for c in [*extra, *returning]))
                .execution_options(synchronize_session=False))
        with write_session(cat) as s:
            row = s.execute(stmt).first()
            if row is None:
                return None
            values = row._asdict()
            limit = int(values[table.max_attempts_column]) if table.max_attempts_column \
                else max_attempts
            group = str(values[table.group_column] or "") if table.group_column else ""
            if row.attempts <= limit:
                ids: tuple[int, ...] = (int(row.id),)
                if group:
                    ids = _lease_group(s, table, group, owner, t + lease_seconds, row.attempts)
                return Lease(ids, owner, row.attempts, t + lease_seconds, group,
                             {c: values[c] for c in [*extra, *returning]})
            # Every holder died before settling it: a dead letter.
            same = m.id == row.id
            if group:
                same = or_(same, and_(table.col(table.group_column or "") == group,
                                      m.state.in_(table.open_states)))
            dead: dict[str, Any] = {"state": table.dead, "lease_owner": "", "lease_until": 0.0,
                                    "last_error": f"lease expired on all {limit} attempts"}
            if table.finished_column:
                dead[table.finished_column] = t
            s.execute(update(m).where(same).values(**dead)
                      .execution_options(synchronize_session=False))
        log.warning("dead letter: every lease expired", table=m.__tablename__, id=row.id)


def _lease_group(s: Session, table: LeaseTable, group: str, owner: str, until: float,
                 token: int) -> tuple[int, ...]:
    m, gcol = table.model, table.col(table.group_column or "")
    s.execute(update(m).where(gcol == group, m.state.in_(table.open_states))
              .values(state=table.held, lease_owner=owner, lease_until=until, attempts=token)
              .execution_options(synchronize_session=False))
    return tuple(s.scalars(select(m.id).where(gcol == group, m.lease_owner == owner,
                                              m.attempts == token, m.state == table.held)
                           .order_by(m.id)))


def fenced(table: LeaseTable, lease: Lease) -> Any:
    """The rows ``lease`` still holds (none once it was lost)."""
    m = table.model
    return and_(m.id.in_(lease.ids), m.lease_owner == lease.owner, m.attempts == lease.token,
                m.state == table.held)


def settle(s: Session, table: LeaseTable, lease: Lease, state: str, **values: Any) -> bool:
    """In the caller's write transaction: put the held rows in ``state`` with ``values`` and
    end the lease. False (and nothing written) when the lease was lost."""
    res = s.execute(update(table.model).where(fenced(table, lease))
                    .values(state=state, lease_owner="", lease_until=0.0, **values)
                    .execution_options(synchronize_session=False))
    return bool(getattr(res, "rowcount", 0))


def after_failure(table: LeaseTable, lease: Lease, error: str, *, max_attempts: int,
                  retry_base: float, retry_max: float, retry: bool = True,
                  delay: float | None = None, clock: Clock = SYSTEM
                  ) -> tuple[str, dict[str, Any]]:
    """What a failed attempt becomes: ``(state, values)`` for :func:`settle`.

    Dead when ``retry`` is False or this was the last attempt; else waiting again, due
    after ``delay`` (default: :func:`backoff_delay` of the attempt number)."""
    t = clock.now()
    values: dict[str, Any] = {"last_error": error[:2000]}
    if not retry or lease.token >= max_attempts:
        if table.finished_column:
            values[table.finished_column] = t
        return table.dead, values
    if delay is None:
        delay = backoff_delay(lease.token, retry_base, retry_max)
    values[table.due] = t + delay
    return table.waiting, values


def extend(cat: Catalog, table: LeaseTable, lease: Lease, seconds: float, *,
           clock: Clock = SYSTEM) -> bool:
    """Push the lease forward (a heartbeat); False when it was lost."""
    with write_session(cat) as s:
        res = s.execute(update(table.model).where(fenced(table, lease))
                        .values(lease_until=clock.now() + seconds)
                        .execution_options(synchronize_session=False))
        return bool(getattr(res, "rowcount", 0))


@contextmanager
def heartbeat(cat: Catalog, table: LeaseTable, lease: Lease | Sequence[Lease],
              seconds: float) -> Iterator[None]:
    """Keep extending ``lease`` (or each of several) from a thread, every third of
    ``seconds``, while the body runs."""
    held = [lease] if isinstance(lease, Lease) else list(lease)

    def extend_all() -> bool:
        alive = [x for x in held if extend(cat, table, x, seconds)]
        for lost in (x for x in held if x not in alive):
            log.warning("lease lost", table=table.model.__tablename__, ids=lost.ids)
        held[:] = alive
        return bool(alive)

    with keep_alive(extend_all, seconds, f"lease-{held[0].ids[0] if held else 0}"):
        yield


@contextmanager
def keep_alive(extend_fn: Callable[[], bool], seconds: float, name: str) -> Iterator[None]:
    """Call ``extend_fn`` from a thread every third of ``seconds`` while the body runs,
    until it returns False (what it held was lost). Its errors are logged, not raised: a
    heartbeat must not kill the worker."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(seconds / 3.0):
            try:
                if not extend_fn():
                    return
            except Exception as exc:  # noqa: BLE001 - a heartbeat must not kill the worker
                log.warning("heartbeat failed", name=name, error=str(exc))

    thread = threading.Thread(target=beat, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
