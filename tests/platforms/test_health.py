"""Adapter health: counts per platform, challenge pages recognised, collapse flagged."""

from __future__ import annotations

import pytest

from crawler.health import detect_challenge, platform_health, record_crawl, record_sample
from crawler.platforms.douyin import Douyin
from crawler.platforms.tiktok import TikTok
from likewatch.catalog import Catalog
from likewatch.cli import main
from tests.platforms.adapters_util import cases, fixture_path


def _summary(platform: str, pages: int, items: int, **errors: int) -> dict:
    return {"platform": platform, "pages": pages, "items_new": items, "items_seen": 0,
            "errors": errors, "watch": f"{platform}:listing"}


def test_challenge_pages_are_recognised() -> None:
    assert detect_challenge(Douyin, 403, "<html>forbidden</html>") == "http_403"
    assert detect_challenge(Douyin, 429, "") == "http_429"
    verify = '<html><head><title>验证码中间页</title></head><body><div id="captcha_container"></div>'
    assert detect_challenge(Douyin, 200, verify).startswith("challenge:")
    tiktok = '<div class="captcha-verify-container"><div id="tiktok-verify-page"></div></div>'
    assert detect_challenge(TikTok, 200, tiktok).startswith("challenge:")
    assert detect_challenge(None, 200, "<p>Please complete the CAPTCHA</p>") == "challenge:captcha"
    # a real page is large and may mention a captcha SDK in its scripts: not a challenge
    big = "<script>var captchaSdk = 'captcha_container';</script>" + "<p>content</p>" * 10000
    assert detect_challenge(Douyin, 200, big) is None


@pytest.mark.parametrize("case", [c for c in cases()], ids=lambda c: f"{c[0]}-{c[1]}")
def test_no_fixture_looks_like_a_challenge(case: tuple) -> None:
    _name, _i, cls, spec = case
    body = fixture_path(cls, spec).read_text(encoding="utf-8")
    assert detect_challenge(cls, 200, body) is None


def test_collapse_is_flagged_broken_and_blocks_are_told_apart() -> None:
    cat = Catalog.open()
    for _ in range(6):
        record_crawl(cat, _summary("douyin", pages=10, items=20))
        record_crawl(cat, _summary("bilibili", pages=10, items=20))
    record_crawl(cat, _summary("douyin", pages=10, items=3, missing_field=4, parse_error=2))
    record_crawl(cat, _summary("bilibili", pages=4, items=8, http_403=6, challenged=2))
    record_sample(cat, "kuaishou", pages=5, items=0)  # one sample: nothing to compare with
    reports = {r.platform: r for r in platform_health(cat)}
    d, b, k = reports["douyin"], reports["bilibili"], reports["kuaishou"]
    assert d.broken and not d.blocked and d.state == "BROKEN"
    assert (d.items, d.pages, d.missing_fields, d.parse_errors) == (123, 70, 4, 2)
    assert d.parse_rate == pytest.approx(0.3) and d.trailing_rate == pytest.approx(2.0)
    assert b.blocked and not b.broken and b.challenged == 8  # 8 refused, 4 parsed (2/page)
    assert not k.broken and k.parse_rate == 0.0 and k.trailing_rate is None
    cat.close()


def test_not_broken_without_enough_history() -> None:
    cat = Catalog.open()
    for _ in range(3):
        record_crawl(cat, _summary("tiktok", pages=10, items=10))
    record_crawl(cat, _summary("tiktok", pages=10, items=0))
    assert not platform_health(cat)[0].broken
    record_crawl(cat, _summary("tiktok", pages=10, items=10))  # recovered
    cat.close()


def test_status_command_shows_adapter_health(capsys: pytest.CaptureFixture[str]) -> None:
    cat = Catalog.open()
    for _ in range(5):
        record_crawl(cat, _summary("hongguo", pages=4, items=40))
    record_crawl(cat, _summary("hongguo", pages=4, items=1))
    cat.close()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "adapter hongguo: BROKEN" in out and "201 items from 24 pages" in out
    assert main(["status", "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["adapters"][0]["platform"] == "hongguo" and doc["adapters"][0]["broken"] is True
