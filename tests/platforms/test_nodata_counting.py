"""A page with no data at all is counted as ``challenged`` by the spider (adapter health reads
it as "the site refused us"), not as a parse error, and is not held against the item."""

from __future__ import annotations

from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.errors import errors_from_stats
from crawler.spiders.adapter import AdapterSpider
from tests.platforms.adapters_util import FIXTURES

VIDEO = "https://www.tiktok.com/@reelhouse.drama/video/7441111111111111111"


def _spider(platform: str) -> AdapterSpider:
    crawler = get_crawler(AdapterSpider)
    crawler.spider = spider = AdapterSpider.from_crawler(crawler, url=VIDEO, platform=platform)
    crawler.stats.open_spider(spider)
    return spider


def _feed(spider: AdapterSpider, url: str, body: str, cls: type = HtmlResponse) -> list:
    response = cls(url, body=body.encode("utf-8"), encoding="utf-8", request=Request(url))
    return list(spider.parse_page(response))


def test_no_data_is_challenged_and_the_item_is_asked_again() -> None:
    spider = _spider("tiktok")
    try:
        shell = (FIXTURES / "tiktok/video_shell.html").read_text(encoding="utf-8")
        assert _feed(spider, VIDEO, shell) == []
        errors = errors_from_stats(spider.crawler.stats.get_stats())
        assert errors == {"challenged": 1}
        assert spider.failed_ids == set()  # not counted towards giving up on it
    finally:
        assert spider.catalog is not None
        spider.catalog.close()


def test_unreadable_page_is_still_a_parse_error() -> None:
    spider = _spider("tiktok")
    try:
        _feed(spider, VIDEO, "<html><body>" + "x" * 70_000 + "</body></html>")
        assert errors_from_stats(spider.crawler.stats.get_stats()) == {"parse_error": 1}
        assert spider.failed_ids == {"7441111111111111111"}
    finally:
        assert spider.catalog is not None
        spider.catalog.close()


def test_the_shape_read_is_counted() -> None:
    spider = _spider("douyin")
    try:
        url = "https://www.douyin.com/aweme/v1/web/aweme/post/?sec_user_id=MS4wLjABAAAAx&count=18"
        body = (FIXTURES / "douyin/aweme_list.json").read_text(encoding="utf-8")
        out = _feed(spider, url, body, TextResponse)
        assert len(out) == 3
        assert spider.crawler.stats.get_value("likewatch/shapes/aweme_list") == 1
    finally:
        assert spider.catalog is not None
        spider.catalog.close()
