"""The last pipeline step: records the candidate in the catalog, ``match_status="pending"``.

The catalog table is the matchers' queue: nothing is hashed or embedded in the reactor; the
scheduler's matcher role (or ``likewatch crawl --match``) calls
``matchers.pipeline.process_pending`` afterwards.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crawler.items import CrawlResult, MediaFile
from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, Media
from likewatch.catalog.provenance import set_platform_flag


class CatalogPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.catalog: Catalog | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CatalogPipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        self.catalog = Catalog.open()

    async def close_spider(self) -> None:
        if self.catalog is not None:
            self.catalog.close()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, CrawlResult):
            return item
        assert self.catalog is not None and self.crawler.stats is not None
        cand = item.candidate
        try:
            self._insert(item)
        except IntegrityError as exc:  # another crawler recorded it meanwhile
            self.crawler.stats.inc_value("likewatch/items_seen")
            raise DropItem(f"{cand.platform}:{cand.item_id} already in the catalog") from exc
        self.crawler.stats.inc_value("likewatch/items_new")
        return item

    def _insert(self, item: CrawlResult) -> None:
        assert self.catalog is not None and self.crawler.stats is not None
        cand = item.candidate
        with self.catalog.session() as s:
            exists = s.execute(
                select(Candidate.id).where(
                    Candidate.platform == cand.platform, Candidate.item_id == cand.item_id
                )
            ).first()
            if exists is not None:
                self.crawler.stats.inc_value("likewatch/items_seen")
                raise DropItem(f"{cand.platform}:{cand.item_id} already in the catalog")
            for media in (item.thumbnail, item.video):
                if media is not None:
                    _ensure_media(s, media)
            row = Candidate(
                platform=cand.platform,
                item_id=cand.item_id,
                url=cand.url,
                title=cand.title,
                description=cand.description,
                uploader=cand.uploader,
                uploader_id=cand.uploader_id,
                tags=cand.tags,
                cast=cand.cast,
                published_at=cand.published_at,
                view_count=cand.view_count,
                thumbnail_url=cand.thumbnail_url,
                video_url=cand.video_url,
                thumbnail_sha256=item.thumbnail.sha256 if item.thumbnail else None,
                video_sha256=item.video.sha256 if item.video else None,
                raw_state=cand.raw_state,
                watch=item.watch,
                match_status="pending",
            )
            s.add(row)
            s.flush()
            set_platform_flag(s, row.id, cand.ai_flag)


def _ensure_media(session: Any, media: MediaFile) -> None:
    if session.get(Media, media.sha256) is None:
        session.add(
            Media(
                sha256=media.sha256,
                kind=media.kind,
                content_type=media.content_type,
                size=media.size,
                path=media.path,
            )
        )
        session.flush()
