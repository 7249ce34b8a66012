"""What people decided about alerts, and persons erased on request.

Two tables (names and columns are storage keys: add, never rename):

- ``review_decisions``: one row per decision on an alert (confirm, dismiss, allow-list
  the uploader, reopen), with who took it and when. Never updated: the alert's current
  ``status`` is the last decision's outcome.
- ``person_erasures``: a person removed with their biometric data; what was deleted and
  what was kept (and why) is recorded here, without any photo or embedding.

An alert's takedown is its complaint notice (``notices`` / ``notice_events``,
likewatch/catalog/notices.py). Catalogs made before that may hold an unused
``takedown_events`` table; nothing reads it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from likewatch.catalog.base import Base, UTCDateTime, utcnow


class ReviewDecision(Base):
    """A person's decision on an alert."""

    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    # confirm | dismiss | allow_list | reopen
    decision: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(320))  # user e-mail, or "cli:<login>"
    status_before: Mapped[str] = mapped_column(String(20), default="")
    status_after: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonErasure(Base):
    """A person erased on request: counts of what was deleted, and what was kept."""

    __tablename__ = "person_erasures"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(Integer, index=True)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    person_key: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(320))
    deleted: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    kept: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
