"""Adapter health samples: one row per crawl (or per batch of pages) and platform.

Written by :mod:`crawler.health`; read by ``likewatch status``. Table and column names are
storage keys: add columns, never rename them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from likewatch.catalog.base import Base, UTCDateTime, utcnow


class AdapterHealthSample(Base):
    """What one crawl of one platform's adapter saw: pages, items, failures, challenges."""

    __tablename__ = "adapter_health_samples"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(50), index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    watch: Mapped[str] = mapped_column(String(200), default="")
    pages: Mapped[int] = mapped_column(Integer, default=0)  # pages fetched
    items: Mapped[int] = mapped_column(Integer, default=0)  # items parsed (new + seen)
    missing_fields: Mapped[int] = mapped_column(Integer, default=0)  # MissingField raised
    parse_errors: Mapped[int] = mapped_column(Integer, default=0)  # AdapterError raised
    challenged: Mapped[int] = mapped_column(Integer, default=0)  # captcha / verify / 403 / 429
