"""The sandbox, crawled from crawler/sites/sandbox.yaml alone (no sandbox code involved).

1. Pages fetched from a running sandbox with urllib and parsed by the YAML adapter give the
   same items as the sandbox's own data (its published items, field by field).
2. Real crawls through crawler.run.crawl with platform "yaml:sandbox": listing, api (cursor)
   and search (Chromium) modes land the right candidates in the catalog, and a second crawl
   fetches no known item again.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawler.platforms import get_adapter
from crawler.platforms.base import Adapter
from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate
from sandbox.server import SandboxServer

NAME = "yaml:sandbox"


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - loopback test server
        return resp.read().decode("utf-8")


def _expected(raw: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        "item_id": raw["id"], "url": f"{base}/video/{raw['id']}", "title": raw["title"],
        "description": raw["description"], "uploader": raw["uploader"]["name"],
        "uploader_id": raw["uploader"]["id"], "tags": raw["tags"],
        "cast": [{"name": c["name"], "role": c["role"]} for c in raw["cast"]],
        "thumbnail_url": base + raw["thumbnailUrl"],
        "video_url": base + raw["videoUrl"] if raw["videoUrl"] else "",
        "view_count": raw["viewCount"],
        "published_at": raw["publishedAt"].replace("Z", "+00:00"),
    }


def _actual(item: Any) -> dict[str, Any]:
    d = item.to_dict()
    return {k: d[k] for k in ("item_id", "url", "title", "description", "uploader",
                              "uploader_id", "tags", "cast", "thumbnail_url", "video_url",
                              "view_count", "published_at")}


def test_yaml_adapter_parses_live_sandbox_pages(sandbox_server: SandboxServer) -> None:
    adapter: Adapter = get_adapter(NAME)()
    base = sandbox_server.base_url
    by_id = {raw["id"]: raw for raw in sandbox_server.published()}

    listing = adapter.parse(f"{base}/browse?page=1", _get(f"{base}/browse?page=1"))
    assert len(listing.detail_urls) == 24 and listing.next_url == f"{base}/browse?page=2"
    newest = [raw["id"] for raw in reversed(sandbox_server.published())][:24]
    assert [u.rsplit("/", 1)[1] for u in listing.detail_urls] == newest

    for url in listing.detail_urls[:6]:
        page = adapter.parse(url, _get(url))
        assert len(page.items) == 1 and not page.errors
        item = page.items[0]
        assert _actual(item) == _expected(by_id[item.item_id], base)

    feed_url = f"{base}/api/feed?limit=7"
    feed = adapter.parse(feed_url, _get(feed_url))
    oldest = sandbox_server.published()[:7]
    assert [i.item_id for i in feed.items] == [raw["id"] for raw in oldest]
    assert [_actual(i) for i in feed.items] == [_expected(raw, base) for raw in oldest]
    assert feed.next_cursor
    nxt = adapter.parse(adapter.cursor_url(feed_url, feed.next_cursor),
                        _get(adapter.cursor_url(feed_url, feed.next_cursor)))
    assert [i.item_id for i in nxt.items] == [r["id"] for r in sandbox_server.published()[7:14]]

    word = sandbox_server.published()[-1]["title"].split()[0]
    search_url = f"{base}/api/search?q={urllib.parse.quote(word)}"
    found = adapter.parse(search_url, _get(search_url))
    expected_ids = [r["id"] for r in json.loads(_get(search_url))["items"]]
    assert [i.item_id for i in found.items] == expected_ids and expected_ids


def _crawl(home: Path, base: str, **kwargs: Any) -> dict[str, Any]:
    from crawler.run import crawl

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIKEWATCH_HOME", str(home))
        mp.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
        return crawl(base, platform=NAME, timeout=300, **kwargs)


def _errors(summary: dict[str, Any]) -> dict[str, int]:
    """Error kinds of a crawl, without `slow_response` (timing on a loaded machine, which a
    crawl counts and survives; not a parsing or fetching failure)."""
    return {k: v for k, v in summary["errors"].items() if k != "slow_response"}


def _catalog(home: Path) -> dict[str, Candidate]:
    with Catalog.open(home=home) as cat, cat.session() as s:
        return {c.item_id: c for c in s.scalars(select(Candidate)).all()}


@pytest.mark.slow
def test_crawl_sandbox_from_yaml_alone(sandbox_server: SandboxServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    base = sandbox_server.base_url
    published = sandbox_server.published()
    by_id = {raw["id"]: raw for raw in published}

    first = _crawl(home, base, mode="listing", max_pages=2)
    assert first["platform"] == NAME
    assert first["items_new"] == 48 and _errors(first) == {}, first
    assert first["thumbnails"] == 48
    cands = _catalog(home)
    newest = [raw["id"] for raw in reversed(published)][:48]
    assert sorted(cands) == sorted(newest)
    for item_id, cand in cands.items():
        raw = by_id[item_id]
        assert (cand.platform, cand.title, cand.uploader) == (NAME, raw["title"],
                                                              raw["uploader"]["name"])
        assert cand.cast == raw["cast"] and cand.tags == raw["tags"]
        assert cand.thumbnail_sha256 and cand.match_status == "pending"

    again = _crawl(home, base, mode="listing", max_pages=2)  # nothing new, nothing refetched
    assert again["items_new"] == 0 and again["items_seen"] == 48, again
    assert again["pages"] == 2, again  # the two listing pages only: no detail page

    feed = _crawl(home, base, mode="api", max_pages=2)  # oldest first, by cursor
    assert feed["items_new"] + feed["items_seen"] == min(100, len(published)), feed
    assert _errors(feed) == {}, feed
    assert len(_catalog(home)) == 48 + feed["items_new"]


@pytest.mark.slow
@pytest.mark.browser
def test_search_mode_renders_in_chromium(sandbox_server: SandboxServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    word = sandbox_server.published()[-1]["title"].split()[0]
    expected = [r["id"] for r in sandbox_server.search(word)]
    summary = _crawl(home, sandbox_server.base_url, mode="search", query=word)
    assert _errors(summary) == {}, summary
    assert summary["items_new"] == len(expected) > 0, summary
    assert sorted(_catalog(home)) == sorted(expected)
