"""Hongguo (红果短剧) micro-dramas: series and episode pages, with the cast.

Hongguo is a ByteDance app; its web pages are built with ByteDance's Modern.js, whose
server render embeds the route loaders' data as ``window._ROUTER_DATA = {"loaderData":
{"<route id>": {...}}, "errors": null}``. The route ids (``"series/(id)/page"``,
``"layout"``) change between releases, so the series and episodes are found by shape:

- the series: an object with ``series_id`` and ``series_name`` (``series_intro``,
  ``cover_url``, ``episode_cnt``, ``tags``/``category_list``, ``celebrities`` = the cast:
  ``nickname`` of the actor and ``role_name`` they play);
- episodes: objects with ``vid`` or ``episode_id`` and an ``index`` (``title``, ``cover``,
  ``duration``, on episode pages also ``play_url``).

Every episode is one candidate; the series' cast, tags and description go on each, since
names in credits are a matching signal (matchers/names.py). The field names are those of
the app's public share API as open-source clients describe it; see fixtures/hongguo/SOURCE.md.

The pages public 2025–26 scrapers read live on ``novelquickapp.com`` (also
``hongguoduanju.com``), with the same ``_ROUTER_DATA`` and other shapes (``Page.shape``):

- ``detail``: ``/detail?series_id=ID``, ``loaderData.detail_page.seriesDetail`` with
  ``series_name``, ``series_intro``, ``tags`` and ``vid_list`` — the episodes as a list of id
  strings (numbered in that order from 1; the series cover is each one's image);
- ``share``: ``/hongguo/ug/pages/<page>?…`` share pages (``video-animation-share``,
  ``video-list-share-ssr``), ``loaderData["<page>_page"].pageData`` with ``series_data``
  (``title`` rather than ``series_name``, ``series_intro``, ``category``, ``play_url`` of the
  episode shared) and ``chapter_ids``; the shared episode is the ``content_id`` of the URL's
  ``report_params`` (or the ``vid`` in its ``zlink``), and only it gets the ``play_url``;
- ``series``: the ``series_id``/``series_name`` objects of the first version (hongguo.com).

Cast appears as ``{"nickname": actor, "sub_title": "饰 <role>"}`` (the page's "actor as role"
line) as well as ``celebrities[*].nickname/role_name``.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from crawler.platforms._parsing import (
    PlatformAdapter,
    abs_url,
    add_item,
    cast_list,
    first,
    is_blank,
    jfirst,
    jpath,
    to_datetime,
    to_int,
)
from crawler.platforms.base import AdapterError, CandidateItem, NoData, Page, embedded_json

BASE = "https://www.hongguo.com/"
SITE = "https://novelquickapp.com/"


class Hongguo(PlatformAdapter):
    NAME = "hongguo"
    VALID_URL = (r"https?://(?:www\.)?(?:hongguo\.com/series/(?:\d+/episode/)?(?P<id>\d+)"
                 r"|(?:novelquickapp|hongguoduanju)\.com/(?:detail\?(?:[^#]*&)?series_id=(?P<sid>\d+)"
                 r"|hongguo/ug/pages/(?P<page>[\w-]+)))")
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = ("验证码中间页", "verifycenter",
                                                     "byted_acrawler")
    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://www.hongguo.com/series/7401234567890123456",
            "fixture": "series.html",
            "expected": {
                "items": ("count", 3),
                "item_id": "7401234567890100001",
                "url": "https://www.hongguo.com/series/7401234567890123456/episode/7401234567890100001",
                "title": "替身新娘 第1集",
                "thumbnail_url": "re:^https://p\\d+-novel\\.byteimg\\.com/",
                "description": "re:^豪门千金",
                "uploader": "红果短剧",
                "tags": ["豪门", "替身", "甜宠"],
                "cast": [{"name": "林晓雨", "role": "苏念"}, {"name": "陈子墨", "role": "顾承泽"},
                         {"name": "王 一 凡", "role": "苏婉"}],
                "published_at": "2026-11-18T04:00:00+00:00",
                "view_count": 23000000,
                "items[2].title": "替身新娘 第3集",
            },
        },
        {
            "url": "https://www.hongguo.com/series/7401234567890123456/episode/7401234567890100002",
            "fixture": "episode.html",
            "expected": {
                "items": ("count", 1),
                "item_id": "7401234567890100002",
                "title": "替身新娘 第2集",
                "video_url": "re:^https://v\\d+-dy-o\\.zjcdn\\.com/.+mp4",
                "cast": ("count", 2),
            },
        },
        {
            "url": "https://novelquickapp.com/detail?series_id=7420000000000000001",
            "fixture": "detail.html",
            "expected": {
                "shape": "detail",
                "items": ("count", 4),
                "item_id": "7420000000000100001",
                "items[3].item_id": "7420000000000100004",
                "title": "替身新娘 第1集",
                "items[3].title": "替身新娘 第4集",
                "thumbnail_url": "re:^https://p\\d+-novel\\.byteimg\\.com/",
                "tags": ["豪门", "替身"],
                "cast": [{"name": "林晓雨", "role": "苏念"}, {"name": "陈子墨", "role": "顾承泽"}],
                "url": "https://novelquickapp.com/detail?series_id=7420000000000000001&vid=7420000000000100001",
            },
        },
        {
            "url": "https://novelquickapp.com/hongguo/ug/pages/video-animation-share?share_token=SCRUBBED&report_params=%7B%22content_id%22%3A%227420000000000100002%22%7D",
            "fixture": "share.html",
            "expected": {
                "shape": "share",
                "items": ("count", 3),
                "item_id": "7420000000000100001",
                "items[1].item_id": "7420000000000100002",
                "items[1].title": "替身新娘 第2集",
                "items[1].video_url": "re:^https://v\\d+-dy-o\\.zjcdn\\.com/.+",
                "video_url": "",
                "description": "re:^豪门千金",
                "tags": ["都市"],
                "cast": [{"name": "林晓雨", "role": "苏念"}],
                "url": "https://novelquickapp.com/detail?series_id=7420000000000000001&vid=7420000000000100001",
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        wanted = self.match_id(url)
        if is_blank(body):
            raise NoData(f"hongguo: empty response on {url}")
        state = embedded_json(body, "window._ROUTER_DATA")
        loaders = jfirst(state, "loaderData", default=state)
        detail = jfirst(loaders, "detail_page.seriesDetail", "*.seriesDetail")
        routes = list(loaders.values()) if isinstance(loaders, dict) else []
        share = next((r["pageData"] for r in routes if isinstance(r, dict)
                      and isinstance(r.get("pageData"), dict)
                      and isinstance(r["pageData"].get("series_data"), dict)), None)
        cast = _cast(loaders)
        if isinstance(detail, dict) and isinstance(detail.get("vid_list"), list):
            return self._id_list(url, detail, detail["vid_list"], cast, "detail", {})
        if share is not None:
            series = share["series_data"]
            ids = first(share.get("chapter_ids"), series.get("chapter_ids"), default=[])
            shared = _shared_vid(url)
            play = {shared: series.get("play_url")} if shared and series.get("play_url") else {}
            return self._id_list(url, series, ids if isinstance(ids, list) else [], cast,
                                 "share", play, share)
        return self._series(url, wanted, loaders, cast)

    def _id_list(self, url: str, series: dict[str, Any], ids: list[Any],
                 cast: list[dict[str, str]], shape: str, play: dict[str, Any],
                 extra: dict[str, Any] | None = None) -> Page:
        """Episodes given as a list of id strings, numbered in order from 1."""
        sid = str(first(series.get("series_id"), (extra or {}).get("series_id"),
                        _query(url, "series_id"), default=""))
        name = str(first(series.get("series_name"), series.get("title"), default=""))
        tags = [t for t in (jpath(series, "tags[*]") + [series.get("category")])
                if isinstance(t, str) and t]
        cover = first(series.get("series_cover"), series.get("cover_url"), series.get("cover"),
                      series.get("thumb_url"))
        page = Page(shape=shape)
        for n, vid in enumerate(ids, 1):
            if not isinstance(vid, str | int) or not str(vid):
                continue
            add_item(page, CandidateItem(
                platform=self.NAME,
                item_id=str(vid),
                url=f"{SITE}detail?series_id={sid}&vid={vid}" if sid else "",
                title=f"{name} 第{n}集" if name else f"第{n}集",
                description=str(first(series.get("series_intro"), default="")),
                thumbnail_url=abs_url(SITE, cover),
                video_url=abs_url(SITE, play.get(str(vid))),
                uploader=str(first(series.get("source"), default="")),
                tags=tags,
                cast=cast,
                view_count=to_int(series.get("play_cnt")),  # "popularity" is a heat score, not views
                raw_state={"series_id": sid, "index": n},
            ))
        return page

    def _series(self, url: str, wanted: str, loaders: Any, cast: list[dict[str, str]]) -> Page:
        series = next((n for n in jpath(loaders, "**") if isinstance(n, dict)
                       and n.get("series_id") and n.get("series_name")), None)
        if series is None:
            raise AdapterError(f"hongguo: no series in _ROUTER_DATA on {url}")
        sid = str(series["series_id"])
        cast = cast_list(first(series.get("celebrities"), series.get("actor_list"),
                               jfirst(loaders, "**.celebrities"), default=[]),
                         name_keys=("nickname", "actor_name", "name"),
                         role_keys=("role_name", "role", "character")) or cast
        tags = [t for t in (jpath(series, "tags[*]") + jpath(series, "category_list[*].name"))
                if isinstance(t, str) and t]
        episodes = [n for n in jpath(loaders, "**") if isinstance(n, dict)
                    and first(n.get("vid"), n.get("episode_id")) and "index" in n]
        if "/episode/" in url:
            episodes = [e for e in episodes if str(first(e.get("episode_id"), e.get("vid")))
                        == wanted] or episodes[:1]
        page = Page(shape="series")
        seen: set[str] = set()
        for ep in sorted(episodes, key=lambda e: to_int(e.get("index")) or 0):
            eid = str(first(ep.get("episode_id"), ep.get("vid")))
            if eid in seen:
                continue
            seen.add(eid)
            add_item(page, CandidateItem(
                platform=self.NAME,
                item_id=eid,
                url=f"{BASE}series/{sid}/episode/{eid}",
                title=str(first(ep.get("title"),
                                f"{series['series_name']} 第{ep.get('index')}集")),
                description=str(first(series.get("series_intro"), default="")),
                thumbnail_url=abs_url(BASE, first(ep.get("cover"), ep.get("cover_url"),
                                                  series.get("cover_url"))),
                video_url=abs_url(BASE, first(ep.get("play_url"), jfirst(ep, "video_info.main_url"))),
                uploader=str(first(jfirst(series, "producer.name"), series.get("source"),
                                   default="")),
                tags=tags,
                cast=cast,
                published_at=to_datetime(first(ep.get("publish_time"),
                                               series.get("online_time"))),
                view_count=to_int(first(ep.get("play_cnt"), series.get("play_cnt"))),
                raw_state={"series_id": sid, "episode": ep},
            ))
        return page


def _cast(loaders: Any) -> list[dict[str, str]]:
    """Credits written ``{"nickname": actor, "sub_title": "饰 <role>"}`` anywhere in the state."""
    entries = [{"name": n.get("nickname"), "role": re.sub(r"^\s*饰演?\s*", "", n["sub_title"])}
               for n in jpath(loaders, "**") if isinstance(n, dict) and n.get("nickname")
               and isinstance(n.get("sub_title"), str) and n["sub_title"].strip().startswith("饰")]
    out: list[dict[str, str]] = []
    for c in cast_list(entries):
        if c not in out:
            out.append(c)
    return out


def _query(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query).get(name, [""])[0]


def _shared_vid(url: str) -> str:
    """The episode a share page shows: ``report_params.content_id``, or the ``vid`` of the
    ``schemeParams`` inside its ``zlink``."""
    for raw, key in ((_query(url, "report_params"), "content_id"),
                     (parse_qs(urlsplit(_query(url, "zlink")).query).get("schemeParams", [""])[0],
                      "vid")):
        try:
            value = json.loads(raw).get(key) if raw else None
        except (json.JSONDecodeError, AttributeError):
            value = None
        if isinstance(value, str | int) and str(value):
            return str(value)
    return ""
