"""Takedown notices and what became of them (alerts/notices/outcomes.py changes them).

Two tables (names, columns and state names are storage keys: add, never rename):

- ``notices``: one complaint notice per (alert, platform). ``state`` is where it stands now
  (``drafted``, ``filed``, ``removed``, ``rejected``, ``counter_notice``, ``restored``) and
  since when; ``filed_at`` / ``removed_at`` are the first filing and the first removal after
  it, the two times the removal report measures between.
- ``notice_events``: every change of state, only ever inserted: from, to, when it happened
  (as told, e.g. the date on the platform's reply), when it was recorded, by whom, a note
  and a link (e.g. the re-upload that followed a restore).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from likewatch.catalog.base import Base, UTCDateTime, utcnow

NOTICE_STATES = ("drafted", "filed", "removed", "rejected", "counter_notice", "restored")


class Notice(Base):
    """One complaint notice: an alert's content reported to one platform."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("alert_id", "platform"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_no: Mapped[str] = mapped_column(String(80), unique=True)  # printed on the notice
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    platform: Mapped[str] = mapped_column(String(50))
    url: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="drafted")
    state_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    filed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reference: Mapped[str] = mapped_column(Text, default="")  # the platform's case number
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class NoticeEvent(Base):
    """One change of a notice's state (append-only history)."""

    __tablename__ = "notice_events"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # when it happened
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(320), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # A URL or alert key the change links to (e.g. the re-upload behind "restored").
    link: Mapped[str] = mapped_column(Text, default="")
