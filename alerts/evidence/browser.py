"""One headless Chromium per process, driven by Playwright's sync API from its own thread.

Playwright's sync objects belong to the thread that made them, and they refuse to run in a
thread with a running asyncio loop. So the browser lives in a dedicated worker thread and
callers (a scheduler job, the CLI, an aiohttp handler via ``run_in_executor``) submit page
captures to it and wait: the browser starts once (about a second) and is reused.

Every request the page makes, sub-resources, redirects and WebSockets included, passes the
address guard where it connects: Chromium is launched behind a
:class:`likewatch.guardproxy.GuardProxy`, which checks each target (``allow_private_hosts``)
and connects to the checked address; a page cannot make the capturing browser reach a
private address, not even by a redirect. Playwright's request routing checks each request
too (it refuses other schemes early and records what was refused); the proxy's refusals,
redirect hops included, are added to ``blocked_requests``.
"""

from __future__ import annotations

import atexit
import json
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from likewatch import netguard, settings
from likewatch.guardproxy import CHROMIUM_ARGS, GuardProxy
from likewatch.log import get_logger

log = get_logger(__name__)

# Page-state globals and script ids that platforms embed (see STYLE.md, adapters).
_EMBEDDED_JS = """() => {
  const out = {};
  document.querySelectorAll('script[type="application/json"], script[type="application/ld+json"]')
    .forEach((el, i) => { out['script:' + (el.id || ('#' + i))] = el.textContent; });
  for (const name of ['__INITIAL_STATE__', '__NEXT_DATA__', '__NUXT__', 'RENDER_DATA',
                      '_ROUTER_DATA', '__APOLLO_STATE__']) {
    const v = window[name];  // an element with that id also shows up here: skip it
    try { if (v !== undefined && !(v instanceof Element)) out['window:' + name] = JSON.stringify(v); }
    catch (e) { out['window:' + name] = 'unserialisable: ' + e; }
  }
  return out;
}"""


MAX_SCREENSHOT_HEIGHT = 16_000  # px; Chromium's texture limit is 16384


class CaptureError(Exception):
    """The page could not be captured (browser failure, timeout, blocked URL)."""


@dataclass
class PageCapture:
    """What the browser saw: all of it goes into the evidence files."""

    requested_url: str
    final_url: str = ""
    status: int | None = None
    status_text: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    request_headers: dict[str, str] = field(default_factory=dict)
    server_addr: dict[str, Any] | None = None
    security_details: dict[str, Any] | None = None
    title: str = ""
    html: str = ""
    screenshot_png: bytes = b""
    embedded_json: dict[str, Any] = field(default_factory=dict)
    blocked_requests: list[str] = field(default_factory=list)
    requests_seen: list[str] = field(default_factory=list)  # every request URL of the page
    browser_version: str = ""
    notes: list[str] = field(default_factory=list)


def parse_embedded(raw: dict[str, str]) -> dict[str, Any]:
    """Parse each embedded state as JSON (also URL-encoded JSON, as in RENDER_DATA)."""
    out: dict[str, Any] = {}
    for name, text in sorted(raw.items()):
        value: Any = text
        for candidate in (text, unquote(text)):
            try:
                value = json.loads(candidate)
                break
            except (ValueError, TypeError):
                continue
        out[name] = value
    return out


class BrowserWorker:
    """A thread owning one Playwright + Chromium; :meth:`capture` is safe from any thread."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or settings.get("chromium_path")
        self._jobs: queue.Queue[tuple[Callable[[Any], Any], Future[Any]] | None] = queue.Queue()
        self._ready: Future[str] = Future()
        self.proxy = GuardProxy().start()  # every connection of the browser is made here
        self._thread = threading.Thread(target=self._run, name="evidence-browser", daemon=True)
        self._thread.start()
        self.version = self._ready.result(timeout=60)

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            pw = sync_playwright().start()
            browser = pw.chromium.launch(executable_path=self.executable, args=CHROMIUM_ARGS,
                                         headless=True, proxy={"server": self.proxy.url})
        except Exception as exc:  # noqa: BLE001 - reported to the waiting constructor
            self.proxy.stop()
            self._ready.set_exception(CaptureError(f"cannot start Chromium: {exc}"))
            return
        self._ready.set_result(browser.version)
        try:
            while (job := self._jobs.get()) is not None:
                fn, fut = job
                if fut.set_running_or_notify_cancel():
                    try:
                        fut.set_result(fn(browser))
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller
                        fut.set_exception(exc)
        finally:
            browser.close()
            pw.stop()
            self.proxy.stop()

    def submit(self, fn: Callable[[Any], Any]) -> Future[Any]:
        fut: Future[Any] = Future()
        if not self._thread.is_alive():
            raise CaptureError("the evidence browser has stopped")
        self._jobs.put((fn, fut))
        return fut

    def capture(self, url: str, timeout: float = 20.0) -> PageCapture:
        """Load ``url`` and capture it; raises :class:`CaptureError` on failure."""
        allow = netguard.AllowList.from_settings()
        user_agent = str(settings.get("user_agent"))

        def job(browser: Any) -> PageCapture:
            mark = self.proxy.refused_total  # jobs run one at a time on the worker thread
            page = _capture_page(browser, url, timeout, allow, user_agent, self.version)
            # the proxy's refusals of this page's requests (redirect hops included; not
            # Chromium's own background requests)
            seen = set(page.requests_seen) | {_authority(u) for u in page.requests_seen}
            for target in self.proxy.refused_since(mark):
                if target in seen or target.removesuffix(" (CONNECT)") in seen:
                    if target not in page.blocked_requests:
                        page.blocked_requests.append(target)
            return page

        page: PageCapture = self.submit(job).result(timeout=timeout * 3 + 10)
        return page

    def close(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(timeout=15)


def _authority(url: str) -> str:
    """``host:port`` of a URL, with the scheme's default port (as a CONNECT names it)."""
    parts = urlsplit(url)
    try:
        port = parts.port or netguard.DEFAULT_PORTS.get(parts.scheme, 0)
    except ValueError:
        return ""
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    return f"{host}:{port}"


def _capture_page(browser: Any, url: str, timeout: float, allow: netguard.AllowList,
                  user_agent: str, version: str) -> PageCapture:
    from playwright.sync_api import Error as PlaywrightError

    result = PageCapture(requested_url=url, browser_version=version)
    checked: dict[str, bool] = {}

    def guard(route: Any) -> None:
        req_url = route.request.url
        parts = urlsplit(req_url)
        if parts.scheme in {"data", "blob", "about"}:
            route.continue_()
            return
        host_key = f"{parts.scheme}://{parts.netloc}"  # the port matters to the allow-list
        if host_key not in checked:
            try:
                netguard.check_url(req_url, allow)
                checked[host_key] = True
            except netguard.BlockedURL:
                checked[host_key] = False
        if checked[host_key]:
            route.continue_()
        else:
            result.blocked_requests.append(req_url)
            route.abort("blockedbyclient")

    context = browser.new_context(user_agent=user_agent, locale="zh-CN", timezone_id="UTC",
                                  viewport={"width": 1280, "height": 800},
                                  service_workers="block")
    try:
        context.route("**/*", guard)
        # redirect hops too: Playwright reports each as a request of its own
        context.on("request", lambda req: result.requests_seen.append(req.url))
        page = context.new_page()
        page.set_default_timeout(timeout * 1000)
        try:
            response = page.goto(url, wait_until="load", timeout=timeout * 1000)
        except PlaywrightError as exc:
            raise CaptureError(f"loading {url} failed: {exc.message.splitlines()[0]}") from exc
        if response is None:
            raise CaptureError(f"no response for {url}")
        try:
            page.wait_for_load_state("networkidle", timeout=2000)
        except PlaywrightError:
            pass  # long-polling pages never go idle: capture what has rendered
        result.final_url = page.url
        result.status = response.status
        result.status_text = response.status_text
        result.response_headers = dict(sorted(response.all_headers().items()))
        result.request_headers = dict(sorted(response.request.all_headers().items()))
        result.server_addr = response.server_addr()
        result.security_details = response.security_details()
        result.title = page.title()
        result.html = page.content()
        result.embedded_json = parse_embedded(page.evaluate(_EMBEDDED_JS))
        height = int(page.evaluate("() => document.documentElement.scrollHeight") or 0)
        if height > MAX_SCREENSHOT_HEIGHT:  # endless feeds: keep the top, say so
            result.notes.append(f"screenshot cut at {MAX_SCREENSHOT_HEIGHT} px of {height} px")
            result.screenshot_png = page.screenshot(
                full_page=True, type="png",
                clip={"x": 0, "y": 0, "width": 1280, "height": MAX_SCREENSHOT_HEIGHT})
        else:
            result.screenshot_png = page.screenshot(full_page=True, type="png")
    finally:
        context.close()
    return result


_worker: BrowserWorker | None = None
_worker_lock = threading.Lock()


def shared_browser() -> BrowserWorker:
    """The process's browser, started on first use and closed at exit."""
    global _worker
    with _worker_lock:
        if _worker is None or not _worker._thread.is_alive():
            _worker = BrowserWorker()
            atexit.register(_worker.close)
        return _worker
