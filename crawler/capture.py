"""``likewatch capture PLATFORM URL``: record a real page as an adapter fixture, scrubbed.

Fetches the page (through Chromium when the adapter needs a browser, or with ``--browser``),
removes what identifies a session or signs a request — cookies, tokens, signatures, device
ids — from URLs, embedded JSON and Douyin's URL-encoded RENDER_DATA, writes it under
``crawler/platforms/fixtures/<platform>/`` (or ``--out DIR``), appends a line to the folder's
SOURCE.md, and prints a TESTS case built from what the adapter parses out of it.

Every URL fetched passes likewatch.netguard (setting ``allow_private_hosts`` applies),
redirects included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from likewatch import netguard, nethttp, settings

MAX_BYTES = 10_000_000
SCRUBBED = "SCRUBBED"
# Query parameters, JSON keys and form fields that carry a session, a signature or a
# device identity (lower-case; compared case-insensitively).
SECRET_NAMES = frozenset("""
msToken x-bogus a_bogus _signature signature x-signature upsig sign auth_key token
access_token refresh_token id_token csrf csrftoken csrf_token _csrf xsrf-token
passport_csrf_token sessionid sessionid_ss sid_tt sid_guard sid_ucp_v1 ssid_ucp_v1 uid_tt
ttwid odin_tt tt_chain_token tt_csrf_token __ac_nonce __ac_signature s_v_web_id verifyfp fp
webid web_id device_id deviceid did didv buvid buvid3 buvid4 sessdata bili_jct dedeuserid
dedeuserid__ckmd5 kuaishou.server.web_st kuaishou.server.web_ph userid passtoken
cookie cookies set-cookie authorization x-tt-token x-secsdk-csrf-token pkey tk
visitordata user_unique_id
""".lower().split())
# Not secrets as JSON keys: a profile's "signature" is its bio, YouTube's continuation
# "token" is a page cursor, "sign" is a horoscope field on some profiles.
JSON_PUBLIC = frozenset({"signature", "token", "sign"})


def _alternation(names: frozenset[str]) -> str:
    return "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))


_NAMES_RE = _alternation(SECRET_NAMES)
# name=value in URLs and cookie strings (also &amp; and \u0026 joined, also URL-encoded once)
_PARAM = re.compile(
    r"(?i)(?<![\w.-])(" + _NAMES_RE + r")(=|%3D)((?:(?!%26|%22|%27|\\u0026)[^&\"'\s<>\\;,])*)")
# "name": "value" in JSON (and \"name\":\"value\" in JSON inside strings)
_JSON = re.compile(
    r"(?i)(\\?\")(" + _alternation(SECRET_NAMES - JSON_PUBLIC) + r")(\\?\"\s*:\s*\\?\")((?:[^\"\\]|\\(?!\"))*)(\\?\")")
_JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")
_RENDER_DATA = re.compile(r'(<script[^>]*\bid=["\']RENDER_DATA["\'][^>]*>)(%7B.*?)(</script>)',
                          re.S)


def scrub_text(text: str) -> str:
    """``text`` with every secret value replaced by SCRUBBED (keys are kept)."""
    text = _RENDER_DATA.sub(lambda m: m.group(1) + quote(scrub_text(unquote(m.group(2))),
                                                           safe="~()*!.'") + m.group(3), text)
    text = _JSON.sub(lambda m: m.group(1) + m.group(2) + m.group(3)
                     + (SCRUBBED if m.group(4) else "") + m.group(5), text)
    text = _PARAM.sub(lambda m: m.group(1) + m.group(2) + (SCRUBBED if m.group(3) else ""),
                      text)
    return _JWT.sub(SCRUBBED, text)


def fetch_http(url: str) -> tuple[int, str]:
    with nethttp.urlopen(url, timeout=float(settings.get("media_timeout")),
                         follow_redirects=True, headers={
                             "User-Agent": settings.get("user_agent"),
                             "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}) as resp:
        try:
            raw = nethttp.read_limited(resp, MAX_BYTES)
        except nethttp.TooLarge as exc:
            raise ValueError(f"page larger than {MAX_BYTES} bytes: {url}") from exc
        charset = resp.headers.get_content_charset() or "utf-8"
        return int(resp.status), raw.decode(charset, "replace")


def fetch_browser(url: str) -> tuple[int, str]:
    """The page as Chromium renders it; every request the page makes (redirects included)
    connects through the address guard's proxy, and is checked by routing too."""
    from playwright.sync_api import sync_playwright

    from likewatch.guardproxy import CHROMIUM_ARGS, GuardProxy

    netguard.check_url(url)
    with GuardProxy() as proxy, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=settings.get("chromium_path"), proxy={"server": proxy.url},
            args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(user_agent=settings.get("user_agent"))

            def guard(route: Any) -> None:
                try:
                    netguard.check_url(route.request.url)
                except netguard.BlockedURL:
                    route.abort()
                    return
                route.continue_()

            page.route("**/*", guard)
            response = page.goto(url, wait_until="networkidle", timeout=30_000)
            return (response.status if response else 0), page.content()
        finally:
            browser.close()


def suggested_case(adapter_cls: Any, url: str, fixture: str, body: str) -> dict[str, Any]:
    """A TESTS entry from what the adapter parses now (review it before committing)."""
    page = adapter_cls().parse(url, body)
    expected: dict[str, Any] = {"items": ["count", len(page.items)]}
    if page.items:
        first = page.items[0]
        for name in ("item_id", "title", "uploader"):
            if getattr(first, name):
                expected[name] = getattr(first, name)
        for name in ("thumbnail_url", "video_url"):
            value = getattr(first, name)
            if value:
                expected[name] = "re:^" + re.escape(value.split("?")[0][:60])
    if page.detail_urls:
        expected["detail_urls"] = ["count", len(page.detail_urls)]
    return {"url": url, "fixture": fixture, "expected": expected}


def capture(platform: str, url: str, *, out: Path | None = None, name: str | None = None,
            as_url: str | None = None, browser: bool | None = None) -> dict[str, Any]:
    """Fetch, scrub and store one page; returns {"path", "status", "case"|"parse_error"}."""
    from crawler.platforms import get_adapter

    adapter_cls = get_adapter(platform)
    use_browser = adapter_cls.NEEDS_BROWSER if browser is None else browser
    status, body = (fetch_browser if use_browser else fetch_http)(url)
    body = scrub_text(body)
    record_url = scrub_text(as_url or url)
    folder = out or Path(getattr(adapter_cls, "FIXTURE_DIR", None) or (
        Path(__file__).resolve().parent / "platforms" / "fixtures" / platform))
    folder.mkdir(parents=True, exist_ok=True)
    if name is None:
        stem = re.sub(r"[^\w.-]+", "_", urlsplit(url).path.strip("/"))[-60:] or "index"
        name = f"captured_{stem}.html"
    path = folder / name
    path.write_text(body, encoding="utf-8")
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    with (folder / "SOURCE.md").open("a", encoding="utf-8") as f:
        fetched = "" if record_url == scrub_text(url) else f" (fetched as {scrub_text(url)})"
        f.write(f"\n- `{name}`: captured {today} from {record_url}{fetched} (HTTP {status}, "
                f"{'browser' if use_browser else 'plain HTTP'}) by `likewatch capture`, "
                f"secrets scrubbed; sha256 {digest}…\n")
    result: dict[str, Any] = {"path": str(path), "status": status}
    try:
        result["case"] = suggested_case(adapter_cls, record_url, name, body)
    except Exception as exc:  # noqa: BLE001 - any parse failure is reported, not fatal
        result["parse_error"] = f"{type(exc).__name__}: {exc}"
    return result


def register(sub: argparse._SubParsersAction[Any]) -> None:
    cap = sub.add_parser("capture", help="record a real page as a scrubbed adapter fixture")
    cap.add_argument("platform", help="adapter name, e.g. douyin, bilibili_search, yaml:sandbox")
    cap.add_argument("url", help="the page to record")
    cap.add_argument("--out", type=Path, default=None,
                     help="folder to write into (default: the adapter's fixture folder)")
    cap.add_argument("--name", default=None, help="fixture file name")
    cap.add_argument("--as-url", default=None,
                     help="URL to record in the suggested case (default: URL)")
    mode = cap.add_mutually_exclusive_group()
    mode.add_argument("--browser", dest="browser", action="store_true", default=None,
                      help="render with Chromium (default: when the adapter needs it)")
    mode.add_argument("--no-browser", dest="browser", action="store_false",
                      help="fetch over plain HTTP even if the adapter uses a browser")
    cap.set_defaults(func=_cmd_capture)


def _cmd_capture(args: argparse.Namespace) -> int:
    from crawler.platforms.base import AdapterError
    from likewatch.cli import DependencyError, UserError

    try:
        result = capture(args.platform, args.url, out=args.out, name=args.name,
                         as_url=args.as_url, browser=args.browser)
    except (AdapterError, netguard.BlockedURL, ValueError) as exc:
        raise UserError(str(exc)) from exc
    except OSError as exc:
        raise DependencyError(f"fetching {args.url} failed: {exc}") from exc
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0
