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
``NEEDS_BROWSER`` and parses the DOM that Douyin's own script renders. When a browser session
hands over one of those API replies (``/aweme/v1/web/aweme/post/``, ``…/detail/``, the reflow
``/web/api/v2/aweme/post/``), :class:`Douyin` reads it too: JSON with ``aweme_list`` or
``aweme_detail`` of snake_case awemes (``aweme_id``, ``video.cover`` / ``origin_cover`` /
``play_addr`` as ``{uri, url_list}``, ``statistics.play_count``, ``aigc_info``). The body decides,
not the URL. ``Page.shape`` is ``render_data``, ``aweme_list`` or ``aweme_detail``.
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
    flag,
    is_blank,
    jfirst,
    jpath,
    to_datetime,
    to_int,
    url_of,
)
from crawler.platforms.base import AdapterError, CandidateItem, NoData, Page

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
    """A CandidateItem from one aweme object (camelCase web state or snake_case API).

    Images and streams are strings in the web state (``video.cover``) and ``{uri, url_list}``
    objects in the APIs (``video.cover``, ``video.origin_cover``, ``video.play_addr``).
    Douyin does not show play counts to others: ``statistics.play_count`` / ``stats.playCount``
    come back as 0, which is read as unknown (None), never as 0 views."""
    aweme_id = str(first(aweme.get("awemeId"), aweme.get("aweme_id"), default=""))
    author = first(aweme.get("authorInfo"), aweme.get("author"), default={})
    if not isinstance(author, dict):
        author = {}
    hashtags = [t for t in jpath(aweme, "textExtra[*].hashtagName")
                + jpath(aweme, "text_extra[*].hashtag_name") if isinstance(t, str) and t]
    video: dict[str, Any] = aweme["video"] if isinstance(aweme.get("video"), dict) else {}
    plays = to_int(jfirst(aweme, "stats.playCount", "statistics.play_count"))
    return CandidateItem(
        platform=platform,
        item_id=aweme_id,
        url=f"{BASE}video/{aweme_id}" if aweme_id else "",
        title=str(first(aweme.get("desc"), aweme.get("itemTitle"), default="")).strip(),
        description=str(aweme.get("desc") or ""),
        thumbnail_url=abs_url(BASE, first(*(url_of(video.get(k)) for k in (
            "originCover", "origin_cover", "cover", "coverUrlList", "dynamic_cover")))),
        video_url=abs_url(BASE, first(url_of(jfirst(video, "playAddr[0].src")),
                                      url_of(video.get("play_addr")), url_of(video.get("playApi")))),
        uploader=str(first(author.get("nickname"), default="")),
        uploader_id=str(first(author.get("secUid"), author.get("sec_uid"), author.get("uid"),
                              default="")),
        tags=hashtags,
        published_at=to_datetime(first(aweme.get("createTime"), aweme.get("create_time"))),
        view_count=plays or None,
        ai_flag=flag(aweme, "aigc_info.aigc_label_type"),
        raw_state=aweme,
    )


def _awemes(state: Any) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for node in jpath(state, "**"):
        if not isinstance(node, dict) or not isinstance(node.get("video"), dict):
            continue
        aweme_id = first(node.get("awemeId"), node.get("aweme_id"))
        if isinstance(aweme_id, str | int) and str(aweme_id) not in seen:
            seen.add(str(aweme_id))
            out.append(node)
    return out


def api_page(platform: str, url: str, body: str) -> Page:
    """A Douyin API response (``aweme_list`` of a user's posts or a feed, ``aweme_detail``).

    ``aweme_list``/``aweme_detail`` set to null, or an empty body, is what Douyin returns to
    an unsigned or distrusted request: no data at all, counted as a challenge (NoData).
    A JSON reply with neither key is a shape we do not know: AdapterError."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise AdapterError(f"douyin: API response is not JSON on {url}: {exc}") from exc
    if not isinstance(data, dict):
        raise AdapterError(f"douyin: API response is not an object on {url}")
    page = Page()
    if "aweme_list" in data:
        awemes, page.shape = data["aweme_list"], "aweme_list"
    elif "aweme_detail" in data:
        awemes, page.shape = [data["aweme_detail"]], "aweme_detail"
    else:
        raise AdapterError(f"douyin: API response without aweme_list/aweme_detail on {url}")
    if awemes is None or awemes == [None]:
        raise NoData(f"douyin: empty API response (status_code {data.get('status_code')}) "
                     f"on {url}")
    if not isinstance(awemes, list):
        raise AdapterError(f"douyin: aweme_list is not a list on {url}")
    for aweme in awemes:
        if isinstance(aweme, dict):
            add_item(page, aweme_item(platform, aweme))
    return page


class Douyin(PlatformAdapter):
    """Video pages (one item), user pages (the posts rendered with the profile) and the web
    APIs' JSON (``aweme_list``, ``aweme_detail``) when a browser session hands them over."""

    NAME = "douyin"
    VALID_URL = (r"https?://(?:www\.)?(?:ies)?douyin\.com/(?:(?:video|note|user)/|"
                 r"(?:aweme/v1/web/aweme/(?:post|detail)|web/api/v2/aweme/(?:post|iteminfo))/?"
                 r"\?(?:[^#]*&)?(?:sec_user_id|sec_uid|aweme_id|item_ids)=)(?P<id>[0-9A-Za-z_-]+)")
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
                "view_count": None,  # stats.playCount 0: Douyin hides play counts
                "shape": "render_data",
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
        {
            # A real user-posts API response (2022-10, trimmed to 3 of 20 items):
            # fixtures/douyin/SOURCE.md.
            "url": "https://www.iesdouyin.com/web/api/v2/aweme/post/?sec_uid=MS4wLjABAAAA6WE7fY9NIUpQl9-9yGi1fzAjr6YkYR6DFehHdkn0wSrOz7wamcz-PUiXiFRcUYB7&count=20&max_cursor=0",
            "fixture": "aweme_list.json",
            "expected": {
                "shape": "aweme_list",
                "items": ("count", 3),
                "item_id": "7154672093802597665",
                "url": "https://www.douyin.com/video/7154672093802597665",
                "thumbnail_url": "re:^https://p26-sign\\.douyinpic\\.com/tos-cn-p-0015/e5a821a599fc",
                "video_url": "re:^https://v3-dy-o\\.zjcdn\\.com/",
                "uploader": "黑白影视",
                "uploader_id": "re:^MS4wLjABAAAA6WE7",
                "tags": ["经典电影", "推荐电影"],
                "view_count": None,
                "ai_flag": None,
                "items[2].item_id": "7154403746083097864",
                "items[2].thumbnail_url": "re:^https://p3-sign\\.douyinpic\\.com/",
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        self.match_id(url)
        if is_blank(body):
            raise NoData(f"douyin: empty response on {url}")
        if body.lstrip().startswith("{"):
            return api_page(self.NAME, url, body)
        state = render_data(body)
        if state is None:
            raise AdapterError(f"douyin: no RENDER_DATA on {url}")
        awemes = _awemes(state)
        if "/video/" in url or "/note/" in url:
            wanted = self.match_id(url)
            detail = jfirst(state, "*.aweme.detail", "**.aweme.detail")
            awemes = [detail] if isinstance(detail, dict) else [
                a for a in awemes if str(first(a.get("awemeId"), a.get("aweme_id"))) == wanted]
        page = Page(shape="render_data")
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
