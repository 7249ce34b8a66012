"""Provenance of each candidate's media: AI-content labels (GB 45438, C2PA, the platform's
own flag), filled by the matcher where the media are hashed (matchers/provenance/record.py).

One table (names and columns are storage keys: add, never rename):

- ``candidate_provenance``: one row per candidate; the summary columns say what the strongest
  finding was (``ai_label`` "1"/"2"/"3" or NULL, the producer, C2PA's signer and whether C2PA
  declares AI generation), ``media`` holds what each file said
  (``{"thumbnail": {...}, "video": {...}}``, the ``provenance`` objects of
  ``likewatch scan --json``). ``platform_flag`` is the platform's own AI-content flag as the
  adapter gave it (``CandidateItem.ai_flag``, ``"<key>=<value>"``, docs/platforms.md),
  stored by the crawler when it keeps the candidate (:func:`set_platform_flag`); reading the
  media again never changes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from likewatch.catalog.base import Base, UTCDateTime, utcnow


class CandidateProvenance(Base):
    """What a candidate's media say about their origin."""

    __tablename__ = "candidate_provenance"
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    ai_label: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    producer: Mapped[str] = mapped_column(Text, default="")
    propagator: Mapped[str] = mapped_column(Text, default="")
    c2pa_signer: Mapped[str] = mapped_column(Text, default="")
    c2pa_ai: Mapped[bool] = mapped_column(Boolean, default=False)
    platform_flag: Mapped[Any] = mapped_column(JSON, nullable=True)
    media: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def summary(self) -> dict[str, Any]:
        """The ``provenance`` object shown with a match (same keys as ``scan --json``)."""
        c2pa = next((m["c2pa"] for m in self.media.values()
                     if isinstance(m, dict) and m.get("c2pa")), None)
        label = next((m["label"] for m in self.media.values()
                      if isinstance(m, dict) and m.get("label")), None)
        return {"ai_label": self.ai_label, "producer": self.producer or None,
                "propagator": self.propagator or None, "c2pa": c2pa,
                "platform_flag": self.platform_flag, "label": label,
                "checked_at": self.checked_at.isoformat().replace("+00:00", "Z")}


def set_platform_flag(session: Session, candidate_id: int, flag: str | None) -> None:
    """Record the platform's AI-content flag of a candidate (None: the page said nothing)."""
    if flag is None:
        return
    row = session.get(CandidateProvenance, candidate_id)
    if row is None:
        row = CandidateProvenance(candidate_id=candidate_id, media={})
        session.add(row)
    row.platform_flag = flag


def provenance_summary(session: Session, candidate_id: int) -> dict[str, Any] | None:
    """The provenance shown with candidate ``candidate_id``'s matches; None when its media
    have not been checked yet."""
    row = session.get(CandidateProvenance, candidate_id)
    return row.summary() if row is not None else None
