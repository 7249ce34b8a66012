"""DramaBox: series ("movie") and episode pages.

www.dramaboxdb.com is a Next.js site: ``<script id="__NEXT_DATA__" type="application/json">``
with ``props.pageProps.bookInfo`` (``bookId``, ``bookName``, ``introduction``, ``cover`` /
``coverWap``, ``tags`` or ``tagV3s[*].tagName``, ``chapterCount``, ``playCount`` like
"2.3M", ``performerList`` = cast: ``performerName``, ``roleName``) and
``props.pageProps.chapterList`` (``id``/``chapterId``, ``chapterName``, ``chapterIndex``,
``cover``); episode pages add ``props.pageProps.chapterInfo`` with the stream
(``videoPath`` or ``mp4``). Current pages number chapters with ``indexStr`` (the number shown,
from 1) instead of ``chapterIndex`` (from 0), and give the stream as ``m3u8Url`` (HLS);
both are read, and a chapter list without either numbering is numbered by position. URLs: ``/movie/<bookId>/<slug>`` and
``/ep/<bookId>_<slug>/<chapterId>_Episode-<n>``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from crawler.platforms._parsing import (
    PlatformAdapter,
    abs_url,
    add_item,
    cast_list,
    episode_number,
    first,
    jfirst,
    jpath,
    to_datetime,
    to_int,
)
from crawler.platforms.base import AdapterError, CandidateItem, Page, embedded_json

BASE = "https://www.dramaboxdb.com/"


class DramaBox(PlatformAdapter):
    NAME = "dramabox"
    VALID_URL = (r"https?://(?:www\.)?dramaboxdb\.com/(?:[a-z]{2}/)?"
                 r"(?:movie/(?P<id>\d+)|ep/\d+_[^/]+/(?P<ep>\d+)_[^/?#]*)")
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = ("cf-challenge", "challenge-platform",
                                                     "Just a moment...")
    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://www.dramaboxdb.com/movie/41000123456/the-hidden-heiress",
            "fixture": "movie.html",
            "expected": {
                "items": ("count", 3),
                "item_id": "41000123456-700012345",
                "url": "https://www.dramaboxdb.com/ep/41000123456_the-hidden-heiress/700012345_Episode-1",
                "title": "The Hidden Heiress - EP 1",
                "thumbnail_url": "re:^https://nchapter\\.dramaboxdb\\.com/",
                "tags": ["CEO", "Hidden Identity", "Romance"],
                "cast": [{"name": "Emily Zhang", "role": "Ava Lin"},
                         {"name": "Daniel Wu Jr.", "role": "Ethan Gu"}],
                "view_count": 2300000,
            },
        },
        {
            "url": "https://www.dramaboxdb.com/ep/41000123456_the-hidden-heiress/700012346_Episode-2",
            "fixture": "episode.html",
            "expected": {
                "items": ("count", 1),
                "item_id": "41000123456-700012346",
                "video_url": "re:\\.mp4",
                "published_at": "2026-11-10T00:00:00+00:00",
                "cast": ("count", 2),
            },
        },
        {
            # Chapters numbered with indexStr (no chapterIndex), streams as m3u8Url.
            "url": "https://www.dramaboxdb.com/movie/41000123456/the-hidden-heiress",
            "fixture": "movie_indexstr.html",
            "expected": {
                "items": ("count", 3),
                "title": "The Hidden Heiress - EP 1",
                "items[2].title": "The Hidden Heiress - EP 3",
                "items[2].url": "re:/700012347_Episode-3$",
                "items[1].video_url": "re:/700012346\\.720p\\.m3u8\\?",
                "shape": "next_data",
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        self.match_id(url)
        props = jfirst(embedded_json(body, "__NEXT_DATA__"), "props.pageProps", default={})
        book = jfirst(props, "bookInfo", "book", default=None)
        if not isinstance(book, dict):
            raise AdapterError(f"dramabox: no pageProps.bookInfo on {url}")
        book_id = str(first(book.get("bookId"), book.get("id"), default=""))
        name = str(first(book.get("bookName"), book.get("name"), default=""))
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        tags = [t for t in (jpath(book, "tags[*]") or jpath(book, "tagV3s[*].tagName"))
                if isinstance(t, str) and t]
        cast = cast_list(first(book.get("performerList"), book.get("performers"), default=[]),
                         name_keys=("performerName", "name"), role_keys=("roleName", "role"))
        chapters = first(props.get("chapterList"), book.get("chapterList"), default=[])
        info = props.get("chapterInfo") if isinstance(props.get("chapterInfo"), dict) else {}
        m = re.match(self.VALID_URL, url)
        if m is not None and m.group("ep"):
            chapters = [c for c in chapters if str(first(c.get("chapterId"), c.get("id")))
                        == m.group("ep")] or ([info] if info else [])
        page = Page(shape="next_data")
        for position, ch in enumerate(chapters):
            cid = str(first(ch.get("chapterId"), ch.get("id"), default=""))
            index = episode_number(ch, position, zero_based=("chapterIndex",),
                                   one_based=("indexStr", "chapterName"))
            extra = info if str(first(info.get("chapterId"), info.get("id"), default="")) == cid else {}
            add_item(page, CandidateItem(
                platform=self.NAME,
                item_id=f"{book_id}-{cid}",
                url=f"{BASE}ep/{book_id}_{slug}/{cid}_Episode-{index}",
                title=f"{name} - EP {index}",
                description=str(first(book.get("introduction"), default="")),
                thumbnail_url=abs_url(BASE, first(ch.get("cover"), extra.get("cover"),
                                                  book.get("cover"), book.get("coverWap"))),
                video_url=abs_url(BASE, first(*(d.get(k) for d in (extra, ch) for k in (
                    "videoPath", "mp4", "m3u8Url", "m3u8")))),
                uploader="DramaBox",
                tags=tags,
                cast=cast,
                published_at=to_datetime(first(extra.get("shelfTime"), ch.get("shelfTime"))),
                view_count=to_int(book.get("playCount")),
                raw_state=ch,
            ))
        return page
