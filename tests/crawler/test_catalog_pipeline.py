"""The crawler's last step stores the platform's own AI-content flag with the candidate."""

from __future__ import annotations

import asyncio

from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.items import CrawlResult
from crawler.pipelines.catalog import CatalogPipeline
from crawler.platforms.base import CandidateItem
from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate
from likewatch.catalog.provenance import CandidateProvenance


def test_ai_flag_reaches_the_catalog() -> None:
    crawler = get_crawler()
    crawler._apply_settings()
    pipeline = CatalogPipeline.from_crawler(crawler)
    asyncio.run(pipeline.open_spider())
    try:
        for item_id, flag in (("flagged", "aigc_label_type=1"), ("silent", None)):
            cand = CandidateItem(platform="douyin", item_id=item_id,
                                 url=f"https://www.douyin.com/video/{item_id}",
                                 thumbnail_url="https://p3.example/cover.jpg", ai_flag=flag)
            pipeline.process_item(CrawlResult(candidate=cand, watch="w"))
    finally:
        asyncio.run(pipeline.close_spider())
    catalog = Catalog.open()
    with catalog.session() as s:
        ids = {c.item_id: c.id for c in s.scalars(select(Candidate))}
        flags = {r.candidate_id: r.platform_flag for r in s.scalars(select(CandidateProvenance))}
    catalog.close()
    assert flags == {ids["flagged"]: "aigc_label_type=1"}
