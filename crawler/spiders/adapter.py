"""AdapterSpider: runs any platform adapter from a start URL. Thin: it only fetches.

fetch page -> ``adapter.parse(url, body)`` -> yield items, follow ``detail_urls`` (unless the
catalog already knows the item), ``next_url`` and ``next_cursor``. Search pages are rendered
by Chromium through scrapy-playwright when the adapter says so; everything else is plain HTTP.

Incremental:
- detail pages of items already in the catalog are never requested (counted ``items_seen``);
- listing mode: once a listing crawl has reached the last page (checkpoint ``complete``), a
  later crawl stops following pagination at the first page holding nothing new;
- api mode: the checkpoint keeps the last cursor, and the next crawl starts from it.

Limits: at most ``LIKEWATCH_CRAWL_MAX_PAGES`` pages are requested per crawl (setting
``crawl_max_pages``; endless pagination ends there), counted ``page_limit``; a page cut
off at the download size limit is counted ``page_too_large``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure

from crawler.errors import count_error
from crawler.health import detect_challenge
from crawler.items import CrawlResult
from crawler.platforms import get_adapter
from crawler.platforms.base import Adapter, AdapterError, NoData
from crawler.state import default_watch_key, load_checkpoint, save_checkpoint, seen_ids
from likewatch.catalog import Catalog


class AdapterSpider(scrapy.Spider):
    name = "adapter"

    def __init__(
        self,
        url: str = "",
        platform: str = "sandbox",
        mode: str = "listing",
        query: str = "",
        watch: str | None = None,
        max_pages: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not url:
            raise ValueError("AdapterSpider needs a start url")
        self.start_from = url
        self.platform = platform
        self.mode = mode
        self.query = query
        self.watch = watch or default_watch_key(platform, mode, url, query)
        self.max_pages = int(max_pages) if max_pages not in (None, "", 0, "0") else None
        self.adapter: Adapter = get_adapter(platform)()
        self.index_pages = 0  # listing / feed / search pages requested (max_pages counts these)
        self.requested_ids: set[str] = set()
        self.failed_ids: set[str] = set()  # detail pages that did not parse in this crawl
        self.given_up: set[str] = set()  # ... in too many earlier crawls: not asked again
        self.yielded_ids: set[str] = set()
        self.checkpoint: dict[str, Any] = {}
        self.cursor: str | None = None
        self.listing_complete = False
        self.catalog: Catalog | None = None
        self.pages_requested = 0  # every page request (index and detail), for the limit
        self.page_limit_hit = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> AdapterSpider:
        spider: AdapterSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.catalog = Catalog.open()
        crawler.signals.connect(spider.item_error, signal=scrapy.signals.item_error)
        return spider

    def item_error(self) -> None:
        """An item pipeline raised (not DropItem): that item is lost; counted ``item_error``."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("likewatch/item_errors")

    # --- requests ------------------------------------------------------------------------
    def _page_allowed(self) -> bool:
        """One more page request within ``LIKEWATCH_CRAWL_MAX_PAGES``? Counted once when not."""
        limit = self.crawler.settings.getint("LIKEWATCH_CRAWL_MAX_PAGES", 0)
        if limit and self.pages_requested >= limit:
            if not self.page_limit_hit:
                self.page_limit_hit = True
                assert self.crawler.stats is not None
                count_error(self.crawler.stats, "page_limit")
                self.logger.warning("page limit of %d pages reached: not following more", limit)
            return False
        self.pages_requested += 1
        return True

    def _index_request(self, url: str, *, browser: bool = False) -> scrapy.Request:
        self.index_pages += 1
        meta: dict[str, Any] = {"lw_index": True}
        if browser:
            from scrapy_playwright.page import PageMethod

            ready = self.adapter.BROWSER_READY
            wait = (
                PageMethod("wait_for_function", ready, timeout=20_000)
                if ready
                else PageMethod("wait_for_load_state", "networkidle")
            )
            meta.update(playwright=True, playwright_page_methods=[wait])
        return scrapy.Request(url, callback=self.parse_page, errback=self.on_error, meta=meta)

    def _may_follow(self) -> bool:
        return self.max_pages is None or self.index_pages < self.max_pages

    async def start(self) -> AsyncIterator[Any]:
        assert self.catalog is not None
        self.checkpoint = load_checkpoint(self.catalog, self.watch)
        limit = self.crawler.settings.getint("LIKEWATCH_MAX_PARSE_ATTEMPTS", 3)
        failures = self.checkpoint.get("parse_failures") or {}
        self.given_up = {i for i, n in failures.items() if limit > 0 and n >= limit}
        self.cursor = self.checkpoint.get("cursor") if self.mode == "api" else None
        url = self.adapter.start_url(self.start_from, self.mode, query=self.query, cursor=self.cursor)
        browser = self.adapter.NEEDS_BROWSER or (
            self.mode == "search" and self.adapter.SEARCH_NEEDS_BROWSER
        )
        self.pages_requested += 1
        yield self._index_request(url, browser=browser)

    # --- responses -----------------------------------------------------------------------
    def parse_page(self, response: Response) -> Iterator[Any]:
        assert self.catalog is not None
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("likewatch/pages")
        stats.inc_value("likewatch/pages/" + ("index" if response.meta.get("lw_index") else "detail"))
        body = (
            response.text
            if isinstance(response, TextResponse)
            else response.body.decode("utf-8", "replace")
        )
        try:
            page = self.adapter.parse(response.url, body)
        except AdapterError as exc:
            if isinstance(exc, NoData) or self._challenged(response, body):
                if isinstance(exc, NoData):  # a page with no data at all: a challenge
                    count_error(stats, exc.kind)
                    self.logger.warning("challenged (no data): %s", exc)
                return
            count_error(stats, exc.kind)
            self.logger.warning("%s: %s", exc.kind, exc)
            item_id = None if response.meta.get("lw_index") else self._item_id(response.url)
            if item_id:
                self.failed_ids.add(item_id)
            return
        if not (page.items or page.detail_urls or page.next_url or page.next_cursor or page.errors) \
                and self._challenged(response, body):
            return
        if page.shape:
            stats.inc_value(f"likewatch/shapes/{page.shape}")
        for err in page.errors:
            count_error(stats, err.kind)
            self.logger.warning("%s: %s", err.kind, err)

        new = 0
        known = seen_ids(self.catalog, self.platform, [i.item_id for i in page.items])
        for item in page.items:
            if item.item_id in known or item.item_id in self.yielded_ids:
                stats.inc_value("likewatch/items_seen")
                continue
            self.yielded_ids.add(item.item_id)
            new += 1
            yield CrawlResult(candidate=item, watch=self.watch)

        pairs = [(u, self._item_id(u)) for u in page.detail_urls]
        known = seen_ids(self.catalog, self.platform, [i for _, i in pairs if i])
        for url, item_id in pairs:
            if item_id and item_id in known:
                stats.inc_value("likewatch/items_seen")
                continue
            if item_id and item_id in self.given_up:
                stats.inc_value("likewatch/items_given_up")
                continue
            if item_id:
                if item_id in self.requested_ids:
                    continue
                self.requested_ids.add(item_id)
            new += 1
            if self._page_allowed():
                yield scrapy.Request(url, callback=self.parse_page, errback=self.on_error)

        nothing_new = new == 0 and bool(page.items or page.detail_urls)
        if page.next_url:
            if nothing_new and self.checkpoint.get("complete"):
                stats.inc_value("likewatch/stopped_at_known_page")
            elif self._may_follow() and self._page_allowed():
                yield self._index_request(page.next_url)
        elif response.meta.get("lw_index") and self.mode == "listing":
            self.listing_complete = True
        if page.next_cursor:
            self.cursor = page.next_cursor
            if self._may_follow() and self._page_allowed():
                yield self._index_request(self.adapter.cursor_url(response.url, page.next_cursor))

    def _challenged(self, response: Response, body: str) -> bool:
        """A page that gave nothing, answered 200 but is a captcha or verify page: counted
        as ``challenged`` (adapter health reads it as "the site refused us"), not as a
        parse error, so the item is asked for again by the next crawl without counting
        towards giving up on it."""
        why = detect_challenge(self.adapter, response.status, body)
        if why is None:
            return False
        stats = self.crawler.stats
        assert stats is not None
        count_error(stats, "challenged")
        self.logger.warning("challenged (%s): %s", why, response.url)
        return True

    def _item_id(self, url: str) -> str | None:
        if not self.adapter.suitable(url):
            return None
        try:
            return self.adapter.match_id(url)
        except AdapterError:
            return None

    def on_error(self, failure: Failure) -> None:
        """Counts failed page requests not already counted by a middleware."""
        stats = self.crawler.stats
        assert stats is not None
        if isinstance(failure.value, HttpError):
            status = failure.value.response.status
            retried = self.crawler.settings.getlist("RETRY_HTTP_CODES")
            if str(status) not in {str(c) for c in retried}:  # retried ones: retry_exhausted
                count_error(stats, f"http_{status}")
        elif isinstance(failure.value, (DownloadCancelledError, CancelledError)):
            # cut off at DOWNLOAD_MAXSIZE (crawl_page_max_bytes): too large, or endless
            count_error(stats, "page_too_large")
        self.logger.info("page failed: %s", failure.getErrorMessage())

    # --- end -----------------------------------------------------------------------------
    def closed(self, reason: str) -> None:
        if self.catalog is None:
            return
        state = dict(self.checkpoint)
        state["runs"] = int(state.get("runs", 0)) + 1
        state["last_run"] = dt.datetime.now(dt.UTC).isoformat()
        state["last_reason"] = reason
        if self.failed_ids:
            # items whose page never parses are asked for again only a few times
            failures = dict(state.get("parse_failures") or {})
            for item_id in self.failed_ids:
                failures[item_id] = int(failures.get(item_id, 0)) + 1
            state["parse_failures"] = dict(list(failures.items())[-5000:])
        if reason == "finished":
            if self.mode == "api" and self.cursor:
                state["cursor"] = self.cursor
            if self.listing_complete:
                state["complete"] = True
        save_checkpoint(self.catalog, self.watch, state)
        self.catalog.close()
