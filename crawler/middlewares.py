"""Downloader middlewares: the URL guard, retries with Retry-After and backoff, slowness,
and per-host pacing (robots.txt Crawl-delay, a host-wide pause after a 429).

All are built with ``from_crawler`` and switch themselves off with ``NotConfigured``.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotConfigured,
)
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import CancelledError
from twisted.internet.error import DNSLookupError
from twisted.internet.error import TimeoutError as TwistedTimeoutError

from crawler.errors import count_error
from crawler.resolver import refused_reason
from likewatch import netguard
from likewatch.work.budget import SharedPacing, parse_rates


class URLGuardMiddleware:
    """Refuses every request whose host resolves to a private or loopback address.

    The allow-list is the ``allow_private_hosts`` setting (``LIKEWATCH_ALLOW_PRIVATE_HOSTS``);
    nothing else opens the guard. A refused request raises IgnoreRequest and is counted as
    ``blocked_url``. It cannot be switched off (its old off-switch, a Scrapy setting that
    nothing set and no registry declared, is gone). This is the early check, for counting;
    the one that holds at connection time (redirects included) is
    crawler.resolver.GuardedResolver.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.allow = netguard.AllowList.from_settings()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> URLGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        try:
            netguard.check_url(request.url, self.allow)
        except netguard.BlockedURL as exc:
            count_error(self.crawler.stats, "blocked_url")
            raise IgnoreRequest(f"blocked: {exc}") from exc


_browser_allow: netguard.AllowList | None = None
_BROWSER_SKIPPED_TYPES = {"image", "media", "font"}


def playwright_abort_request(request: Any) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: the guard for the browser's own requests (scripts, XHR).

    Also skips images, media and fonts, which the search pages do not need to render links.
    """
    global _browser_allow
    if _browser_allow is None:
        _browser_allow = netguard.AllowList.from_settings()
    if request.resource_type in _BROWSER_SKIPPED_TYPES:
        return True
    try:
        netguard.check_url(request.url, _browser_allow)
    except netguard.BlockedURL:
        return True
    return False


class _CountedRedirects:
    """Redirect hops counted by name: a hop back to a URL of the request's own chain is
    ``redirect_loop`` (refused at once); more than ``REDIRECT_MAX_TIMES`` hops is
    ``redirect_limit``. Scrapy's own middlewares only log these at DEBUG, so a start URL
    that loops ended a crawl with ``pages 0, errors {}``. (Hooks Scrapy's
    ``BaseRedirectMiddleware._redirect``, the one place both kinds of redirect pass.)"""

    crawler: Crawler

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in chain:
            count_error(self.crawler.stats, "redirect_loop")
            raise IgnoreRequest(f"redirect loop: {' -> '.join([*chain, redirected.url])}")
        try:
            new: Request = super()._redirect(redirected, request, reason)  # type: ignore[misc]
        except IgnoreRequest:
            count_error(self.crawler.stats, "redirect_limit")
            raise
        return new


class LimitedRedirectMiddleware(_CountedRedirects, RedirectMiddleware):
    """Scrapy's RedirectMiddleware (3xx), with hops and loops counted."""


class LimitedMetaRefreshMiddleware(_CountedRedirects, MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware (<meta http-equiv=refresh>), with hops and loops counted."""


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class BackoffRetryMiddleware:
    """Retries transient failures, waiting as the server asks.

    A 429 or 503 with ``Retry-After`` waits that long (capped by LIKEWATCH_RETRY_AFTER_MAX);
    other retryable statuses and download errors wait an exponential backoff
    (LIKEWATCH_RETRY_BACKOFF_BASE × 2^(n-1), capped). Scrapy's own RetryMiddleware retries at
    once and ignores Retry-After, so it is replaced by this one in crawler/settings.py.
    Each retried status is counted as ``http_<status>``; giving up as ``retry_exhausted``.
    """

    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        if not s.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.max_retry_times = s.getint("RETRY_TIMES")
        self.codes = {int(c) for c in s.getlist("RETRY_HTTP_CODES")}
        self.base = s.getfloat("LIKEWATCH_RETRY_BACKOFF_BASE", 0.5)
        self.backoff_max = s.getfloat("LIKEWATCH_RETRY_BACKOFF_MAX", 30.0)
        self.retry_after_max = s.getfloat("LIKEWATCH_RETRY_AFTER_MAX", 120.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def backoff(self, request: Request) -> float:
        attempt = int(request.meta.get("retry_times", 0)) + 1
        return float(min(self.backoff_max, self.base * 2 ** (attempt - 1)))

    async def _retry(self, request: Request, reason: str, delay: float) -> Request | None:
        spider = self.crawler.spider
        assert spider is not None  # a request is retried only while its spider runs
        new = get_retry_request(
            request,
            spider=spider,
            reason=reason,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            stats_base_key="likewatch/retry",
        )
        if new is None:
            count_error(self.crawler.stats, "retry_exhausted")
            return None
        if delay > 0:
            # Scrapy's stats add any number; its annotation says int.
            self.crawler.stats.inc_value("likewatch/retry/wait_seconds", delay)  # type: ignore[arg-type]
            await asyncio.sleep(delay)
        return new

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.codes:
            return response
        count_error(self.crawler.stats, f"http_{response.status}")
        delay = retry_after_seconds(response.headers.get(b"Retry-After"))
        if delay is None:
            delay = self.backoff(request)
        else:
            delay = min(delay, self.retry_after_max)
        new = await self._retry(request, f"http_{response.status}", delay)
        return new if new is not None else response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if isinstance(exception, IgnoreRequest):
            return None
        if isinstance(exception, DNSLookupError):
            parts = urlparse_cached(request)
            port = parts.port or netguard.DEFAULT_PORTS.get(parts.scheme, 80)
            reason = refused_reason(parts.hostname, port)
            if reason is not None:  # refused by the guard at connection time: never retried
                count_error(self.crawler.stats, "blocked_url")
                raise IgnoreRequest(f"blocked at connection: {reason}") from exception
        if isinstance(exception, (DownloadCancelledError, CancelledError)):
            return None  # over the size limit: not transient, handled by whoever asked
        kind = (
            "timeout"
            if isinstance(exception, (DownloadTimeoutError, TwistedTimeoutError, TimeoutError))
            else "connection_error"
        )
        count_error(self.crawler.stats, kind)
        if request.meta.get("dont_retry"):
            return None
        return await self._retry(request, kind, self.backoff(request))


class SlowResponseMiddleware:
    """Counts responses slower than LIKEWATCH_SLOW_RESPONSE_SECONDS as ``slow_response``."""

    def __init__(self, crawler: Crawler) -> None:
        self.threshold = crawler.settings.getfloat("LIKEWATCH_SLOW_RESPONSE_SECONDS", 0.0)
        if self.threshold <= 0:
            raise NotConfigured
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SlowResponseMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("playwright"):
            return response  # a rendered page's time is the browser's, not the server's
        latency = request.meta.get("download_latency")
        if latency is not None and latency > self.threshold:
            count_error(self.crawler.stats, "slow_response")
        return response


class HostPacingMiddleware:
    """Spaces requests to one host as its robots.txt asks, and pauses a host that said 429.

    - ``Crawl-delay`` (robots.txt, for our user agent or ``*``): requests to that host start
      at least that many seconds apart, whatever AutoThrottle would allow. Read from the
      parser Scrapy's RobotsTxtMiddleware builds (the ``robots_parsed`` signal), capped by
      ``LIKEWATCH_CRAWL_DELAY_MAX``.
    - A 429 or 503 with ``Retry-After`` pauses every request to that host, not just the one
      retried, until the time the server named (capped by ``LIKEWATCH_RETRY_AFTER_MAX``;
      off with ``LIKEWATCH_PAUSE_HOST_ON_429 = False``).
    - With ``LIKEWATCH_CRAWL_BUDGET_SHARED`` (the default through crawler.run), spacing (the
      Crawl-delay, ``crawl_rate_per_host``) and pauses hold for every crawler process
      together: the host's budget is in the catalog (likewatch/work/budget.py).

    Runs close to the downloader (after the URL guard and robots.txt), so its
    ``process_response`` sees the 429 before the retry middleware turns it into a retry.
    Waits are counted in ``likewatch/pacing/wait_seconds`` and pauses in
    ``likewatch/pacing/host_paused``.
    """

    def __init__(self, crawler: Crawler) -> None:
        from scrapy import signals

        s = crawler.settings
        self.crawler = crawler
        self.delay_max = s.getfloat("LIKEWATCH_CRAWL_DELAY_MAX", 60.0)
        self.pause_on_429 = s.getbool("LIKEWATCH_PAUSE_HOST_ON_429", True)
        self.retry_after_max = s.getfloat("LIKEWATCH_RETRY_AFTER_MAX", 120.0)
        self.user_agent = s.get("ROBOTSTXT_USER_AGENT") or s.get("USER_AGENT") or "*"
        self.crawl_delay: dict[str, float] = {}
        self.next_start: dict[str, float] = {}  # host -> earliest monotonic start time
        # crawl_budget_shared: spacing and pauses of every crawler process, in the catalog.
        self.shared = (SharedPacing(s.getfloat("LIKEWATCH_CRAWL_RATE_PER_HOST", 0.0),
                                    parse_rates(s.getlist("LIKEWATCH_CRAWL_HOST_RATES")))
                       if s.getbool("LIKEWATCH_CRAWL_BUDGET_SHARED") else None)
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostPacingMiddleware:
        return cls(crawler)

    @staticmethod
    def _host(request: Request) -> str:
        return urlparse_cached(request).netloc

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        try:
            delay = robotparser.crawl_delay(self.user_agent)
        except (AttributeError, TypeError, ValueError):  # no usable crawl-delay: nothing to honour
            delay = None
        if delay:
            self.crawl_delay[self._host(request)] = min(float(delay), self.delay_max)

    async def process_request(self, request: Request) -> None:
        host = self._host(request)
        if self.shared is not None:
            waited = await self.shared.wait(host, self.crawl_delay.get(host, 0.0))
            self.crawler.stats.inc_value("likewatch/pacing/wait_seconds", waited)  # type: ignore[arg-type]
            return
        now = time.monotonic()
        start = max(now, self.next_start.get(host, 0.0))
        # reserve this request's start at once, so concurrent requests queue up behind it
        self.next_start[host] = start + self.crawl_delay.get(host, 0.0)
        if start > now:
            # Scrapy's stats add any number; its annotation says int.
            wait = start - now
            self.crawler.stats.inc_value("likewatch/pacing/wait_seconds", wait)  # type: ignore[arg-type]
            await asyncio.sleep(start - now)

    def process_response(self, request: Request, response: Response) -> Response:
        if self.pause_on_429 and response.status in (429, 503):
            delay = retry_after_seconds(response.headers.get(b"Retry-After"))
            if delay:
                host = self._host(request)
                until = time.monotonic() + min(delay, self.retry_after_max)
                if self.shared is not None:
                    self.shared.pause(host, time.time() + min(delay, self.retry_after_max))
                if until > self.next_start.get(host, 0.0):
                    self.next_start[host] = until
                    self.crawler.stats.inc_value("likewatch/pacing/host_paused")
                self._hold_queued(request, until)
        return response

    def _hold_queued(self, request: Request, until: float) -> None:
        """Requests already queued in Scrapy's download slot for this host wait too: the
        slot sends nothing until ``lastseen + delay``, so ``lastseen`` moves to ``until``
        (the slot's own delay, from AutoThrottle, then comes on top)."""
        engine = self.crawler.engine
        if engine is None:
            return
        downloader = engine.downloader
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None and slot.lastseen < until:
            slot.lastseen = until
