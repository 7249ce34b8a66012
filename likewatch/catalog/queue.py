"""Work-layer tables: the durable work queue, watches, platform health, cursors, turns
and the crawled hosts' shared politeness budgets.

Times used for scheduling are stored as float Unix seconds (the work layer's clock,
``likewatch/work/clock.py``) so the claim statement can compare them in plain SQL on every
backend. Table and column names are storage keys (``scheduler_cursors`` keeps its name).
The code that works on them is ``likewatch/work/``.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from likewatch.catalog.base import Base


def now_s() -> float:
    return time.time()


class QueueJob(Base):
    """One unit of work handed between roles (crawl a watch, back-search a person, ...).

    ``key`` makes enqueueing idempotent; ``state`` goes ready -> leased -> done, or back to
    ready after a failure (with ``available_at`` in the future), or dead after
    ``max_attempts``. A leased job whose ``lease_until`` has passed is claimable again.
    """

    __tablename__ = "work_queue"
    __table_args__ = (Index("ix_work_queue_claim", "queue", "state", "available_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(300), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="ready")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    available_at: Mapped[float] = mapped_column(Float, default=now_s)
    lease_owner: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[float] = mapped_column(Float, default=0.0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now_s)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Watch(Base):
    """What to crawl, how often, for which client. Watches are data, not code."""

    __tablename__ = "watches"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    platform: Mapped[str] = mapped_column(String(50))
    url: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(20), default="listing")  # listing | search | api
    query: Mapped[str] = mapped_column(Text, default="")
    every: Mapped[float] = mapped_column(Float, default=900.0)
    max_pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A schedule window (scheduler/watches.py): a crontab expression whose fire times are
    # crawls on top of ``every`` (e.g. "*/10 0-5 * * *": every 10 minutes after midnight,
    # when re-uploads cluster), read in ``cron_tz``. "" for none.
    cron: Mapped[str] = mapped_column(Text, default="", server_default="")
    cron_tz: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_due_at: Mapped[float] = mapped_column(Float, default=now_s)
    last_run_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_status: Mapped[str] = mapped_column(String(20), default="")
    last_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now_s)

    @property
    def key(self) -> str:
        """The crawler's checkpoint key for this watch."""
        return f"{self.platform}:{self.mode}:{self.url}:{self.query}"


class PlatformHealth(Base):
    """Per-platform crawl health: consecutive failures and the backoff they caused."""

    __tablename__ = "platform_health"
    platform: Mapped[str] = mapped_column(String(50), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    backoff_until: Mapped[float] = mapped_column(Float, default=0.0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_ok_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_failure_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class SchedulerCursor(Base):
    """A named high-water mark (e.g. the last MatchRow id turned into alerts)."""

    __tablename__ = "scheduler_cursors"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class WorkTurn(Base):
    """A piece of work one process at a time may do (the indexer's tick): its turn is held
    by ``owner`` until ``until`` (a lease, extended while the work runs; a holder that died
    lets go when it expires). ``token`` counts the turns taken: the fencing token."""

    __tablename__ = "work_turns"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), default="")
    until: Mapped[float] = mapped_column(Float, default=0.0)
    token: Mapped[int] = mapped_column(Integer, default=0)


class HostBudget(Base):
    """The politeness budget of one crawled host (``host:port``), shared by every crawler
    process (``likewatch/work/budget.py``): when its next request may start, and until when
    a Retry-After paused it (clock seconds); ``pauses`` counts the pauses."""

    __tablename__ = "host_budgets"
    host: Mapped[str] = mapped_column(String(300), primary_key=True)
    next_start: Mapped[float] = mapped_column(Float, default=0.0)
    paused_until: Mapped[float] = mapped_column(Float, default=0.0)
    pauses: Mapped[int] = mapped_column(Integer, default=0)
