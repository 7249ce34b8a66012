"""YouTube Shorts: a short's page and a channel's Shorts tab.

A short (``youtube.com/shorts/ID``) embeds ``var ytInitialPlayerResponse = {...};`` with
``videoDetails`` (``videoId``, ``title``, ``shortDescription``, ``author``, ``channelId``,
``viewCount`` as a string, ``keywords``, ``thumbnail.thumbnails[*]``) and
``microformat.playerMicroformatRenderer`` (``publishDate`` / ``uploadDate`` ISO 8601); and
``var ytInitialData = {...};`` with the page's overlays. Stream URLs are signature-ciphered
for the web client: the media used is the thumbnail (``i.ytimg.com/vi/ID/...``).

Mobile pages (``m.youtube.com``) write the same objects as JavaScript strings
(``var ytInitialData = '\\x7b\\x22…'``), read by :mod:`crawler.platforms._jsvalue`. A
``/shorts/ID`` page may also embed ``ytInitialReelWatchSequenceResponse``: the reel sequence,
``entries[*].command.reelWatchEndpoint`` (``videoId``, ``thumbnail.thumbnails`` = the frame),
the current short first, then the shorts YouTube plays next. Without a player response the
current short is read from it (and the overlay's metapanel for title and channel); the other
entries become items too (id, URL, frame): each is a short found on the page (not followed,
so a crawl does not walk YouTube's endless sequence). ``Page.shape`` names what was read,
``player``, ``initial_data`` (without a player response) and ``reel_sequence``, joined by ``+``. The thumbnail is the largest of every list the
page gives (``videoDetails`` often stops at 336×188 while the microformat has the 480×360
``hqdefault``).

A channel's Shorts tab (``/@handle/shorts``, ``/channel/UC…/shorts``) embeds ``ytInitialData``
with a ``richGridRenderer`` of ``shortsLockupViewModel`` entries (2024 layout; the older
``reelItemRenderer`` is the fallback). Its ``continuationItemRenderer`` token is for a POST
to the InnerTube API, which we do not make: a crawl reads the newest grid page.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from crawler.platforms._jsvalue import JsValueError, js_assignment
from crawler.platforms._parsing import (
    FIXTURES_DIR,
    PlatformAdapter,
    add_item,
    first,
    is_blank,
    jfirst,
    jpath,
    to_datetime,
    to_int,
)
from crawler.platforms.base import AdapterError, CandidateItem, NoData, Page

CHALLENGE_MARKERS = ("consent.youtube.com", "www.google.com/sorry", "unusual traffic")


def _state(body: str, name: str) -> Any:
    """The object assigned to ``name`` (JSON or a JavaScript string of JSON), or None."""
    try:
        found = js_assignment(body, name)
    except JsValueError as exc:
        raise AdapterError(f"youtube_shorts: {name} cannot be read: {exc}") from exc
    return found[0] if found is not None and isinstance(found[0], dict) else None


def _area(t: dict[str, Any]) -> int:
    return (to_int(t.get("width")) or 0) * (to_int(t.get("height")) or 0)


def _thumb(video_id: str, *lists: list[Any]) -> str:
    """The largest image of all the lists (width × height), else the frame URL."""
    best = max((t for thumbs in lists for t in thumbs if isinstance(t, dict) and t.get("url")),
               key=_area, default=None)
    return str(best["url"]) if best else f"https://i.ytimg.com/vi/{video_id}/frame0.jpg"


def _sequence_items(platform: str, sequence: Any) -> list[CandidateItem]:
    """One item per short of a reel watch sequence (id, URL, frame)."""
    out: list[CandidateItem] = []
    for endpoint in jpath(sequence, "entries[*].command.reelWatchEndpoint"):
        vid = endpoint.get("videoId") if isinstance(endpoint, dict) else None
        if isinstance(vid, str) and vid:
            out.append(CandidateItem(
                platform=platform, item_id=vid, url=f"https://www.youtube.com/shorts/{vid}",
                thumbnail_url=_thumb(vid, jpath(endpoint, "thumbnail.thumbnails[*]"))))
    return out


def _text(value: Any) -> str:
    """YouTube's text objects: {"simpleText": ..} or {"runs": [{"text": ..}]} or {"content": ..}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "simpleText" in value:
            return str(value["simpleText"])
        if "content" in value:
            return str(value["content"])
        return "".join(str(r.get("text", "")) for r in value.get("runs", []))
    return ""


class YoutubeShorts(PlatformAdapter):
    NAME = "youtube_shorts"
    VALID_URL = r"https?://(?:www\.|m\.)?youtube\.com/shorts/(?P<id>[\w-]{11})"
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = CHALLENGE_MARKERS
    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://www.youtube.com/shorts/Ab3dEf6hIj0",
            "fixture": "short.html",
            "expected": {
                "items": ("count", 1),
                "item_id": "Ab3dEf6hIj0",
                "url": "https://www.youtube.com/shorts/Ab3dEf6hIj0",
                "title": "The Substitute Bride | Episode 3 #shorts #drama",
                "uploader": "ReelHouse Drama",
                "uploader_id": "UCa1B2c3D4e5F6g7H8i9J0kL",
                "thumbnail_url": "https://i.ytimg.com/vi/Ab3dEf6hIj0/oar2.jpg",
                "published_at": "2026-11-20T04:00:00+00:00",
                "view_count": 2345678,
                "tags": ("count", 3),
                "shape": "player",
            },
        },
        {
            # A mobile page: ytInitialData as a JavaScript string, no player response, and
            # the reel sequence (the short itself, then the next two).
            "url": "https://m.youtube.com/shorts/Ab3dEf6hIj0",
            "fixture": "short_mweb.html",
            "expected": {
                "shape": "initial_data+reel_sequence",
                "items": ("count", 3),
                "item_id": "Ab3dEf6hIj0",
                "title": "The Substitute Bride | Episode 3 #shorts #drama",
                "uploader": "@ReelHouseDrama",
                "thumbnail_url": "https://i.ytimg.com/vi/Ab3dEf6hIj0/frame0.jpg",
                "items[1].item_id": "Qq1wWe2rRt3",
                "items[1].url": "https://www.youtube.com/shorts/Qq1wWe2rRt3",
                "items[2].thumbnail_url": "https://i.ytimg.com/vi/Zz9yXx8wVv7/frame0.jpg",
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        vid = self.match_id(url)
        player = _state(body, "ytInitialPlayerResponse")
        data = _state(body, "ytInitialData")
        sequence = _state(body, "ytInitialReelWatchSequenceResponse")
        if player is None and data is None and sequence is None:
            if is_blank(body):
                raise NoData(f"youtube_shorts: empty response on {url}")
            raise AdapterError(f"youtube_shorts: no ytInitialPlayerResponse/ytInitialData on {url}")
        details = jfirst(player, "videoDetails", default={}) if player else {}
        micro = jfirst(player, "microformat.playerMicroformatRenderer", default={}) if player else {}
        overlay = jfirst(data, "**.reelPlayerOverlayRenderer", default={}) if data else {}
        meta = jpath(overlay, "**.reelMetapanelViewModel.metadataItems[*]")
        others = _sequence_items(self.NAME, sequence)
        own = next((i for i in others if i.item_id == vid), None)
        title = first(details.get("title"), _text(micro.get("title")),
                      _text(jfirst(overlay, "**.reelPlayerHeaderRenderer.reelTitleText")),
                      _text(jfirst(meta, "*.shortsVideoTitleViewModel.text")), default="")
        item = CandidateItem(
            platform=self.NAME,
            item_id=str(first(details.get("videoId"), vid)),
            url=f"https://www.youtube.com/shorts/{first(details.get('videoId'), vid)}",
            title=str(title),
            description=str(first(details.get("shortDescription"), _text(micro.get("description")),
                                  default="")),
            thumbnail_url=_thumb(vid, jpath(details, "thumbnail.thumbnails[*]"),
                                 jpath(micro, "thumbnail.thumbnails[*]"),
                                 [{"url": own.thumbnail_url}] if own else []),
            uploader=str(first(details.get("author"), micro.get("ownerChannelName"),
                               _text(jfirst(overlay, "**.channelTitleText")),
                               _text(jfirst(meta, "*.reelChannelBarViewModel.channelName")),
                               default="")),
            uploader_id=str(first(details.get("channelId"), micro.get("externalChannelId"),
                                  default="")),
            tags=[t for t in details.get("keywords") or [] if isinstance(t, str)],
            published_at=to_datetime(first(micro.get("publishDate"), micro.get("uploadDate"))),
            view_count=to_int(first(details.get("viewCount"), micro.get("viewCount"))),
            raw_state={"videoDetails": details} if details else None,
        )
        page = Page(shape="+".join(n for n, v in (("player", player),
                                                   ("initial_data", data and not player),
                                                   ("reel_sequence", sequence)) if v))
        add_item(page, item)
        for other in others:
            if other.item_id != item.item_id:
                add_item(page, other)
        return page


class YoutubeShortsTab(PlatformAdapter):
    """A channel's Shorts tab: a grid of shorts and a continuation token."""

    PLATFORM = "youtube_shorts"  # items are stored under the platform, not this adapter
    NAME = "youtube_shorts_tab"
    FIXTURE_DIR = FIXTURES_DIR / "youtube_shorts"
    VALID_URL = (r"https?://(?:www\.|m\.)?youtube\.com/(?P<id>@[\w.-]+|channel/UC[\w-]{22}|c/[\w.-]+)"
                 r"/shorts/?(?:[?#]|$)")
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = CHALLENGE_MARKERS
    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://www.youtube.com/@ReelHouseDrama/shorts",
            "fixture": "channel_shorts.html",
            "expected": {
                "items": ("count", 3),
                "item_id": "Ab3dEf6hIj0",
                "url": "https://www.youtube.com/shorts/Ab3dEf6hIj0",
                "title": "The Substitute Bride | Episode 3 #shorts #drama",
                "thumbnail_url": "re:^https://i\\.ytimg\\.com/vi/Ab3dEf6hIj0/",
                "view_count": 2300000,
                "uploader": "ReelHouse Drama",
                "items[2].item_id": "Zz9yXx8wVv7",
                "items[2].view_count": 12000,
                "items[1].thumbnail_url": "https://i.ytimg.com/vi/Qq1wWe2rRt3/frame0.jpg",
                "next_cursor": None,
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        self.match_id(url)
        data = _state(body, "ytInitialData")
        if data is None:
            raise AdapterError(f"youtube_shorts_tab: no ytInitialData on {url}")
        channel = str(first(jfirst(data, "metadata.channelMetadataRenderer.title"),
                            _text(jfirst(data, "header.**.title")), default=""))
        channel_id = str(jfirst(data, "metadata.channelMetadataRenderer.externalId", default=""))
        page = Page()
        lockups = jpath(data, "**.shortsLockupViewModel") + jpath(data, "**.shortsLockupViewModelV2")
        for lockup in lockups:
            vid = first(jfirst(lockup, "onTap.innertubeCommand.reelWatchEndpoint.videoId"),
                        re.sub(r"^shorts-shelf-item-", "", str(lockup.get("entityId", ""))))
            if not vid:
                continue
            add_item(page, self._item(
                vid, _text(jfirst(lockup, "overlayMetadata.primaryText")),
                _thumb(vid, jpath(lockup, "thumbnail.sources[*]"),
                       jpath(lockup, "thumbnailViewModel.thumbnailViewModel.image.sources[*]"),
                       jpath(lockup, "onTap.innertubeCommand.reelWatchEndpoint.thumbnail"
                                     ".thumbnails[*]")),
                _text(jfirst(lockup, "overlayMetadata.secondaryText")), channel, channel_id))
            page.shape = "shorts_lockup"
        if not page.items:
            for reel in jpath(data, "**.reelItemRenderer"):
                add_item(page, self._item(
                    reel.get("videoId", ""), _text(reel.get("headline")),
                    _thumb(str(reel.get("videoId", "")), jpath(reel, "thumbnail.thumbnails[*]")),
                    _text(reel.get("viewCountText")), channel, channel_id))
                page.shape = "reel_item"
        # The grid's continuation token is a POST body for the InnerTube API, not a URL
        # parameter: not followed (the first grid page holds the newest shorts).
        return page

    def _item(self, vid: str, title: str, thumb: Any, views: str, channel: str,
              channel_id: str) -> CandidateItem:
        return CandidateItem(
            platform=self.PLATFORM, item_id=vid, url=f"https://www.youtube.com/shorts/{vid}",
            title=title, thumbnail_url=str(thumb or ""), view_count=to_int(views),
            uploader=channel, uploader_id=channel_id,
        )
