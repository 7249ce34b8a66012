"""The sandbox adapter offline (beyond its TESTS), and the media checks, on real files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from crawler.pipelines.media import image_problem, mp4_truncated
from crawler.platforms import adapter_for_url, all_adapters, get_adapter
from crawler.platforms.base import AdapterError, MissingField
from crawler.platforms.sandbox import SandboxAdapter

FIXTURES = Path(__file__).resolve().parents[2] / "crawler/platforms/fixtures/sandbox"
BASE = "http://127.0.0.1:8700"


def test_registry() -> None:
    assert all_adapters()["sandbox"] is SandboxAdapter
    assert get_adapter("sandbox") is SandboxAdapter
    assert adapter_for_url(f"{BASE}/video/v00001") is SandboxAdapter
    assert adapter_for_url("https://example.com/video/1") is None
    with pytest.raises(AdapterError, match="unknown platform"):
        get_adapter("nope")


def test_start_urls() -> None:
    a = SandboxAdapter()
    assert a.start_url(BASE, "listing") == f"{BASE}/browse?page=1"
    assert a.start_url(f"{BASE}/browse?page=3", "listing") == f"{BASE}/browse?page=3"
    assert a.start_url(BASE + "/", "search", query="第1集 身份") == (
        f"{BASE}/search?q=%E7%AC%AC1%E9%9B%86%20%E8%BA%AB%E4%BB%BD")
    assert a.start_url(BASE, "api") == f"{BASE}/api/feed?limit=50"
    assert a.start_url(BASE, "api", cursor="cG9zOjM") == f"{BASE}/api/feed?limit=50&cursor=cG9zOjM"
    assert a.cursor_url(f"{BASE}/api/feed?limit=50&cursor=A", "B") == f"{BASE}/api/feed?limit=50&cursor=B"


def test_malformed_state_is_a_parse_error() -> None:
    body = (FIXTURES / "video_malformed.html").read_text(encoding="utf-8")
    with pytest.raises(AdapterError) as info:
        SandboxAdapter().parse(f"{BASE}/video/v00013", body)
    assert info.value.kind == "parse_error"
    body = '<script id="__NEXT_DATA__" type="application/json">{"props": {}}</script>'
    with pytest.raises(AdapterError, match="pageProps"):
        SandboxAdapter().parse(f"{BASE}/video/v1", body)
    with pytest.raises(AdapterError, match="not found"):
        SandboxAdapter().parse(f"{BASE}/video/v1", "<html>nothing</html>")


def test_api_keeps_good_items_when_one_is_bad() -> None:
    doc = json.loads((FIXTURES / "api_feed.json").read_text(encoding="utf-8"))
    doc["items"][1] = dict(doc["items"][1], id="")
    doc["items"][2] = dict(doc["items"][2], thumbnailUrl="", videoUrl=None)
    page = SandboxAdapter().parse(f"{BASE}/api/feed", json.dumps(doc))
    assert [i.item_id for i in page.items] == ["v00001"]
    assert [type(e) for e in page.errors] == [MissingField, MissingField]
    assert {e.kind for e in page.errors} == {"missing_field"}
    with pytest.raises(AdapterError, match="malformed JSON"):
        SandboxAdapter().parse(f"{BASE}/api/feed", '{"items": [')
    with pytest.raises(AdapterError, match="no items"):
        SandboxAdapter().parse(f"{BASE}/api/feed", '{"error": "invalid cursor"}')


def test_search_error_is_reported_not_silent() -> None:
    body = '<p id="status">加载失败: HTTP 500</p><div id="results"></div>'
    with pytest.raises(AdapterError, match="failed to load"):
        SandboxAdapter().parse(f"{BASE}/search?q=x", body)


def test_optional_fields_never_fatal() -> None:
    item = SandboxAdapter().item_from_state(
        {"id": "v9", "thumbnailUrl": "/media/thumb/v9.jpg", "viewCount": "many",
         "publishedAt": "yesterday", "uploader": None, "tags": [1, "ok"], "cast": ["x"]},
        f"{BASE}/api/feed",
    )
    assert (item.view_count, item.published_at, item.uploader, item.tags, item.cast) == (
        None, None, "", ["ok"], [])


def test_image_problem_on_sandbox_thumbnails(sandbox_data: Path) -> None:
    thumb = sorted((sandbox_data / "media" / "thumb").glob("*.jpg"))[0].read_bytes()
    assert image_problem(thumb) is None
    # what the sandbox serves for a broken thumbnail: garbage header, a third of the rest
    assert image_problem(b"\x00" * 16 + thumb[16: len(thumb) // 3]) is not None
    assert image_problem(thumb[: len(thumb) // 2]) is not None  # a cut JPEG does not decode
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    assert image_problem(png.getvalue()) is None


def test_mp4_truncation_on_sandbox_videos(sandbox_data: Path) -> None:
    videos = sorted((sandbox_data / "media" / "video").glob("*.mp4"))[:5]
    assert videos
    for path in videos:
        data = path.read_bytes()
        assert not mp4_truncated(data)
        assert mp4_truncated(data[: len(data) * 3 // 5])
        assert mp4_truncated(data[:-1])


@pytest.mark.parametrize("case", SandboxAdapter.TESTS, ids=lambda c: c["fixture"])
def test_sandbox_tests_offline(case: dict) -> None:
    """The adapter's own TESTS against its recorded fixtures (also run for every adapter by
    tests/platforms; repeated here so the crawler's suite stands on its own)."""
    from tests.platforms.adapters_util import check_expected

    body = (FIXTURES / case["fixture"]).read_text(encoding="utf-8")
    check_expected(SandboxAdapter().parse(case["url"], body), case["expected"])
