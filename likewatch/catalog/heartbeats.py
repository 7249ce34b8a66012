"""Role heartbeats: one row per daemon worker (a role in one process), written by the
daemon (``likewatch.work.heartbeat``), read by ``/api/health``, ``likewatch status`` and
``/metrics``. Table and column names are storage keys: add columns, never rename them.
Times are the work layer's clock (float Unix seconds).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from likewatch.catalog.base import Base


class RoleHeartbeat(Base):
    """The last sign of life of one worker: a role (crawler, matcher, ...) in one process."""

    __tablename__ = "role_heartbeats"
    worker: Mapped[str] = mapped_column(String(200), primary_key=True)  # the lease owner name
    role: Mapped[str] = mapped_column(String(50), index=True)
    started_at: Mapped[float] = mapped_column(Float)
    beat_at: Mapped[float] = mapped_column(Float)  # the process was alive then
    last_tick_at: Mapped[float | None] = mapped_column(Float, nullable=True)  # a tick ended
    last_tick_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_tick_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    ticks: Mapped[int] = mapped_column(Integer, default=0)
