"""Alert tables: subscriptions, alerts (one per person x content item), the outbox, deliveries.

An alert's ``key`` is its idempotency key: derived from (client, person key, platform,
item id), so it is the same across retries, restarts and even a re-created row. The outbox
holds one row per (alert, subscription); delivery claims rows with a lease like the work
queue does. Times used for scheduling are float Unix seconds. Names are storage keys.
"""

from __future__ import annotations

import datetime as dt
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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from likewatch.catalog.base import Base, UTCDateTime, utcnow
from likewatch.secretbox import EncryptedText


def _now() -> float:
    return time.time()


class Subscription(Base):
    """Where a client's alerts go. ``person_id`` None: every person of the client."""

    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), nullable=True)
    # webhook | email | wecom | dingtalk | feishu | slack
    channel: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(Text)  # URL or e-mail address
    # webhook / chat-robot signing secret, encrypted at rest (likewatch/secretbox.py)
    secret: Mapped[str] = mapped_column(EncryptedText, default="")
    digest_minutes: Mapped[int] = mapped_column(Integer, default=0)  # 0: one message per alert
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    """A person's likeness found in one content item, however many frames/signals matched."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("person_id", "candidate_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    severity: Mapped[str] = mapped_column(String(10), default="medium")  # high | medium | low
    signal: Mapped[str] = mapped_column(String(50))  # the best (closest) signal
    distance: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    frame: Mapped[str] = mapped_column(String(50), default="")
    reference_id: Mapped[int | None] = mapped_column(ForeignKey("references.id"), nullable=True)
    # Every match behind it: [{"signal", "frame", "distance", "threshold", "reference_id"}]
    signals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="new")  # new | confirmed | dismissed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """One alert to deliver to one subscription: pending -> sent, or dead after N tries."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        UniqueConstraint("alert_id", "subscription_id"),
        Index("ix_alert_outbox_due", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, default=_now)
    lease_owner: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[float] = mapped_column(Float, default=0.0)
    # Digest channels: the batch this row was put in (fixed before sending, so a retry
    # sends the same batch under the same id).
    batch_key: Mapped[str] = mapped_column(String(80), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float, default=_now)
    sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Delivery(Base):
    """One delivery attempt (the log behind `likewatch alerts`)."""

    __tablename__ = "alert_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("alert_outbox.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[float] = mapped_column(Float, default=_now)
    ok: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(100), default="")  # HTTP status / SMTP reply
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
