"""ReelShort: series ("movie") and episode pages.

www.reelshort.com is a Next.js site: every page embeds
``<script id="__NEXT_DATA__" type="application/json">`` whose ``props.pageProps.data`` is the
book (a series): ``book_id`` (24 hex), ``book_title``, ``special_desc``, ``book_pic``,
``tag`` (list), ``chapter_count`` and ``online_base`` = the episodes (``chapter_id``,
``serial_number``, ``chapter_name``); episode pages add the episode's ``video_url`` (HLS)
and ``video_pic``. URLs: ``/movie/<slug>-<book_id>`` and
``/episodes/<episode-slug>-<book_id>-<chapter_id>``; series also live at
``/full-episodes/<slug>-<book_id>`` (same state). Fallbacks: camelCase names
(``bookId``, ``bookTitle``) and the OpenGraph tags.

Numbering: the first entry of ``online_base`` can be a preview (a trailer, marked by its
name or a preview/trailer flag), kept as an item titled "Preview"; when the episodes'
``serial_number`` starts at 0 they are numbered from 1 (0 → Episode 1). Streams may be
``video_url`` or ``m3u8Url``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from parsel import Selector

from crawler.platforms._parsing import (
    PlatformAdapter,
    abs_url,
    add_item,
    episode_number,
    first,
    jfirst,
    to_datetime,
    to_int,
)
from crawler.platforms.base import AdapterError, CandidateItem, Page, embedded_json

BASE = "https://www.reelshort.com/"


class ReelShort(PlatformAdapter):
    NAME = "reelshort"
    VALID_URL = (r"https?://(?:www\.)?reelshort\.com/(?:[a-z]{2}/)?(?:movie|episodes|full-episodes)/"
                 r"(?:[\w-]+-)?(?P<id>[0-9a-f]{24}(?:-[0-9a-z]{10})?)/?(?:[?#]|$)")
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = ("cf-challenge", "challenge-platform",
                                                     "Just a moment...")
    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://www.reelshort.com/movie/the-substitute-bride-66b1c2d3e4f5a6b7c8d9e0f1",
            "fixture": "movie.html",
            "expected": {
                "items": ("count", 3),
                "item_id": "66b1c2d3e4f5a6b7c8d9e0f1-a1b2c3d4e5",
                "url": "https://www.reelshort.com/episodes/episode-1-the-substitute-bride-66b1c2d3e4f5a6b7c8d9e0f1-a1b2c3d4e5",
                "title": "The Substitute Bride - Episode 1",
                "thumbnail_url": "re:^https://v-mps\\.crazymaplestudios\\.com/images/",
                "description": "re:(?i)forced to marry",
                "tags": ["Romance", "Billionaire", "Revenge"],
                "items[2].item_id": "66b1c2d3e4f5a6b7c8d9e0f1-c3d4e5f6a7",
            },
        },
        {
            "url": "https://www.reelshort.com/episodes/episode-2-the-substitute-bride-66b1c2d3e4f5a6b7c8d9e0f1-b2c3d4e5f6",
            "fixture": "episode.html",
            "expected": {
                "items": ("count", 1),
                "item_id": "66b1c2d3e4f5a6b7c8d9e0f1-b2c3d4e5f6",
                "title": "The Substitute Bride - Episode 2",
                "video_url": "re:\\.m3u8",
                "published_at": "2026-11-02T00:00:00+00:00",
            },
        },
        {
            # /full-episodes/: a preview first, streams as m3u8Url.
            "url": "https://www.reelshort.com/full-episodes/the-substitute-bride-66b1c2d3e4f5a6b7c8d9e0f1",
            "fixture": "full_episodes.html",
            "expected": {
                "items": ("count", 4),
                "title": "The Substitute Bride - Preview",
                "items[1].title": "The Substitute Bride - Episode 1",
                "items[3].title": "The Substitute Bride - Episode 3",
                "items[3].url": "re:/episodes/episode-3-the-substitute-bride-66b1c2d3e4f5a6b7c8d9e0f1-c3d4e5f6a7$",
                "items[2].video_url": "re:/b2c3d4e5f6/index\\.m3u8$",
                "shape": "next_data",
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        self.match_id(url)
        state = embedded_json(body, "__NEXT_DATA__")
        book = jfirst(state, "props.pageProps.data", "props.pageProps.bookInfo", default=None)
        if not isinstance(book, dict):
            raise AdapterError(f"reelshort: no props.pageProps.data on {url}")
        sel = Selector(text=body)
        book_id = str(first(book.get("book_id"), book.get("bookId"), default=""))
        title = str(first(book.get("book_title"), book.get("bookTitle"),
                          sel.css('meta[property="og:title"]::attr(content)').get(), default=""))
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        desc = str(first(book.get("special_desc"), book.get("description"), default=""))
        tags = [t if isinstance(t, str) else t.get("text", "") for t in book.get("tag") or []]
        cover = first(book.get("book_pic"), sel.css('meta[property="og:image"]::attr(content)').get())
        chapters = first(book.get("online_base"), book.get("chapter_base"), default=[])
        current = jfirst(state, "props.pageProps.chapter", "props.pageProps.episode")
        if "/episodes/" in url:
            cid = self.match_id(url).split("-")[-1]
            chapters = [c for c in chapters if str(c.get("chapter_id")) == cid] or (
                [current] if isinstance(current, dict) else [])
        previews = [c for c in chapters if _is_preview(c)]
        serials = [n for n in (to_int(c.get("serial_number")) for c in chapters
                               if c not in previews) if n is not None]
        shift = 1 if serials and min(serials) == 0 else 0
        page = Page(shape="next_data")
        for position, ch in enumerate(chapters):
            cid = str(ch.get("chapter_id", ""))
            preview = ch in previews
            serial = to_int(ch.get("serial_number"))
            if preview:
                number = 0
            elif serial is not None:
                number = serial + shift
            else:
                number = episode_number(ch, position - len(previews))
            label = "Preview" if preview else f"Episode {number}"
            extra = current if isinstance(current, dict) and str(current.get("chapter_id")) == cid else {}
            add_item(page, CandidateItem(
                platform=self.NAME,
                item_id=f"{book_id}-{cid}",
                url=f"{BASE}episodes/{label.lower().replace(' ', '-')}-{slug}-{book_id}-{cid}",
                title=f"{title} - {label}",
                description=desc,
                thumbnail_url=abs_url(BASE, first(ch.get("video_pic"), extra.get("video_pic"), cover)),
                video_url=abs_url(BASE, first(*(d.get(k) for d in (ch, extra)
                                                for k in ("video_url", "m3u8Url", "m3u8_url")))),
                uploader="ReelShort",
                tags=[t for t in tags if t],
                published_at=to_datetime(first(ch.get("publish_at"), extra.get("publish_at"))),
                raw_state=ch,
            ))
        return page


def _is_preview(chapter: dict[str, Any]) -> bool:
    """A trailer before the episodes: flagged, or named so."""
    if any(chapter.get(k) in (True, 1, "1") for k in ("is_preview", "is_trailer")):
        return True
    kind = str(first(chapter.get("chapter_type"), chapter.get("type"), default="")).lower()
    name = str(chapter.get("chapter_name") or "").lower()
    return kind in ("preview", "trailer") or bool(re.match(r"(preview|trailer|预告)", name))
