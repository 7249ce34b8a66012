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
"""

from __future__ import annotations

from typing import Any, ClassVar

from crawler.platforms._parsing import (
    PlatformAdapter,
    abs_url,
    add_item,
    cast_list,
    first,
    jfirst,
    jpath,
    to_datetime,
    to_int,
)
from crawler.platforms.base import AdapterError, CandidateItem, Page, embedded_json

BASE = "https://www.hongguo.com/"


class Hongguo(PlatformAdapter):
    NAME = "hongguo"
    VALID_URL = r"https?://(?:www\.)?hongguo\.com/series/(?:\d+/episode/)?(?P<id>\d+)"
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
    ]

    def parse(self, url: str, body: str) -> Page:
        wanted = self.match_id(url)
        state = embedded_json(body, "window._ROUTER_DATA")
        loaders = jfirst(state, "loaderData", default=state)
        series = next((n for n in jpath(loaders, "**") if isinstance(n, dict)
                       and n.get("series_id") and n.get("series_name")), None)
        if series is None:
            raise AdapterError(f"hongguo: no series in _ROUTER_DATA on {url}")
        sid = str(series["series_id"])
        cast = cast_list(first(series.get("celebrities"), series.get("actor_list"),
                               jfirst(loaders, "**.celebrities"), default=[]),
                         name_keys=("nickname", "actor_name", "name"),
                         role_keys=("role_name", "role", "character"))
        tags = [t for t in (jpath(series, "tags[*]") + jpath(series, "category_list[*].name"))
                if isinstance(t, str) and t]
        episodes = [n for n in jpath(loaders, "**") if isinstance(n, dict)
                    and first(n.get("vid"), n.get("episode_id")) and "index" in n]
        if "/episode/" in url:
            episodes = [e for e in episodes if str(first(e.get("episode_id"), e.get("vid")))
                        == wanted] or episodes[:1]
        page = Page()
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
