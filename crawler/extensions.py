"""ProgressExtension: prints a progress line on stdout every LIKEWATCH_PROGRESS_INTERVAL s.

The line is ``PROGRESS {json}`` with the running counts; crawler.run's parent process reads
these and hands them to its ``progress`` callback.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler.errors import errors_from_stats


def counts(stats: dict[str, Any]) -> dict[str, Any]:
    """The running counts of a crawl from Scrapy's stats."""
    errors = errors_from_stats(stats)
    # counted by Scrapy itself: pages refused by robots.txt, bugs in callbacks / pipelines
    for kind, key in (("robots_disallowed", "robotstxt/forbidden"),
                      ("spider_exception", "spider_exceptions/count"),
                      ("item_error", "likewatch/item_errors")):
        value = int(stats.get(key, 0))
        if value:
            errors[kind] = value
    return {
        "pages": int(stats.get("likewatch/pages", 0)),
        "items_new": int(stats.get("likewatch/items_new", 0)),
        "items_seen": int(stats.get("likewatch/items_seen", 0)),
        "items_given_up": int(stats.get("likewatch/items_given_up", 0)),
        "thumbnails": int(stats.get("likewatch/thumbnails", 0)),
        "videos": int(stats.get("likewatch/videos", 0)),
        "bytes": int(stats.get("likewatch/bytes", 0)),
        "index_pages": int(stats.get("likewatch/pages/index", 0)),
        "detail_pages": int(stats.get("likewatch/pages/detail", 0)),
        "requests": int(stats.get("downloader/request_count", 0)),
        "retry_wait_s": round(float(stats.get("likewatch/retry/wait_seconds", 0.0)), 2),
        "pacing_wait_s": round(float(stats.get("likewatch/pacing/wait_seconds", 0.0)), 2),
        "host_paused": int(stats.get("likewatch/pacing/host_paused", 0)),
        "errors": errors,
    }


class ProgressExtension:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        interval = crawler.settings.getfloat("LIKEWATCH_PROGRESS_INTERVAL", 0.0)
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.emit)
        self.loop.start(self.interval, now=False)

    def spider_closed(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()

    def emit(self) -> None:
        assert self.crawler.stats is not None
        line = counts(self.crawler.stats.get_stats())
        line["elapsed_s"] = round(time.monotonic() - self.started, 1)
        sys.stdout.write("PROGRESS " + json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()
