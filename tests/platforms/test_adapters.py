"""Every adapter's TESTS, offline against its fixture; the same cases `live` as canaries."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from crawler.platforms.base import Adapter
from tests.platforms.adapters_util import (
    all_adapters,
    cases,
    check_expected,
    discovered_adapters,
    fixture_path,
)

CASES = cases()
IDS = [f"{name}-{i}" for name, i, _cls, _case in CASES]
# Live canaries: the real platforms only (the sandbox's cases are covered by its own crawls).
LIVE = [c for c in CASES if urlsplit(c[3]["url"]).hostname not in ("127.0.0.1", "localhost")]

# URLs that are not in any TESTS but must still be claimed by exactly one adapter.
EXTRA_URLS = [
    "https://www.bilibili.com/video/BV1GJ411x7h7/",
    "https://www.bilibili.com/video/av170001",
    "https://m.bilibili.com/video/BV1GJ411x7h7",
    "https://search.bilibili.com/all?keyword=%E7%9F%AD%E5%89%A7",
    "https://search.bilibili.com/video?keyword=abc&page=2",
    "https://www.douyin.com/video/7301234567890123456",
    "https://www.douyin.com/user/MS4wLjABAAAAabc-def_123",
    "https://www.douyin.com/search/%E7%9F%AD%E5%89%A7?type=video",
    "https://www.kuaishou.com/short-video/3xabc123def456",
    "https://www.kuaishou.com/profile/3xuser789",
    "https://www.kuaishou.com/search/video?searchKey=%E7%9F%AD%E5%89%A7",
    "https://www.tiktok.com/@some.user/video/7301234567890123456",
    "https://www.tiktok.com/embed/v2/7301234567890123456",
    "https://www.youtube.com/shorts/dQw4w9WgXcQ",
    "https://youtube.com/shorts/dQw4w9WgXcQ?feature=share",
    "https://www.youtube.com/@SomeChannel/shorts",
    "https://www.youtube.com/channel/UC1234567890abcdefghijkl/shorts",
    "https://www.hongguo.com/series/7401234567890123456",
    "https://www.hongguo.com/series/7401234567890123456/episode/7401234567890129999",
    "https://www.reelshort.com/movie/the-substitute-bride-66b1c2d3e4f5a6b7c8d9e0f1",
    "https://www.reelshort.com/episodes/episode-1-the-substitute-bride-66b1c2d3e4f5a6b7c8d9e0f1-a1b2c3d4e5",
    "https://www.dramaboxdb.com/movie/41000123456/the-hidden-heiress",
    "https://www.dramaboxdb.com/ep/41000123456_the-hidden-heiress/700012345_Episode-1",
]


def test_adapters_are_found() -> None:
    names = set(all_adapters())
    for expected in ("bilibili", "bilibili_search", "douyin", "douyin_search", "kuaishou",
                     "tiktok", "youtube_shorts", "hongguo", "reelshort", "dramabox",
                     "yaml:sandbox"):
        assert expected in names
    # every adapter found on disk is also in the registry (once the registry exists)
    import crawler.platforms as pkg

    if hasattr(pkg, "all_adapters"):
        missing = set(discovered_adapters()) - set(pkg.all_adapters())
        assert not missing, f"registry misses {sorted(missing)}"


def test_every_adapter_has_tests_and_a_valid_url_with_id() -> None:
    for name, cls in all_adapters().items():
        assert cls.TESTS, f"{name} has no TESTS"
        if cls.VALID_URL is not None:
            assert "(?P<id>" in cls.VALID_URL, name
            re.compile(cls.VALID_URL)


@pytest.mark.parametrize(("name", "index", "cls", "case"), CASES, ids=IDS)
def test_adapter_case_offline(name: str, index: int, cls: type[Adapter], case: dict) -> None:
    body = fixture_path(cls, case).read_text(encoding="utf-8")
    page = cls().parse(case["url"], body)
    check_expected(page, case["expected"])


def test_every_url_is_claimed_by_exactly_one_adapter() -> None:
    """Real-platform URLs (every TESTS URL plus EXTRA_URLS) are claimed by exactly one
    adapter, their own. Loopback URLs (the sandbox's listing, feed and search pages) are
    picked by platform name, so they may be claimed by none, but never by two."""
    adapters = all_adapters()
    owned = [(case["url"], name) for name, _i, _c, case in CASES]
    owned += [(url, None) for url in EXTRA_URLS]
    problems = []
    for url, owner in owned:
        claimed = sorted(name for name, cls in adapters.items() if cls.suitable(url))
        local = urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
        if len(claimed) > 1:
            problems.append((url, claimed))
        elif not local and len(claimed) != 1:
            problems.append((url, claimed))
        elif (claimed and owner is not None and adapters[owner].VALID_URL is not None
              and claimed != [owner]):
            problems.append((url, claimed))
    assert not problems, problems


@pytest.mark.live
@pytest.mark.parametrize(("name", "index", "cls", "case"), LIVE,
                         ids=[f"{n}-{i}" for n, i, _c, _k in LIVE])
def test_adapter_case_live(name: str, index: int, cls: type[Adapter], case: dict) -> None:
    """Canary against the real site: `pytest -m live` (needs the internet). Fetched the way
    a crawl fetches it: Chromium for browser-driven adapters, plain HTTP otherwise, through
    the URL guard, with the configured user agent."""
    from crawler.capture import fetch_browser, fetch_http
    from crawler.health import detect_challenge

    status, body = (fetch_browser if cls.NEEDS_BROWSER else fetch_http)(case["url"])
    challenge = detect_challenge(cls, status, body)
    assert challenge is None, f"{name}: the site refused the canary ({challenge})"
    check_expected(cls().parse(case["url"], body), case["expected"], live=True)
