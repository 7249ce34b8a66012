"""Scrapy settings of the Likewatch crawler (``scrapy.cfg`` points here).

Polite by default: robots.txt obeyed, AutoThrottle on, at most two requests at a time per
domain, an honest user agent (the ``user_agent`` setting of the registry). Deployment values
come from the Likewatch settings registry (environment / ``config.yaml``) and are applied by
:func:`crawler.run.scrapy_settings` on top of these module defaults.
"""

from __future__ import annotations

from likewatch import guardproxy  # lower case: Scrapy's setmodule takes upper-case names only

BOT_NAME = "likewatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# The asyncio reactor: scrapy-playwright needs it, and our components use asyncio.sleep.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# --- politeness ----------------------------------------------------------------------
ROBOTSTXT_OBEY = True
USER_AGENT = "LikewatchBot/0.1 (+https://likewatch.invalid/bot)"  # replaced from settings
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control opens an HTTP port that can run code in the crawler: off.
REMOTE_CONTROL_ENABLED = False
DOWNLOAD_TIMEOUT = 30
# The address guard where the downloader connects: every connection's host and port are
# resolved once, checked, and only the checked addresses are connected to.
TWISTED_DNS_RESOLVER = "crawler.resolver.GuardedResolver"

# --- retries: our own middleware (Retry-After and backoff) replaces Scrapy's ---------
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 408, 522, 524]
# Our components' own knobs (LIKEWATCH_RETRY_BACKOFF_BASE, LIKEWATCH_PAUSE_HOST_ON_429, ...)
# are settings of the Likewatch registry declared with scrapy=True
# (likewatch/settings_catalog.py, docs/settings.md): crawler.run.scrapy_settings sets each
# under its environment name, so there is one namespace and one place to declare them.

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    # redirects with their hops and loops counted (redirect_limit, redirect_loop)
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.LimitedMetaRefreshMiddleware": 580,
    "crawler.middlewares.LimitedRedirectMiddleware": 600,
    # Runs first on every request (lowest number): nothing private is ever fetched.
    "crawler.middlewares.URLGuardMiddleware": 50,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.SlowResponseMiddleware": 560,
    # Nearest the downloader: Crawl-delay spacing, and a host-wide pause after a 429.
    "crawler.middlewares.HostPacingMiddleware": 870,
}

ITEM_PIPELINES = {
    "crawler.pipelines.media.MediaPipeline": 300,
    "crawler.pipelines.catalog.CatalogPipeline": 800,
}

EXTENSIONS = {
    "crawler.extensions.ProgressExtension": 500,
}

# --- browser (search mode only: crawler.run installs the download handler then, for the
# start URL's scheme only: each handler starts its own Playwright driver) ----------------
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": "/usr/bin/chromium",  # replaced from the chromium_path setting
    "headless": True,
    "args": list(guardproxy.CHROMIUM_ARGS),
}
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 2
# Every request the browser itself makes (scripts, XHR) passes the same URL guard here, and
# every connection it makes (redirects, WebSockets) passes likewatch.guardproxy (crawler.run).
PLAYWRIGHT_ABORT_REQUEST = "crawler.middlewares.playwright_abort_request"

LOG_LEVEL = "WARNING"
FEED_EXPORT_ENCODING = "utf-8"
