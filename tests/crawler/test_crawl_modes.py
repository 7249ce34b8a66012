"""Real crawls of the sandbox in each mode: API with its cursor checkpoint, search in
Chromium, and a crawl through every kind of misbehaviour."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, CrawlCheckpoint, Media
from sandbox.faults import FaultConfig
from sandbox.server import SandboxServer, decode_cursor
from tests.crawler.conftest import RequestLog, fault_sets, run_crawl


def _candidates(home: Path) -> dict[str, Candidate]:
    with Catalog.open(home=home) as catalog, catalog.session() as s:
        return {c.item_id: c for c in s.scalars(select(Candidate)).all()}


def test_api_crawl_picks_up_only_newly_published(
    full_crawl: dict[str, Any],
    session_home: Path,
    sandbox_factory: Callable[..., SandboxServer],
    request_log: RequestLog,
) -> None:
    server = sandbox_factory()  # same items as the session's sandbox, no faults, its own publishing
    published = server.published_count
    known = set(_candidates(session_home))
    unknown = {i["id"] for i in server.published()} - known  # malformed in the listing crawl
    request_log.clear()
    first = run_crawl(session_home, server.base_url, mode="api")
    # known from the listing crawl: not fetched; the feed carries whole items, so no detail
    # pages at all, and media only for the items the listing crawl could not parse
    assert first["items_new"] == len(unknown)
    assert first["items_seen"] == published - len(unknown)
    assert first["index_pages"] == -(-published // 50)
    assert first["detail_pages"] == 0
    requested = request_log.paths()
    assert not [p for p in requested if p.startswith("/video/")]
    assert {p.split("/")[-1].split(".")[0] for p in requested if p.startswith("/media/")} == unknown
    with Catalog.open(home=session_home) as catalog, catalog.session() as s:
        cursor = s.get(CrawlCheckpoint, first["watch"]).state["cursor"]
    assert cursor

    new_ids = server.publish_now(5)
    request_log.clear()
    second = run_crawl(session_home, server.base_url, mode="api")
    assert second["items_new"] == 5
    assert second["thumbnails"] == 5
    # resumed from the checkpoint: the last non-null cursor's page again (already seen),
    # then the page holding the new items
    feed = request_log.paths("/api/feed")
    assert len(feed) == second["index_pages"] == 2
    assert f"cursor={cursor}" in feed[0]
    assert second["items_seen"] == published - decode_cursor(cursor)
    cands = _candidates(session_home)
    for item_id in new_ids:
        assert cands[item_id].watch == second["watch"]
        assert cands[item_id].thumbnail_sha256
        assert cands[item_id].raw_state["id"] == item_id

    # listing mode on the same (complete) watch as the session's listing crawl: the first
    # page holds nothing new (the new items came through the API), so it stops there
    request_log.clear()
    listing = run_crawl(session_home, server.base_url, watch=full_crawl["watch"])
    assert (listing["items_new"], listing["index_pages"], listing["detail_pages"]) == (0, 1, 0)
    assert request_log.paths("/browse") == ["/browse?page=1"]



@pytest.mark.browser
def test_search_crawl_through_chromium(
    sandbox_server: SandboxServer, likewatch_home: Path, request_log: RequestLog
) -> None:
    episode = next(i for i in sandbox_server.published() if i["series"])
    query = episode["series"]["title"]
    expected = [i["id"] for i in sandbox_server.search(query)]
    assert len(expected) >= 2
    request_log.clear()
    summary = run_crawl(likewatch_home, sandbox_server.base_url, mode="search", query=query)
    assert summary["index_pages"] == 1
    assert summary["items_new"] == summary["detail_pages"] == len(expected)
    assert summary["thumbnails"] == len(expected)
    # the results exist only after the page's script ran: the browser called the API
    assert request_log.paths("/api/search")
    cands = _candidates(likewatch_home)
    assert set(cands) == set(expected)
    assert cands[episode["id"]].title == episode["title"]  # Chinese intact


FAULTS = FaultConfig(
    rate_429=0.12, rate_500=0.1, rate_slow=0.15, slow_seconds=1.2,
    rate_broken_thumbnail=0.25, rate_truncated_video=0.6, rate_malformed_state=0.2,
)


def test_every_fault_is_survived_and_counted(
    sandbox_factory: Callable[..., SandboxServer], likewatch_home: Path
) -> None:
    server = sandbox_factory(faults=FAULTS)
    summary = run_crawl(likewatch_home, server.base_url, max_pages=1)
    errors = summary["errors"]
    assert summary["finish_reason"] == "finished"
    for kind in ("http_429", "http_500", "slow_response", "bad_thumbnail", "truncated_media",
                 "parse_error"):
        assert errors.get(kind, 0) >= 1, (kind, errors)
    assert "retry_exhausted" not in errors  # a client that retries always gets through
    # Retry-After: 1 was honoured for every 429 (plus backoff for the 500s)
    assert summary["retry_wait_s"] >= errors["http_429"] * 1.0

    items = server.published()[::-1][:24]  # the first listing page, newest first
    spoiled = fault_sets(server, items)
    malformed, broken, truncated = spoiled["malformed"], spoiled["broken"], spoiled["truncated"]
    assert errors["parse_error"] == len(malformed)
    assert errors["bad_thumbnail"] == len(broken)
    assert errors["truncated_media"] == len(truncated)
    cands = _candidates(likewatch_home)
    assert set(cands) == {i["id"] for i in items} - malformed
    assert summary["items_new"] == len(cands)
    for item_id in broken:  # recorded without a thumbnail
        assert cands[item_id].thumbnail_sha256 is None
    with Catalog.open(home=likewatch_home) as catalog, catalog.session() as s:
        for item_id in truncated:  # recorded with what arrived, for the matchers to judge
            media = s.get(Media, cands[item_id].video_sha256)
            assert media is not None and media.kind == "video"
    good = [c for c in cands.values() if c.item_id not in broken]
    assert all(c.thumbnail_sha256 for c in good)

    # the malformed pages are asked for again by the next crawl of the watch, until they
    # have failed LIKEWATCH_MAX_PARSE_ATTEMPTS times (1 here): then they are left alone
    again = run_crawl(likewatch_home, server.base_url, max_pages=1,
                      extra_settings={"LIKEWATCH_MAX_PARSE_ATTEMPTS": 1})
    assert again["detail_pages"] == again["items_new"] == 0
    assert again["items_given_up"] == len(malformed)
    assert again["index_pages"] == 1
