"""Run one crawl in a subprocess and return its summary.

Scrapy's Twisted reactor cannot be restarted within a process, and the scheduler daemon
crawls again and again, so :func:`crawl` starts ``python -m crawler.run`` for each crawl.
The child prints ``PROGRESS {json}`` lines while it runs and one ``SUMMARY {json}`` line at
the end; the parent hands progress to its callback and returns the summary:

    {"pages", "items_new", "items_seen", "thumbnails", "videos", "bytes",
     "errors": {kind: count}, "platform", "watch", "duration_s", ...}
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from crawler.platforms import get_adapter
from crawler.platforms.base import AdapterError
from crawler.state import default_watch_key
from likewatch import log, netguard, settings

MODES = ("listing", "search", "api")
ProgressCallback = Callable[[dict[str, Any]], None]


class CrawlError(Exception):
    """The crawl could not run, or its subprocess failed. The message is one line (what
    failed: a dependency is named); ``tail`` holds the child's last log lines, which are
    logged at DEBUG (``likewatch -v`` shows them)."""

    def __init__(self, message: str, tail: Sequence[str] = (), dependency: bool = False) -> None:
        super().__init__(message)
        self.tail = list(tail)
        self.dependency = dependency


def check_start(url: str, platform: str, mode: str) -> None:
    """Refuse early, with a clear message, what the crawl would refuse anyway.

    Raises AdapterError (unknown platform or mode) or netguard.BlockedURL (a private or
    loopback start URL not in ``allow_private_hosts``).
    """
    adapter = get_adapter(platform)
    if mode not in MODES or mode not in adapter.MODES:
        raise AdapterError(f"platform {platform!r} has no mode {mode!r} (has {', '.join(adapter.MODES)})")
    try:
        netguard.check_url(url)
    except netguard.BlockedURL as exc:
        raise netguard.BlockedURL(
            f"refusing to crawl {url}: {exc} (for a local sandbox set "
            "LIKEWATCH_ALLOW_PRIVATE_HOSTS=127.0.0.1 or allow_private_hosts in config.yaml)"
        ) from exc


def crawl(
    url: str,
    *,
    platform: str = "sandbox",
    mode: str = "listing",
    query: str = "",
    watch: str | None = None,
    max_pages: int | None = None,
    progress: ProgressCallback | None = None,
    timeout: float | None = None,
    echo_log: bool = False,
    extra_settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one crawl in a subprocess; return its summary dict (see the module docstring).

    ``extra_settings`` are Scrapy settings for the child (tests and benchmarks use them).
    Raises AdapterError / netguard.BlockedURL before starting, CrawlError when it fails.
    """
    check_start(url, platform, mode)
    watch = watch or default_watch_key(platform, mode, url, query)
    cmd = [
        sys.executable, "-m", "crawler.run",
        "--url", url, "--platform", platform, "--mode", mode, "--query", query,
        "--watch", watch,
    ]
    if max_pages:
        cmd += ["--max-pages", str(max_pages)]
    if extra_settings:
        cmd += ["--settings-json", json.dumps(extra_settings)]
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        errors="replace", env=env,
    )
    tail: collections.deque[str] = collections.deque(maxlen=30)

    def drain_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            tail.append(line.rstrip())
            if echo_log:
                sys.stderr.write(line)

    reader = threading.Thread(target=drain_stderr, daemon=True)
    reader.start()
    killer: threading.Timer | None = None
    if timeout:
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
    summary: dict[str, Any] | None = None
    failed: dict[str, Any] | None = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("PROGRESS ") and progress is not None:
                progress(json.loads(line[len("PROGRESS "):]))
            elif line.startswith("SUMMARY "):
                summary = json.loads(line[len("SUMMARY "):])
            elif line.startswith("FAILED "):
                failed = json.loads(line[len("FAILED "):])
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if killer is not None:
            killer.cancel()
        reader.join(timeout=5)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    if rc != 0 or summary is None:
        log.get_logger(__name__).debug("crawl subprocess failed", url=url, rc=rc,
                                       log_tail="\n".join(tail))
        if failed is not None:
            raise CrawlError(f"crawl of {url} failed: {failed['error']}", tail,
                             bool(failed.get("dependency")))
        last = next((t.strip() for t in reversed(tail) if t.strip()), "no output")
        raise CrawlError(f"crawl of {url} failed (exit status {rc}): {last[:300]}", tail)
    summary["duration_s"] = round(time.monotonic() - started, 2)
    return summary


# --- the child process -------------------------------------------------------------------
def scrapy_settings(
    browser: bool, extra: dict[str, Any] | None = None, scheme: str = "https",
    proxy: str | None = None,
) -> Any:
    """Scrapy settings: crawler/settings.py, then the Likewatch registry, then ``extra``.

    With ``browser``, scrapy-playwright handles ``scheme`` (the start URL's: only the pages
    rendered in the browser need it, and each handler starts its own Playwright driver).
    ``proxy``: the address guard's proxy (likewatch.guardproxy) Chromium connects through.
    """
    from scrapy.settings import Settings

    s = Settings()
    s.setmodule("crawler.settings", priority="project")
    s.set("USER_AGENT", settings.get("user_agent"), priority="project")
    # crawl limits (docs/crawling.md): a page is cut at crawl_page_max_bytes (media
    # requests carry media_max_bytes and their own timeout), redirect hops, pages per crawl
    s.set("DOWNLOAD_MAXSIZE", int(settings.get("crawl_page_max_bytes")), priority="project")
    s.set("REDIRECT_MAX_TIMES", int(settings.get("crawl_max_redirects")), priority="project")
    s.set("LIKEWATCH_CRAWL_MAX_PAGES", int(settings.get("crawl_max_pages")), priority="project")
    launch = dict(s.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"))
    launch["executable_path"] = settings.get("chromium_path")
    if proxy:
        launch["proxy"] = {"server": proxy}
    s.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch, priority="project")
    for setting in settings.all_settings():  # retries, pacing, progress: LIKEWATCH_<NAME>
        if setting.scrapy:
            s.set(setting.env_var, settings.get(setting.name), priority="project")
    if browser:
        handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
        s.set("DOWNLOAD_HANDLERS", {scheme: handler}, priority="project")
    for key, value in (extra or {}).items():
        s.set(key, value, priority="cmdline")
    return s


def main(argv: Sequence[str] | None = None) -> int:
    """The child: run the crawl and print SUMMARY, or FAILED {"error", "dependency"} (one
    line naming a failed dependency, likewatch/failures.py) with the traceback on stderr."""
    try:
        return _child(argv)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        from likewatch import failures

        what = failures.dependency_failure(exc)
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        error = what or f"{type(exc).__name__}: {first}"
        sys.stdout.write("FAILED " + json.dumps({"error": error, "dependency": bool(what)},
                                                ensure_ascii=False) + "\n")
        sys.stdout.flush()
        import traceback

        traceback.print_exc()
        return 3 if what else 1


def _child(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.run")
    parser.add_argument("--url", required=True)
    parser.add_argument("--platform", default="sandbox")
    parser.add_argument("--mode", default="listing", choices=MODES)
    parser.add_argument("--query", default="")
    parser.add_argument("--watch", default=None)
    parser.add_argument("--max-pages", type=int, default=None)
    parser.add_argument("--settings-json", default=None)
    args = parser.parse_args(argv)

    from scrapy.crawler import CrawlerProcess

    from crawler.errors import count_error
    from crawler.extensions import counts
    from crawler.spiders.adapter import AdapterSpider
    from likewatch.catalog import Catalog
    from likewatch.guardproxy import GuardProxy

    Catalog.open().close()  # a catalog that is down fails here, named, not inside Scrapy

    adapter = get_adapter(args.platform)
    browser = adapter.NEEDS_BROWSER or (args.mode == "search" and adapter.SEARCH_NEEDS_BROWSER)
    extra = json.loads(args.settings_json) if args.settings_json else None
    started = time.monotonic()
    scheme = "http" if args.url.startswith("http:") else "https"
    # Chromium makes its own connections (redirects and WebSockets included): each one
    # passes the address guard in this proxy, which connects to the checked address.
    guard_proxy = GuardProxy().start() if browser else None
    scrapy_conf = scrapy_settings(browser, extra, scheme,
                                  proxy=guard_proxy.url if guard_proxy else None)
    # Scrapy's lines and ours in one format (stderr; the parent keeps the tail for errors)
    log.configure(settings.get("log_format"), str(scrapy_conf.get("LOG_LEVEL", "WARNING")))
    process = CrawlerProcess(scrapy_conf, install_root_handler=False)
    crawler = process.create_crawler(AdapterSpider)
    process.crawl(
        crawler, url=args.url, platform=args.platform, mode=args.mode, query=args.query,
        watch=args.watch, max_pages=args.max_pages,
    )
    process.start()
    assert crawler.stats is not None
    if guard_proxy is not None:
        guard_proxy.stop()
        if guard_proxy.refused_total:
            count_error(crawler.stats, "blocked_url", guard_proxy.refused_total)
    stats = crawler.stats.get_stats()
    summary = counts(stats)
    summary.update(
        platform=args.platform,
        watch=args.watch or default_watch_key(args.platform, args.mode, args.url, args.query),
        mode=args.mode,
        finish_reason=stats.get("finish_reason", ""),
        elapsed_s=round(float(stats.get("elapsed_time_seconds", 0.0)), 3),  # spider open..close
        crawl_s=round(time.monotonic() - started, 2),
    )
    sys.stdout.write("SUMMARY " + json.dumps(summary, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
