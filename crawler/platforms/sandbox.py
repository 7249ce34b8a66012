"""The Likewatch sandbox (``likewatch sandbox``): a local stand-in for a short-video site.

Pages (see the sandbox contract): ``/browse?page=N`` server-rendered listing, ``/video/ID``
detail page whose data is only in ``__NEXT_DATA__``, ``/search?q=`` whose results exist only
after JavaScript runs (parsed here from the rendered DOM), ``/api/feed?cursor=&limit=`` and
``/api/search?q=`` JSON. Pure parsing: (url, body) -> Page.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar
from urllib.parse import quote, urljoin, urlsplit

from parsel import Selector

from crawler.platforms.base import (
    Adapter,
    AdapterError,
    CandidateItem,
    Page,
    embedded_json,
)

_HOSTS = r"(?:127\.0\.0\.1|localhost|\[::1\]|sandbox\.invalid)"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


class SandboxAdapter(Adapter):
    NAME = "sandbox"
    # Claims every sandbox page; only /video/ID pages have an id (None for the others).
    VALID_URL = (
        rf"https?://{_HOSTS}(?::\d+)?/"
        r"(?:video/(?P<id>[A-Za-z0-9_-]+)/?(?:[?#].*)?$|browse|search|api/(?:feed|search))"
    )
    MODES = ("listing", "search", "api")
    SEARCH_NEEDS_BROWSER = True
    # The search script replaces the "needs JavaScript" status once results (or an error)
    # are in; pages without the status element (an error page) are ready at once.
    BROWSER_READY = (
        "() => { const s = document.getElementById('status');"
        " return !s || !!document.querySelector('#results a.result')"
        " || !s.textContent.includes('JavaScript'); }"
    )
    API_PAGE_SIZE = 50
    # Fixtures recorded from the real sandbox (seed 1) under fixtures/sandbox/.
    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "http://127.0.0.1:8700/browse?page=1",
            "fixture": "browse_page1.html",
            "expected": {
                "items": ("count", 0),
                "detail_urls": ("count", 24),
                "next_url": "http://127.0.0.1:8700/browse?page=2",
                "next_cursor": None,
            },
        },
        {
            "url": "http://127.0.0.1:8700/browse?page=13",
            "fixture": "browse_last.html",
            "expected": {"detail_urls": ("count", 12), "next_url": None},
        },
        {
            "url": "http://127.0.0.1:8700/video/v00013",
            "fixture": "video_episode.html",
            "expected": {
                "items": ("count", 1),
                "item_id": "v00013",
                "url": "http://127.0.0.1:8700/video/v00013",
                "title": "我的超能力同桌 第1集 身份曝光",
                "uploader": "椰子剧场",
                "uploader_id": "u0015",
                "thumbnail_url": "http://127.0.0.1:8700/media/thumb/v00013.jpg",
                "video_url": "http://127.0.0.1:8700/media/video/v00013.mp4",
                "tags": ["短剧", "旅行", "手工"],
                "cast": ("count", 3),
                "published_at": "2025-06-06T07:20:13+00:00",
                "view_count": 56457,
                "raw_state": dict,
            },
        },
        {
            "url": "http://127.0.0.1:8700/api/feed?limit=3",
            "fixture": "api_feed.json",
            "expected": {
                "items": ("count", 3),
                "next_cursor": "cG9zOjM",
                "items[0].item_id": "v00001",
                "items[0].video_url": "",
                "items[2].item_id": "v00003",
                "items[0].thumbnail_url": "re:^http://127\\.0\\.0\\.1:8700/media/thumb/v00001\\.jpg$",
            },
        },
        {
            "url": "http://127.0.0.1:8700/search?q=x",
            "fixture": "search_rendered.html",  # the DOM after the page's script ran
            "expected": {
                "detail_urls": ("count", 7),
                "items": ("count", 0),
            },
        },
        {
            "url": "http://127.0.0.1:8700/search?q=x",
            "fixture": "search_shell.html",  # as served, before JavaScript: no results
            "expected": {"detail_urls": ("count", 0)},
        },
    ]

    # --- start URLs ----------------------------------------------------------------------
    def start_url(self, url: str, mode: str, *, query: str = "", cursor: str | None = None) -> str:
        super().start_url(url, mode, query=query, cursor=cursor)
        origin = _origin(url)
        path = urlsplit(url).path
        if mode == "listing":
            return url if path.startswith("/browse") else f"{origin}/browse?page=1"
        if mode == "search":
            return f"{origin}/search?q={quote(query)}"
        start = f"{origin}/api/feed?limit={self.API_PAGE_SIZE}"
        return self.cursor_url(start, cursor) if cursor else start

    # --- parsing -------------------------------------------------------------------------
    def parse(self, url: str, body: str) -> Page:
        path = urlsplit(url).path
        if path.startswith("/browse"):
            return self._listing(url, body)
        if path.startswith("/video/"):
            return self._detail(url, body)
        if path.startswith("/api/"):
            return self._api(url, body)
        if path.startswith("/search"):
            return self._search(url, body)
        raise AdapterError(f"sandbox: no parser for {url}")

    def _listing(self, url: str, body: str) -> Page:
        sel = Selector(text=body)
        detail = [urljoin(url, h) for h in sel.css("a.item::attr(href)").getall()]
        nxt = sel.css('a[rel="next"]::attr(href)').get()
        return Page(detail_urls=detail, next_url=urljoin(url, nxt) if nxt else None)

    def _search(self, url: str, body: str) -> Page:
        sel = Selector(text=body)
        status = " ".join(sel.css("#status ::text").getall())
        if "加载失败" in status:  # "loading failed": the script could not fetch results
            raise AdapterError(f"sandbox: search results failed to load on {url}: {status}")
        hrefs = sel.css("#results a.result::attr(href)").getall()
        return Page(detail_urls=[urljoin(url, h) for h in hrefs])

    def _detail(self, url: str, body: str) -> Page:
        state = embedded_json(body, "__NEXT_DATA__")
        try:
            item = state["props"]["pageProps"]["item"]
        except (KeyError, TypeError) as exc:
            raise AdapterError(f"sandbox: no props.pageProps.item in __NEXT_DATA__ of {url}") from exc
        return Page(items=[self.item_from_state(item, url)])

    def _api(self, url: str, body: str) -> Page:
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise AdapterError(f"sandbox: malformed JSON from {url}: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise AdapterError(f"sandbox: no items list in {url}")
        page = Page()
        for raw in data["items"]:
            try:
                page.items.append(self.item_from_state(raw, url))
            except AdapterError as exc:  # one bad item never loses the rest of the page
                page.errors.append(exc)
        cursor = data.get("next_cursor")
        page.next_cursor = cursor if isinstance(cursor, str) and cursor else None
        return page

    def item_from_state(self, raw: Any, page_url: str) -> CandidateItem:
        """One ITEM object of the sandbox's state or API -> CandidateItem (validated)."""
        if not isinstance(raw, dict):
            raise AdapterError(f"sandbox: item is not an object on {page_url}")
        origin = _origin(page_url)
        item_id = _str(raw.get("id"))
        found = raw.get("uploader")
        uploader = found if isinstance(found, dict) else {}
        tags = [t for t in raw.get("tags") or [] if isinstance(t, str)]
        cast = [
            {"name": _str(c.get("name")), "role": _str(c.get("role"))}
            for c in raw.get("cast") or []
            if isinstance(c, dict)
        ]
        thumb, video = _str(raw.get("thumbnailUrl")), _str(raw.get("videoUrl"))
        views = raw.get("viewCount")
        return CandidateItem(
            platform=self.NAME,
            item_id=item_id,
            url=f"{origin}/video/{item_id}" if item_id else "",
            thumbnail_url=urljoin(origin + "/", thumb) if thumb else "",
            video_url=urljoin(origin + "/", video) if video else "",
            title=_str(raw.get("title")),
            description=_str(raw.get("description")),
            uploader=_str(uploader.get("name")),
            uploader_id=_str(uploader.get("id")),
            tags=tags,
            cast=cast,
            published_at=_parse_time(raw.get("publishedAt")),
            view_count=views if isinstance(views, int) and not isinstance(views, bool) else None,
            raw_state=raw,
        ).validate()
