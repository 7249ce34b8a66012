"""Crawl limit breaches, one row per crawl, platform and kind (page_limit, page_too_large,
redirect_limit, redirect_loop, image_too_large: see crawler/errors.py).

Written by :func:`crawler.health.record_crawl` beside the adapter health sample of the
same crawl; read by ``likewatch status``. A table of its own, so adding it needs no change
to an existing table. Names are storage keys.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from likewatch.catalog.base import Base, UTCDateTime, utcnow


class CrawlLimitBreach(Base):
    __tablename__ = "crawl_limit_breaches"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(50), index=True)
    watch: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(50))
    count: Mapped[int] = mapped_column(Integer, default=0)
