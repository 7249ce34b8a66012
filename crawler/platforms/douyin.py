"""Douyin (抖音): video, user and search pages.

Server-rendered pages carry their state in ``<script id="RENDER_DATA" type="application/json">``
as *URL-encoded* JSON. Inside, the state is split by route (top-level keys such as ``app`` or
numbered ones like ``"41"``, which change between releases), so aweme objects are found by
shape rather than by a fixed path: a video page has ``…aweme.detail``; a user page has
``…user.user`` (profile) and ``…post.data`` (the first posts). Aweme objects there are
camelCase (``awemeId``, ``desc``, ``createTime``, ``authorInfo``, ``video.cover``,
``video.playAddr[*].src``, ``stats.playCount``, ``textExtra[*].hashtagName``).

Further user posts and search results come from APIs that need request signatures
(``X-Bogus`` / ``a_bogus``, ``msToken``); we never forge those: :class:`DouyinSearch` is
``NEEDS_BROWSER`` and parses the DOM that Douyin's own script renders.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar
from urllib.parse import quote, unquote

from parsel import Selector

from crawler.platforms._parsing import (
    FIXTURES_DIR,
    PlatformAdapter,
    abs_url,
    add_item,
    first,
    jfirst,
    jpath,
    to_datetime,
    to_int,
)
from crawler.platforms.base import AdapterError, CandidateItem, Page

CHALLENGE_MARKERS = ("验证码中间页", "verifycenter", "byted_acrawler", "captcha_container")
BASE = "https://www.douyin.com/"


def render_data(body: str) -> Any:
    """The decoded RENDER_DATA state, or None when the page has none."""
    m = re.search(r'<script[^>]*\bid=["\']RENDER_DATA["\'][^>]*>(.*?)</script>', body, re.S)
    if m is None:
        return None
    text = m.group(1).strip()
    try:
        return json.loads(unquote(text) if text.startswith("%7B") else text)
    except json.JSONDecodeError as exc:
        raise AdapterError(f"douyin: RENDER_DATA is malformed: {exc}") from exc


def aweme_item(platform: str, aweme: dict[str, Any]) -> CandidateItem:
    """A CandidateItem from one aweme object (camelCase web state or snake_case API)."""
    aweme_id = str(first(aweme.get("awemeId"), aweme.get("aweme_id"), default=""))
    author = first(aweme.get("authorInfo"), aweme.get("author"), default={})
    hashtags = [t for t in jpath(aweme, "textExtra[*].hashtagName")
                + jpath(aweme, "text_extra[*].hashtag_name") if t]
    return CandidateItem(
        platform=platform,
        item_id=aweme_id,
        url=f"{BASE}video/{aweme_id}" if aweme_id else "",
        title=str(first(aweme.get("desc"), aweme.get("itemTitle"), default="")).strip(),
        description=str(aweme.get("desc") or ""),
        thumbnail_url=abs_url(BASE, jfirst(aweme, "video.originCover", "video.cover",
                                           "video.coverUrlList[0]", "video.cover.url_list[0]",
                                           "video.origin_cover.url_list[0]")),
        video_url=abs_url(BASE, jfirst(aweme, "video.playAddr[0].src",
                                       "video.play_addr.url_list[0]",
                                       "video.playApi")),
        uploader=str(first(author.get("nickname"), default="")),
        uploader_id=str(first(author.get("secUid"), author.get("sec_uid"), author.get("uid"),
                              default="")),
        tags=hashtags,
        published_at=to_datetime(first(aweme.get("createTime"), aweme.get("create_time"))),
        view_count=to_int(jfirst(aweme, "stats.playCount", "statistics.play_count")),
        raw_state=aweme,
    )


def _awemes(state: Any) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for node in jpath(state, "**"):
        if isinstance(node, dict) and node.get("awemeId") and isinstance(node.get("video"), dict):
            if node["awemeId"] not in seen:
                seen.add(node["awemeId"])
                out.append(node)
    return out


class Douyin(PlatformAdapter):
    """Video pages (one item) and user pages (the posts rendered with the profile)."""

    NAME = "douyin"
    VALID_URL = r"https?://(?:www\.)?douyin\.com/(?:video|note|user)/(?P<id>[0-9A-Za-z_-]+)"
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = CHALLENGE_MARKERS
    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://www.douyin.com/video/7441234567890123456",
            "fixture": "video.html",
            "expected": {
                "items": ("count", 1),
                "item_id": "7441234567890123456",
                "title": "#替身新娘 第3集 她终于认出了他 #短剧",
                "uploader": "红桃短剧场",
                "uploader_id": "re:^MS4wLjABAAAA",
                "thumbnail_url": "re:^https://p\\d+-pc-sign\\.douyinpic\\.com/",
                "video_url": "re:^https://v\\d+-web\\.douyinvod\\.com/",
                "tags": ["替身新娘", "短剧"],
                "published_at": "2026-11-20T12:00:00+00:00",
                "view_count": int,
            },
        },
        {
            "url": "https://www.douyin.com/user/MS4wLjABAAAAq9w_gG8dNnDdK3fGmrX0b7uVYzXzIUaZf0X7pF1Qk0c",
            "fixture": "user.html",
            "expected": {
                "items": ("count", 3),
                "uploader": "红桃短剧场",
                "items[2].item_id": "7440000000000000003",
                "items[2].thumbnail_url": "re:^https://",
                "next_url": None,
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        self.match_id(url)
        state = render_data(body)
        if state is None:
            raise AdapterError(f"douyin: no RENDER_DATA on {url}")
        awemes = _awemes(state)
        if "/video/" in url or "/note/" in url:
            wanted = self.match_id(url)
            detail = jfirst(state, "*.aweme.detail", "**.aweme.detail")
            awemes = [detail] if isinstance(detail, dict) else [a for a in awemes
                                                                 if a["awemeId"] == wanted]
        page = Page()
        for aweme in awemes:
            add_item(page, aweme_item(self.NAME, aweme))
        return page


class DouyinSearch(PlatformAdapter):
    """Search results, rendered by Douyin's script in the browser (signed API behind it)."""

    PLATFORM = "douyin"  # items are stored under the platform, not this adapter
    NAME = "douyin_search"
    FIXTURE_DIR = FIXTURES_DIR / "douyin"
    VALID_URL = r"https?://(?:www\.)?douyin\.com/search/(?P<id>[^/?#]+)"
    NEEDS_BROWSER = True
    SEARCH_NEEDS_BROWSER = True
    MODES: ClassVar[tuple[str, ...]] = ("listing", "search")
    # Results are in once the list holds a video link (Douyin keeps connections open, so
    # "network idle" may never come).
    BROWSER_READY = ("() => document.querySelectorAll("
                     "'[data-e2e=\"scroll-list\"] a[href*=\"/video/\"]').length > 0")
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = CHALLENGE_MARKERS

    def start_url(self, url: str, mode: str, *, query: str = "", cursor: str | None = None) -> str:
        super().start_url(url, mode, query=query, cursor=cursor)
        return f"{BASE}search/{quote(query)}?type=video" if mode == "search" else url

    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://www.douyin.com/search/%E6%9B%BF%E8%BA%AB%E6%96%B0%E5%A8%98?type=video",
            "fixture": "search_rendered.html",
            "expected": {
                "items": ("count", 2),
                "item_id": "7441234567890123456",
                "url": "https://www.douyin.com/video/7441234567890123456",
                "title": "#替身新娘 第3集 她终于认出了他 #短剧",
                "uploader": "@红桃短剧场",
                "thumbnail_url": "re:^https://p\\d+-pc-sign\\.douyinpic\\.com/",
                "items[1].item_id": "7441234567890999999",
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        self.match_id(url)
        sel = Selector(text=body)
        page = Page()
        seen: set[str] = set()
        cards = sel.css('[data-e2e="scroll-list"] > li') or sel.css("li")
        for card in cards:
            href = card.css('a[href*="/video/"]::attr(href)').get() or ""
            m = re.search(r"/video/(\d+)", href)
            if m is None or m.group(1) in seen:
                continue
            seen.add(m.group(1))
            title = first(card.css("img::attr(alt)").get(),
                          " ".join(t.strip() for t in card.css(
                              '[data-e2e="search-card-desc"] ::text').getall() if t.strip()),
                          default="")
            add_item(page, CandidateItem(
                platform=self.PLATFORM,
                item_id=m.group(1),
                url=f"{BASE}video/{m.group(1)}",
                title=str(title).strip(),
                thumbnail_url=abs_url(BASE, card.css("img::attr(src)").get()),
                uploader=(card.css('[data-e2e="search-card-user-name"]::text').get()
                          or "").strip(),
            ))
        return page
