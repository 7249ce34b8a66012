"""TikTok: video pages.

Since 2024 a video page embeds
``<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">`` whose
``__DEFAULT_SCOPE__["webapp.video-detail"]`` holds ``statusCode`` and
``itemInfo.itemStruct`` (``id``, ``desc``, ``createTime`` as a digit string, ``author``
{``id``, ``uniqueId``, ``nickname``}, ``video`` {``cover``, ``originCover``, ``playAddr``,
``downloadAddr``}, ``stats``/``statsV2`` {``playCount``}, ``textExtra[*].hashtagName``,
``challenges[*].title``). Older pages used ``<script id="SIGI_STATE">`` with
``ItemModule[<id>]``: kept as the fallback. A removed or private video (``statusCode`` not 0
and no item) yields an empty page, not an error.

The logged-out mobile page (what a phone or a mobile user agent gets) keeps the same
``itemInfo.itemStruct`` under ``__DEFAULT_SCOPE__["webapp.reflow.video.detail"]``; ``Page.shape``
says which scope was read. A page whose rehydration data has neither scope and no status (the
app shell TikTok serves to a client it distrusts), or an empty body, has no data at all: NoData,
counted as a challenge. The AI-content label is ``aigcLabelType`` (0 none) or ``IsAigc`` on
the web item (``AIGCDescription`` holds the text), ``aigc_info.aigc_label_type`` in the apps'
API; kept as ``ai_flag``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from crawler.platforms._parsing import (
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
)
from crawler.platforms.base import AdapterError, CandidateItem, NoData, Page, embedded_json

# The scopes of __DEFAULT_SCOPE__ holding one video, desktop first.
DETAIL_SCOPES = ("webapp.video-detail", "webapp.reflow.video.detail")


class TikTok(PlatformAdapter):
    NAME = "tiktok"
    VALID_URL = (r"https?://(?:www\.|m\.)?tiktok\.com/(?:@[\w.-]+/video|embed(?:/v2)?)/"
                 r"(?P<id>\d+)")
    CHALLENGE_MARKERS: ClassVar[tuple[str, ...]] = ("captcha-verify", "tiktok-verify-page",
                                                     "verify-bar-close")
    TESTS: ClassVar[list[dict[str, Any]]] = [
        {
            "url": "https://www.tiktok.com/@reelhouse.drama/video/7441111111111111111",
            "fixture": "video.html",
            "expected": {
                "items": ("count", 1),
                "item_id": "7441111111111111111",
                "url": "https://www.tiktok.com/@reelhouse.drama/video/7441111111111111111",
                "title": "re:^The Substitute Bride ep\\.3",
                "uploader": "ReelHouse Drama",
                "uploader_id": "reelhouse.drama",
                "thumbnail_url": "re:^https://p16-sign-va\\.tiktokcdn\\.com/",
                "video_url": "re:^https://v16-webapp-prime\\.tiktok\\.com/video/",
                "published_at": "2026-11-20T12:00:00+00:00",
                "view_count": 1523000,
                "tags": ["shortdrama", "substitutebride"],
                "shape": "universal:webapp.video-detail",
                "ai_flag": None,
            },
        },
        {
            "url": "https://www.tiktok.com/@reelhouse.drama/video/7441111111111111112",
            "fixture": "video_sigi.html",
            "expected": {"item_id": "7441111111111111112", "uploader": "ReelHouse Drama",
                         "view_count": 88000, "thumbnail_url": "re:^https://"},
        },
        {
            "url": "https://www.tiktok.com/@reelhouse.drama/video/7441111111111111113",
            "fixture": "video_removed.html",
            "expected": {"items": ("count", 0)},
        },
        {
            # The logged-out mobile page: the item under "webapp.reflow.video.detail".
            "url": "https://www.tiktok.com/@reelhouse.drama/video/7441111111111111114",
            "fixture": "video_reflow.html",
            "expected": {
                "shape": "universal:webapp.reflow.video.detail",
                "items": ("count", 1),
                "item_id": "7441111111111111114",
                "uploader_id": "reelhouse.drama",
                "thumbnail_url": "re:^https://p16-sign-va\\.tiktokcdn\\.com/",
                "video_url": "re:^https://v16-webapp-prime\\.tiktok\\.com/video/",
                "view_count": 1523000,
                "ai_flag": "aigcLabelType=1",
            },
        },
    ]

    def parse(self, url: str, body: str) -> Page:
        vid = self.match_id(url)
        if is_blank(body):
            raise NoData(f"tiktok: empty response on {url}")
        struct: Any = None
        status = 0
        shape = ""
        try:
            data = embedded_json(body, "__UNIVERSAL_DATA_FOR_REHYDRATION__")
            scopes = jfirst(data, "__DEFAULT_SCOPE__", default={})
            scope = next((s for s in DETAIL_SCOPES if isinstance(scopes, dict) and s in scopes), None)
            if scope is None:
                raise NoData(f"tiktok: rehydration data without a video scope on {url}")
            detail = scopes[scope] if isinstance(scopes[scope], dict) else {}
            struct = jfirst(detail, "itemInfo.itemStruct")
            status = to_int(detail.get("statusCode")) or 0
            shape = f"universal:{scope}"
        except NoData:
            raise
        except AdapterError:
            try:
                sigi = embedded_json(body, "SIGI_STATE")
            except AdapterError:
                raise AdapterError(f"tiktok: no embedded state on {url}") from None
            shape = "sigi_state"
            struct = jfirst(sigi, f'ItemModule["{vid}"]', "ItemModule.*")
            if isinstance(struct, dict) and isinstance(struct.get("author"), str):
                user = jfirst(sigi, f'UserModule.users["{struct["author"]}"]', default={})
                struct = {**struct, "author": {**user, "uniqueId": struct["author"]}}
        if not isinstance(struct, dict) or not struct.get("id"):
            if status:  # removed, private or region-locked: nothing to parse
                return Page(shape=shape)
            raise AdapterError(f"tiktok: no itemStruct on {url}")
        found = struct.get("author")
        author = found if isinstance(found, dict) else {}
        handle = str(first(author.get("uniqueId"), default=""))
        tags = [t for t in jpath(struct, "textExtra[*].hashtagName") if t] or \
            [t for t in jpath(struct, "challenges[*].title") if t]
        item = CandidateItem(
            platform=self.NAME,
            item_id=str(struct["id"]),
            url=f"https://www.tiktok.com/@{handle}/video/{struct['id']}" if handle else url,
            title=str(first(struct.get("desc"), jfirst(struct, "contents[0].desc"),
                            default="")).strip(),
            description=str(struct.get("desc") or ""),
            thumbnail_url=abs_url(url, jfirst(struct, "video.originCover", "video.cover",
                                              "video.dynamicCover")),
            video_url=abs_url(url, jfirst(struct, "video.playAddr", "video.downloadAddr",
                                          "video.bitrateInfo[0].PlayAddr.UrlList[0]")),
            uploader=str(first(author.get("nickname"), handle, default="")),
            uploader_id=handle,
            tags=list(dict.fromkeys(tags)),
            published_at=to_datetime(struct.get("createTime")),
            view_count=to_int(jfirst(struct, "statsV2.playCount", "stats.playCount")),
            ai_flag=flag(struct, "aigcLabelType", "IsAigc", "aigc_info.aigc_label_type"),
            raw_state=struct,
        )
        page = Page(shape=shape)
        add_item(page, item)
        return page
