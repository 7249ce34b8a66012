"""What flows through the item pipelines: a parsed candidate plus the media fetched for it."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.platforms.base import CandidateItem


@dataclass
class MediaFile:
    """A media file stored in the MediaStore (content addressed)."""

    kind: str  # "thumbnail" | "video"
    url: str
    sha256: str
    path: str  # relative to LIKEWATCH_HOME
    size: int
    content_type: str
    truncated: bool = False


@dataclass
class CrawlResult:
    """One candidate on its way to the catalog. ``watch`` is the watch key of the crawl."""

    candidate: CandidateItem
    watch: str = ""
    thumbnail: MediaFile | None = None
    video: MediaFile | None = None
