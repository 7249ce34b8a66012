"""The adapters' helpers: the JSON path language, number / date / URL normalisation, YAML
site validation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crawler.platforms._parsing import abs_url, jfirst, jpath, to_datetime, to_int, with_query
from crawler.platforms.base import AdapterError
from crawler.platforms.generic import load_site

DOC = {"a": {"b": [{"c": 1}, {"c": 2}, {"d": 3}]},
       "__DEFAULT_SCOPE__": {"webapp.video-detail": {"itemInfo": {"id": "x"}}},
       "41": {"aweme": {"detail": {"awemeId": "7"}}}}


@pytest.mark.parametrize(("path", "expected"), [
    ("a.b[*].c", [1, 2]),
    ("a.b[0].c", [1]),
    ("a.b[-1].d", [3]),
    ("a.b[9].c", []),
    ('__DEFAULT_SCOPE__["webapp.video-detail"].itemInfo.id', ["x"]),
    ("*.aweme.detail.awemeId", ["7"]),
    ("**.awemeId", ["7"]),
    ("**.c", [1, 2]),
    ("missing.path", []),
])
def test_jpath(path: str, expected: list) -> None:
    assert jpath(DOC, path) == expected


def test_jfirst_is_a_fallback_chain() -> None:
    assert jfirst(DOC, "nope", "a.b[*].d", "a.b[0].c") == 3
    assert jfirst(DOC, "nope", default="-") == "-"
    with pytest.raises(ValueError):
        jpath(DOC, 'a["unterminated')


@pytest.mark.parametrize(("raw", "n"), [
    (1234, 1234), ("1,234", 1234), ("1.2万", 12000), ("3.4M views", 3400000),
    ("12K", 12000), ("2.3亿次播放", 230000000), ("9.8w", 98000), ("2 months", 2),
    (None, None), ("", None), (True, None), (3.9, 3)])
def test_to_int(raw: object, n: int | None) -> None:
    assert to_int(raw) == n


def test_to_datetime() -> None:
    want = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    assert to_datetime(1795176000) == want
    assert to_datetime("1795176000") == want
    assert to_datetime(1795176000000) == want
    assert to_datetime("2026-11-20T20:00:00+08:00") == want
    assert to_datetime("2026-11-20T12:00:00Z") == want
    assert to_datetime("2026-11-20 12:00:00") == want  # naive: taken as UTC
    assert to_datetime("yesterday") is None and to_datetime(None) is None


def test_urls() -> None:
    assert abs_url("https://www.bilibili.com/video/x", "//i0.hdslb.com/a.jpg") == \
        "https://i0.hdslb.com/a.jpg"
    assert abs_url("http://127.0.0.1:8700/video/v1", "/media/thumb/v1.jpg") == \
        "http://127.0.0.1:8700/media/thumb/v1.jpg"
    assert abs_url("https://x.com/", None) == ""
    assert with_query("https://x.com/f?limit=5&cursor=a", cursor="b") == \
        "https://x.com/f?limit=5&cursor=b"


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\n", "needs a 'pages' list"),
    ("pages:\n  - format: html\n", "needs a 'url' regex"),
    ("valid_url: 'https://x\\.com/(\\d+)'\npages: []\n", "named 'id' group"),
])
def test_bad_site_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AdapterError, match=message):
        load_site(path)


def test_unknown_field_in_a_site_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text("pages:\n  - url: '/'\n    format: json\n    items: 'items[*]'\n"
                    "    fields: {item_id: [id], colour: [c]}\n", encoding="utf-8")
    with pytest.raises(AdapterError, match="unknown fields.*colour"):
        load_site(path)


def test_a_site_from_yaml_with_css_items(tmp_path: Path) -> None:
    """A new micro-drama site, no code: items straight from the listing's markup."""
    site = tmp_path / "minidrama.yaml"
    site.write_text(r"""
name: minidrama
valid_url: 'https?://(?:www\.)?minidrama\.invalid/drama/(?P<id>\d+)'
start: {listing: /new}
pages:
  - url: '^/new'
    items: {css: 'li.card'}
    fields:
      item_id: [{css: '::attr(data-id)'}]
      url: [{css: 'a::attr(href)'}]
      title: [{css: 'h3::text'}, {css: 'img::attr(alt)'}]
      thumbnail_url: [{css: 'img::attr(data-src)'}, {css: 'img::attr(src)'}]
      uploader: [{const: MiniDrama}]
      cast: [{css: '.cast span::text'}]
      view_count: [{css: '.plays::text'}]
    next: {css: 'a.more::attr(href)'}
""", encoding="utf-8")
    body = """<ul>
<li class="card" data-id="101"><a href="/drama/101">x</a><h3>总裁的替身</h3>
  <img src="/lazy.gif" data-src="//cdn.minidrama.invalid/101.jpg"><p class="plays">3.2万</p>
  <p class="cast"><span>林晓雨</span><span>陈子墨</span></p></li>
<li class="card" data-id="102"><a href="/drama/102">x</a><img src="/102.jpg" alt="重生之门"></li>
<li class="card" data-id="103"><a href="/drama/103">no image: reported, not fatal</a></li>
</ul><a class="more" href="/new?page=2">more</a>"""
    cls = load_site(site)
    page = cls().parse("https://www.minidrama.invalid/new", body)
    assert [i.item_id for i in page.items] == ["101", "102"]
    first, second = page.items
    assert first.url == "https://www.minidrama.invalid/drama/101"
    assert first.thumbnail_url == "https://cdn.minidrama.invalid/101.jpg"
    assert (first.title, first.uploader, first.view_count) == ("总裁的替身", "MiniDrama", 32000)
    assert first.cast == [{"name": "林晓雨", "role": ""}, {"name": "陈子墨", "role": ""}]
    assert (second.title, second.thumbnail_url) == ("重生之门", "https://www.minidrama.invalid/102.jpg")
    assert len(page.errors) == 1 and page.errors[0].kind == "missing_field"
    assert page.next_url == "https://www.minidrama.invalid/new?page=2"
    assert cls.suitable("https://www.minidrama.invalid/drama/101")
    assert cls().start_url("https://www.minidrama.invalid", "listing") == \
        "https://www.minidrama.invalid/new"
