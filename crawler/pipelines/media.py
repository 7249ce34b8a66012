"""Fetches each candidate's thumbnail and video under limits and stores them by sha256.

Limits: ``media_max_bytes`` (Scrapy's per-request ``download_maxsize``), ``media_timeout``
(``download_timeout``), and the content type (``image/*`` for thumbnails, ``video/*`` for
videos). Media requests go through the downloader middlewares like pages do, so the URL
guard, robots.txt and the retry middleware apply to them too.

A thumbnail larger than ``media_max_pixels`` (read from its header, before anything is
decoded) is counted ``image_too_large`` and not stored. A thumbnail whose bytes are not a
decodable image is counted ``bad_thumbnail`` (and not stored); a video shorter than announced (Content-Length, or MP4 boxes running past the end)
is counted ``truncated_media`` but stored: the matchers decode what is there. A candidate is
recorded whatever happens to its media.
"""

from __future__ import annotations

import io
import logging
import struct
import warnings
from typing import Any

from PIL import Image
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from crawler.errors import count_error
from crawler.items import CrawlResult, MediaFile
from likewatch import settings
from likewatch.media import MediaStore

log = logging.getLogger(__name__)

_EXPECTED_TYPE = {"thumbnail": "image/", "video": "video/"}


def image_problem(data: bytes) -> str | None:
    """Why ``data`` is not a decodable image, or None. Cheap: verify, then a reduced decode."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (img.width // 8 or 1, img.height // 8 or 1))
            img.load()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for corrupt data
        return f"{type(exc).__name__}: {exc}"
    return None


def pixel_problem(data: bytes, limit: int) -> str | None:
    """Why the image is too large to decode (from its header alone), or None. Bytes that
    are not an image at all are left to :func:`image_problem`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:  # parses the header, decodes nothing
                width, height = img.size
    except Image.DecompressionBombError as exc:
        return str(exc)
    except Exception:  # noqa: BLE001 - not an image: image_problem says why
        return None
    if width * height > limit:
        return f"{width}x{height} = {width * height} pixels, limit {limit}"
    return None


def mp4_truncated(data: bytes) -> bool:
    """True when an MP4's top-level boxes run past the end of the data (a cut-off file)."""
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 8:
            return True
        size, = struct.unpack(">I", data[pos:pos + 4])
        header = 8
        if size == 1:
            if end - pos < 16:
                return True
            size, = struct.unpack(">Q", data[pos + 8:pos + 16])
            header = 16
        elif size == 0:  # box runs to the end of the file
            return False
        if size < header:
            return True  # not a box: corrupt; call it truncated
        pos += size
    return pos > end


class MediaPipeline:
    """Downloads media through the engine (all downloader middlewares apply)."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("LIKEWATCH_MEDIA_ENABLED", True):
            raise NotConfigured
        self.crawler = crawler
        self.store = MediaStore(settings.home())
        self.max_bytes = int(settings.get("media_max_bytes"))
        self.timeout = float(settings.get("media_timeout"))
        self.max_pixels = int(settings.get("media_max_pixels"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MediaPipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, CrawlResult):
            return item
        cand = item.candidate
        if cand.thumbnail_url:
            item.thumbnail = await self.fetch("thumbnail", cand.thumbnail_url)
        if cand.video_url:
            item.video = await self.fetch("video", cand.video_url)
        return item

    def _count(self, kind: str) -> None:
        count_error(self.crawler.stats, kind)

    async def fetch(self, kind: str, url: str) -> MediaFile | None:
        stats = self.crawler.stats
        assert stats is not None and self.crawler.engine is not None
        request = Request(
            url,
            dont_filter=True,
            meta={
                "download_maxsize": self.max_bytes,
                "download_warnsize": 0,
                "download_timeout": self.timeout,
                "download_fail_on_dataloss": False,
                "lw_media": kind,
            },
        )
        try:
            response = await self.crawler.engine.download_async(request)
        except IgnoreRequest:
            return None  # counted where refused (blocked_url, robots)
        except Exception as exc:  # noqa: BLE001 - any download failure only costs this file
            name = type(exc).__name__
            self._count("media_too_large" if "Cancelled" in name else "media_error")
            log.info("media %s failed: %s: %s", url, name, exc)
            return None
        return self._accept(kind, url, response)

    def _accept(self, kind: str, url: str, response: Response) -> MediaFile | None:
        stats = self.crawler.stats
        assert stats is not None
        if response.status != 200:
            self._count("media_http_error")
            return None
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").split(";")[0].strip()
        if not ctype.lower().startswith(_EXPECTED_TYPE[kind]):
            self._count("bad_content_type")
            return None
        data = response.body
        truncated = "dataloss" in response.flags
        announced = response.headers.get(b"Content-Length")
        if announced is not None and announced.isdigit() and int(announced) != len(data):
            truncated = True
        if kind == "thumbnail":
            too_large = pixel_problem(data, self.max_pixels)
            if too_large is not None:
                self._count("image_too_large")
                log.info("thumbnail %s not stored: %s", url, too_large)
                return None
            problem = image_problem(data)
            if problem is not None:
                self._count("bad_thumbnail")
                log.info("bad thumbnail %s: %s", url, problem)
                return None
        elif not truncated and ctype.lower() in {"video/mp4", "video/quicktime"}:
            truncated = mp4_truncated(data)
        if truncated:
            self._count("truncated_media")
        sha, rel = self.store.put(data)
        stats.inc_value(f"likewatch/{kind}s")
        stats.inc_value("likewatch/bytes", len(data))
        return MediaFile(kind, url, sha, rel, len(data), ctype, truncated)
