"""Bilibili (哔哩哔哩): video pages and search results.

Video pages (``www.bilibili.com/video/BV…``) embed ``window.__INITIAL_STATE__`` with
``videoData`` (bvid, title, desc, pic, pubdate, owner, stat) and ``tags``; the stream URLs
are in ``window.__playinfo__`` (DASH). Search pages (``search.bilibili.com/all?keyword=``)
embed their first result page as state too (``window.__pinia`` on the current Vue 3 site,
``window.__INITIAL_STATE__`` on the older one). The current site writes ``__pinia`` as a
JavaScript function call, ``(function(a,b,…){return {…}}("video",…))``, not as JSON: it is read
with :mod:`crawler.platforms._jsvalue` (``Page.shape`` "pinia:function"; a JSON form is
"pinia:json", the older state "INITIAL_STATE:json", the markup "cards"). Results have the shape of the public
``x/web-interface/search/type`` API (bvid, title with ``<em class="keyword">`` highlight,
``pic`` protocol-relative, author, mid, play, pubdate, comma-separated ``tag``).
Fallbacks per field: OpenGraph / itemprop meta tags, then the result cards' markup; a state
that is there but cannot be read is reported in ``page.errors`` (parse_error) even when the
cards still give items, since the cards lose views, dates, tags, uploader ids and the page count.

AI label: an uploader's declaration (``videoData.argue_info.argue_msg``, in search results
``argue_msg``) that names AI synthesis becomes ``ai_flag``; other declarations ("危险行为…")
are not AI flags.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

from parsel import Selector

from crawler.platforms._jsvalue import JsValueError, js_assignment
from crawler.platforms._parsing import (
    FIXTURES_DIR,
    PlatformAdapter,
    abs_url,
    add_item,
    first,
    jfirst,
    jpath,
    strip_tags,
    to_datetime,
    to_int,
    with_query,
)
from crawler.platforms.base import AdapterError, CandidateItem, Page

# Rate-limited pages carry ``window._riskdata_ = {"v_voucher": ...}`` instead of the state
# (yt-dlp's BiliBiliIE treats that as "exceeded the rate limit"); captcha pages use geetest.
CHALLENGE_MARKERS = ("_riskdata_", "v_voucher", "geetest", "验证码", "安全验证", "访问频繁")


_AI_DECLARATION = re.compile(r"人工智能|AIGC|\bAI\b|AI生成|AI合成|生成式|数字人")


def _state(body: str, *names: str) -> tuple[Any, str]:
    """The value of the first of ``names`` the page assigns, and the shape read
    (``"<name>:<form>"``, form json / string / function); (None, "") when none is there.
    Raises AdapterError when one is there but cannot be read."""
    for name in names:
        try:
            found = js_assignment(body, name)
        except JsValueError as exc:
            raise AdapterError(f"bilibili: {name} cannot be read: {exc}") from exc
        if found is not None:
            return found[0], f"{name.strip('_')}:{found[1]}"
    return None, ""


def _ai_flag(obj: Any) -> str | None:
    msg = jfirst(obj, "argue_info.argue_msg", "argue_msg", "stat.argue_msg")
    if isinstance(msg, str) and _AI_DECLARATION.search(msg):
        return f"argue_msg={msg}"
    return None


class Bilibili(PlatformAdapter):
    """One video page: a single item."""

    NAME = "bilibili"
    VALID_URL = r"https?://(?:www\.|m\.)?bilibili\.com/video/(?P<id>[aA][vV]\d+|[bB][vV][0-9A-Za-z]{10})"
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = CHALLENGE_MARKERS
    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://www.bilibili.com/video/BV1Qm4y1X7aZ/",
            "fixture": "video.html",
            "expected": {
                "item_id": "BV1Qm4y1X7aZ",
                "title": "【短剧】替身新娘 第1集 豪门恩怨",
                "uploader": "剧场小鹿",
                "uploader_id": "405821337",
                "thumbnail_url": "re:^https://i[0-2]\\.hdslb\\.com/bfs/archive/.+\\.jpg$",
                "video_url": "re:^https://upos-sz-mirror.+\\.m4s",
                "published_at": "2026-11-20T12:00:00+00:00",
                "view_count": 128345,
                "tags": ("count", 3),
                "items": ("count", 1),
            },
        },
        {
            # The same page when the state script is gone (e.g. a lighter mobile render):
            # every field falls back to the meta tags.
            "url": "https://www.bilibili.com/video/BV1Qm4y1X7aZ",
            "fixture": "video_meta_only.html",
            "expected": {
                "item_id": "BV1Qm4y1X7aZ",
                "title": "【短剧】替身新娘 第1集 豪门恩怨",
                "thumbnail_url": "re:^https://i0\\.hdslb\\.com/",
                "uploader": "剧场小鹿",
                "published_at": "2026-11-20T12:00:00+00:00",
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        vid = self.match_id(url)
        errors: list[AdapterError] = []
        try:
            state, shape = _state(body, "__INITIAL_STATE__")
        except AdapterError as exc:  # the meta tags still name the video: keep them, say so
            errors.append(exc)
            state, shape = None, ""
        try:
            play, _ = _state(body, "__playinfo__")
        except AdapterError as exc:
            errors.append(exc)
            play = None
        if not isinstance(state, dict):
            state, shape = None, "meta_tags"
        sel = Selector(text=body)
        data = jfirst(state, "videoData", default={}) if state else {}
        meta = _Meta(sel)
        item = CandidateItem(
            platform=self.NAME,
            item_id=first(data.get("bvid"), state.get("bvid") if state else None, vid),
            url=f"https://www.bilibili.com/video/{first(data.get('bvid'), vid)}/",
            title=first(data.get("title"), _site_suffix(meta.get("og:title", "title")),
                        sel.css("h1::attr(title)").get(), sel.css("h1::text").get(), default=""),
            description=first(data.get("desc"), meta.get("og:description", "description"),
                              default=""),
            thumbnail_url=_full_image(abs_url(url, first(data.get("pic"),
                                                         meta.get("og:image", "image")))),
            video_url=abs_url(url, jfirst(play, "data.dash.video[0].baseUrl",
                                          "data.dash.video[0].base_url", "data.durl[0].url")
                              if play else ""),
            uploader=first(jfirst(data, "owner.name"), jfirst(state, "upData.name"),
                           meta.get("author"), default=""),
            uploader_id=str(first(jfirst(data, "owner.mid"), jfirst(state, "upData.mid"),
                                  default="")),
            tags=[t for t in jpath(state, "tags[*].tag_name") if t] if state else
            _keyword_tags(meta.get("keywords"), meta.get("og:title", "title")),
            published_at=to_datetime(first(data.get("pubdate"), data.get("ctime"),
                                           meta.get("uploadDate", "datePublished"))),
            view_count=to_int(jfirst(data, "stat.view")),
            ai_flag=_ai_flag(data),
            raw_state=data or None,
        )
        page = Page(shape=shape, errors=errors)
        add_item(page, item)
        return page


def _site_suffix(title: str | None) -> str | None:
    return re.sub(r"_哔哩哔哩_bilibili$", "", title) if title else title


def _full_image(url: str) -> str:
    """The full-size image: https, without the ``@100w_100h_1c.png`` resize suffix."""
    url = re.sub(r"@[^/]*$", "", url)
    return "https://" + url[len("http://"):] if url.startswith("http://") else url


_GENERIC_KEYWORDS = {"哔哩哔哩", "bilibili", "B站", "弹幕", "Bilibili"}


def _keyword_tags(keywords: str | None, title: str | None) -> list[str]:
    """Tags from the keywords meta ("title,tag1,tag2,哔哩哔哩,bilibili,B站,弹幕")."""
    parts = [p.strip() for p in (keywords or "").split(",")]
    return [p for p in parts if p and p != title and p not in _GENERIC_KEYWORDS]


class _Meta:
    """Meta tags by property / name / itemprop."""

    def __init__(self, sel: Selector) -> None:
        self.sel = sel

    def get(self, *names: str) -> str | None:
        for name in names:
            value = self.sel.xpath(
                f'//meta[@property="{name}" or @name="{name}" or @itemprop="{name}"]/@content'
            ).get()
            if value:
                return value
        return None


class BilibiliSearch(PlatformAdapter):
    """A search results page: items from the embedded first page, next page by number."""

    PLATFORM = "bilibili"  # items are stored under the platform, not this adapter
    NAME = "bilibili_search"
    FIXTURE_DIR = FIXTURES_DIR / "bilibili"  # one fixture folder per platform module
    VALID_URL = r"https?://search\.bilibili\.com/(?:all|video)\?(?:[^#]*&)?keyword=(?P<id>[^&#]+)"
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = CHALLENGE_MARKERS
    MODES: ClassVar[tuple[str, ...]] = ("listing", "search")

    def start_url(self, url: str, mode: str, *, query: str = "", cursor: str | None = None) -> str:
        """Search mode: the results page for ``query`` (``url`` is then only a label)."""
        super().start_url(url, mode, query=query, cursor=cursor)
        return f"https://search.bilibili.com/all?keyword={quote(query)}" if mode == "search" else url

    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://search.bilibili.com/all?keyword=%E6%9B%BF%E8%BA%AB%E6%96%B0%E5%A8%98",
            "fixture": "search.html",
            "expected": {
                "items": ("count", 3),
                "item_id": "BV1Qm4y1X7aZ",
                "title": "【短剧】替身新娘 第1集 豪门恩怨",
                "thumbnail_url": "https://i0.hdslb.com/bfs/archive/5f2c0d3b1e8a4c7d9e6f1a2b3c4d5e6f7a8b9c0d.jpg",
                "url": "https://www.bilibili.com/video/BV1Qm4y1X7aZ/",
                "uploader": "剧场小鹿",
                "view_count": 128345,
                "tags": ["短剧", "替身新娘", "豪门"],
                "items[2].title": "替身新娘 混剪 宿命感拉满",
                "next_url": "re:[?&]page=2(&|$)",
                "published_at": "2026-11-20T12:00:00+00:00",
                "shape": "pinia:json",
            },
        },
        {
            # The same results as the current site writes them: window.__pinia as a function
            # call (fixtures/bilibili/SOURCE.md).
            "url": "https://search.bilibili.com/all?keyword=%E6%9B%BF%E8%BA%AB%E6%96%B0%E5%A8%98",
            "fixture": "search_pinia.html",
            "expected": {
                "shape": "pinia:function",
                "items": ("count", 3),
                "item_id": "BV1Qm4y1X7aZ",
                "title": "【短剧】替身新娘 第1集 豪门恩怨",
                "thumbnail_url": "https://i0.hdslb.com/bfs/archive/5f2c0d3b1e8a4c7d9e6f1a2b3c4d5e6f7a8b9c0d.jpg",
                "uploader": "剧场小鹿",
                "uploader_id": "405821337",
                "view_count": 128345,
                "items[1].view_count": 98000,
                "tags": ["短剧", "替身新娘", "豪门"],
                "published_at": "2026-11-20T12:00:00+00:00",
                "next_url": "re:[?&]page=2(&|$)",
            },
        },
        {
            "url": "https://search.bilibili.com/video?keyword=%E6%9B%BF%E8%BA%AB%E6%96%B0%E5%A8%98&page=2",
            "fixture": "search_cards.html",
            "expected": {
                "items": ("count", 2),
                "item_id": "BV1Ab4y1c7De",
                "title": "替身新娘 第2集",
                "thumbnail_url": "re:^https://i1\\.hdslb\\.com/",
                "uploader": "剧场小鹿",
                "next_url": None,
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        self.match_id(url)
        page = Page()
        try:
            state, page.shape = _state(body, "__pinia", "__INITIAL_STATE__")
        except AdapterError as exc:  # keep the cards, but say the state was unreadable
            page.errors.append(exc)
            state = None
        results = [r for r in jpath(state, "**") if isinstance(r, dict) and r.get("bvid")
                   and r.get("type", "video") == "video" and "title" in r] if state else []
        seen: set[str] = set()
        for r in results:
            if r["bvid"] in seen:
                continue
            seen.add(r["bvid"])
            add_item(page, CandidateItem(
                platform=self.PLATFORM,
                item_id=r["bvid"],
                url=f"https://www.bilibili.com/video/{r['bvid']}/",
                title=strip_tags(r.get("title")),
                description=str(r.get("description") or ""),
                thumbnail_url=_full_image(abs_url("https://www.bilibili.com/", r.get("pic"))),
                uploader=str(r.get("author") or ""),
                uploader_id=str(r.get("mid") or ""),
                tags=[t for t in str(r.get("tag") or "").split(",") if t],
                published_at=to_datetime(first(r.get("pubdate"), r.get("senddate"))),
                view_count=to_int(r.get("play")),
                ai_flag=_ai_flag(r),
                raw_state=r,
            ))
        if not page.items:  # no state: the server-rendered cards
            self._cards(page, url, Selector(text=body))
            if page.items:
                page.shape = "cards"
        pages = to_int(first(*(jpath(state, "**.numPages") if state else []), default=None))
        current = to_int(parse_qs(urlsplit(url).query).get("page", ["1"])[0]) or 1
        if page.items and (pages is None or current < pages):
            page.next_url = with_query(url, page=str(current + 1)) if pages else None
        return page

    def _cards(self, page: Page, url: str, sel: Selector) -> None:
        for card in sel.css(".bili-video-card"):
            href = card.css('a[href*="/video/"]::attr(href)').get() or ""
            m = re.search(r"/video/(BV[0-9A-Za-z]{10})", href)
            if m is None:
                continue
            add_item(page, CandidateItem(
                platform=self.PLATFORM,
                item_id=m.group(1),
                url=f"https://www.bilibili.com/video/{m.group(1)}/",
                title=first(card.css(".bili-video-card__info--tit::attr(title)").get(),
                            "".join(card.css(".bili-video-card__info--tit ::text").getall()),
                            default="").strip(),
                thumbnail_url=_full_image(abs_url(url, card.css("picture img::attr(src)").get()
                                                  or card.css("img::attr(src)").get())),
                uploader=(card.css(".bili-video-card__info--author::text").get() or "").strip(),
            ))
