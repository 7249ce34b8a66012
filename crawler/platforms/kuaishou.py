"""Kuaishou (快手): short-video pages and browser-driven feeds (profiles, search).

The web app (www.kuaishou.com) is a Vue + Apollo GraphQL client. Server-rendered pages embed
the normalised Apollo cache as ``window.__APOLLO_STATE__ = {"defaultClient": {...}}``: objects
keyed ``"<Typename>:<id>"`` (``VisionVideoDetailPhoto:3x…`` with ``caption``, ``coverUrl``,
``photoUrl``, ``timestamp`` in ms, ``viewCount`` as "3.4万"; ``VisionVideoDetailAuthor:…``
with ``name``) linked by ``{"type": "id", "id": "…"}`` references. Feeds (a profile's
videos, search results) are fetched by the page's own GraphQL calls, which need the
browser's cookies, so this adapter is ``NEEDS_BROWSER`` and also reads the rendered
feed cards (``.video-card`` with a ``/short-video/ID`` link and a poster image).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import quote

from parsel import Selector

from crawler.platforms._parsing import (
    PlatformAdapter,
    abs_url,
    add_item,
    first,
    is_blank,
    to_datetime,
    to_int,
)
from crawler.platforms.base import AdapterError, CandidateItem, NoData, Page, embedded_json

BASE = "https://www.kuaishou.com/"


def _cache(body: str) -> dict[str, Any]:
    try:
        state = embedded_json(body, "window.__APOLLO_STATE__")
    except AdapterError:
        return {}
    client = state.get("defaultClient", state) if isinstance(state, dict) else {}
    return client if isinstance(client, dict) else {}


def _deref(cache: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict) and value.get("type") == "id" and "id" in value:
        return cache.get(value["id"], {})
    return value


class Kuaishou(PlatformAdapter):
    NAME = "kuaishou"
    VALID_URL = (r"https?://(?:www\.)?kuaishou\.com/(?:short-video/|profile/|"
                 r"search/video\?(?:[^#]*&)?searchKey=)(?P<id>[^/?#&]+)")
    NEEDS_BROWSER = True
    SEARCH_NEEDS_BROWSER = True
    MODES: ClassVar[tuple[str, ...]] = ("listing", "search")
    # Feed pages are ready once their cards are rendered; a video page at load.
    BROWSER_READY = ("() => document.readyState === 'complete' && "
                     "(document.querySelectorAll('.video-card').length > 0 || "
                     "!/^\\/(profile|search)/.test(location.pathname))")
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = ("captcha.zt.kuaishou.com", "滑块验证",
                                                     "请完成安全验证", "verify-card")
    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://www.kuaishou.com/short-video/3xk9mq2v7wz4abc",
            "fixture": "video.html",
            "expected": {
                "items": ("count", 1),
                "item_id": "3xk9mq2v7wz4abc",
                "title": "替身新娘 第5集 婚礼上的反转 #短剧",
                "uploader": "甜橙剧场",
                "uploader_id": "3xuser8n2kq5",
                "thumbnail_url": "re:^https://p\\d\\.a\\.yximgs\\.com/",
                "video_url": "re:^https://v\\d\\.kwaicdn\\.com/.+\\.mp4",
                "view_count": 34000,
                "published_at": "2026-11-21T04:00:00+00:00",
                "tags": ["短剧"],
            },
        },
        {
            "url": "https://www.kuaishou.com/profile/3xuser8n2kq5",
            "fixture": "profile_rendered.html",
            "expected": {
                "items": ("count", 3),
                "item_id": "3xa1a1a1a1a1a1a",
                "url": "https://www.kuaishou.com/short-video/3xa1a1a1a1a1a1a",
                "title": "替身新娘 第1集",
                "thumbnail_url": "re:^https://p\\d\\.a\\.yximgs\\.com/",
                "view_count": 128000,
                "uploader": "甜橙剧场",
            },
        },
    ]

    def start_url(self, url: str, mode: str, *, query: str = "", cursor: str | None = None) -> str:
        super().start_url(url, mode, query=query, cursor=cursor)
        if mode == "search":
            return f"{BASE}search/video?searchKey={quote(query)}"
        return url

    def parse(self, url: str, body: str) -> Page:
        self.match_id(url)
        if is_blank(body):
            raise NoData(f"kuaishou: empty response on {url}")
        cache = _cache(body)
        authors: dict[str, dict[str, Any]] = {}
        tags: dict[str, list[str]] = {}
        for obj in cache.values():
            if isinstance(obj, dict) and "photo" in obj:
                photo = _deref(cache, obj.get("photo"))
                pid = str(photo.get("id", "")) if isinstance(photo, dict) else ""
                author = _deref(cache, obj.get("author"))
                if pid and isinstance(author, dict):
                    authors[pid] = author
                if pid and isinstance(obj.get("tags"), list):
                    names = [_deref(cache, t).get("name") for t in obj["tags"]]
                    tags[pid] = [n for n in names if isinstance(n, str) and n]
        page = Page(shape="apollo" if cache else "")
        seen: set[str] = set()
        for key, obj in cache.items():
            if not (isinstance(obj, dict) and re.match(r"\w*Photo:", key) and obj.get("id")):
                continue
            pid = str(obj["id"])
            author = authors.get(pid, {})
            seen.add(pid)
            add_item(page, CandidateItem(
                platform=self.NAME,
                item_id=pid,
                url=f"{BASE}short-video/{pid}",
                title=str(first(obj.get("caption"), default="")).strip(),
                description=str(obj.get("caption") or ""),
                thumbnail_url=abs_url(BASE, first(obj.get("coverUrl"),
                                                  obj.get("webpCoverUrl"))),
                video_url=abs_url(BASE, first(obj.get("photoUrl"), obj.get("photoH265Url"))),
                uploader=str(author.get("name") or ""),
                uploader_id=str(author.get("id") or ""),
                tags=tags.get(pid, []),
                published_at=to_datetime(obj.get("timestamp")),
                view_count=to_int(obj.get("viewCount")),
                raw_state=obj,
            ))
        before = len(page.items)
        self._cards(page, url, Selector(text=body), seen)
        if len(page.items) > before:
            page.shape = "+".join(filter(None, (page.shape if before else "", "cards")))
        return page

    def _cards(self, page: Page, url: str, sel: Selector, seen: set[str]) -> None:
        """Feed cards rendered by the browser (profile tabs, search results)."""
        owner = first(sel.css(".profile-user-name-title::text").get(),
                      sel.css(".user-name::text").get(), default="").strip()
        for card in sel.css(".video-card"):
            href = card.css('a[href*="/short-video/"]::attr(href)').get() or ""
            m = re.search(r"/short-video/([^/?#]+)", href)
            if m is None or m.group(1) in seen:
                continue
            seen.add(m.group(1))
            add_item(page, CandidateItem(
                platform=self.NAME,
                item_id=m.group(1),
                url=f"{BASE}short-video/{m.group(1)}",
                title=first(card.css(".video-info-title::text").get(),
                            card.css("img::attr(alt)").get(), default="").strip(),
                thumbnail_url=abs_url(url, first(card.css("img.poster-img::attr(src)").get(),
                                                 card.css("img::attr(src)").get())),
                uploader=first(card.css(".info-text::text").get(), owner, default="").strip(),
                view_count=to_int(card.css(".info-text-view::text, .play-icon + span::text")
                                  .get()),
            ))
