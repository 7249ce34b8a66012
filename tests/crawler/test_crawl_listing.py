"""A real listing crawl of the DEFAULT sandbox (its small fault rates on) over HTTP, and an
incremental re-crawl."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, CrawlCheckpoint, Media
from sandbox.server import SandboxServer
from tests.crawler.conftest import RequestLog, fault_sets, run_crawl

SUMMARY_KEYS = {"pages", "items_new", "items_seen", "thumbnails", "videos", "bytes", "errors",
                "platform", "watch", "duration_s"}
ALLOWED_ERRORS = {"http_429", "http_500", "slow_response", "parse_error", "bad_thumbnail",
                  "truncated_media"}


def test_default_sandbox_crawl_summary(
    full_crawl: dict[str, Any], session_sandbox: SandboxServer
) -> None:
    assert SUMMARY_KEYS <= set(full_crawl)
    items = session_sandbox.published()
    spoiled = fault_sets(session_sandbox, items)
    published = len(items)
    assert full_crawl["items_new"] == published - len(spoiled["malformed"])
    assert full_crawl["items_seen"] == 0
    # the acceptance figures of a default sandbox crawled once
    assert full_crawl["thumbnails"] == full_crawl["items_new"] - len(spoiled["broken"]) >= 200
    assert full_crawl["videos"] >= 20
    listing_pages = -(-published // 24)
    assert full_crawl["index_pages"] == listing_pages
    assert full_crawl["detail_pages"] == published
    assert full_crawl["pages"] == listing_pages + published
    # the default sandbox misbehaves a little, and the crawl survives and counts it all
    errors = full_crawl["errors"]
    assert set(errors) <= ALLOWED_ERRORS, errors
    assert errors.get("parse_error", 0) == len(spoiled["malformed"])
    assert errors.get("bad_thumbnail", 0) == len(spoiled["broken"])
    assert errors.get("truncated_media", 0) == len(spoiled["truncated"])
    requested = full_crawl["_requested"]
    assert "/robots.txt" in requested


def test_default_sandbox_crawl_lands_in_catalog(
    full_crawl: dict[str, Any], session_home: Path, session_sandbox: SandboxServer
) -> None:
    items = session_sandbox.published()
    spoiled = fault_sets(session_sandbox, items)
    with Catalog.open(home=session_home) as catalog, catalog.session() as s:
        by_id = {c.item_id: c for c in s.scalars(select(Candidate)).all()}
        assert set(by_id) >= {i["id"] for i in items} - spoiled["malformed"]
        cands = [by_id[i["id"]] for i in items if i["id"] not in spoiled["malformed"]]
        assert len([c for c in cands if c.thumbnail_sha256]) >= 200
        assert len([c for c in cands if c.video_sha256]) == full_crawl["videos"] >= 20
        assert {c.match_status for c in cands} <= {"pending", "matched", "failed"}
        # fields come from the detail page's __NEXT_DATA__, which is also stored raw
        for item in items[:60]:
            if item["id"] in spoiled["malformed"]:
                continue
            cand = by_id[item["id"]]
            assert cand.title == item["title"]
            assert cand.uploader == item["uploader"]["name"]
            assert cand.raw_state == item
            assert cand.published_at is not None
            assert cand.watch == full_crawl["watch"]
            assert bool(cand.video_sha256) == bool(item["videoUrl"])
            assert bool(cand.thumbnail_sha256) == (item["id"] not in spoiled["broken"])
        # media rows point at content-addressed files whose sha256 is their name
        media = {m.sha256: m for m in s.scalars(select(Media)).all()}
        shas = [sha for c in cands for sha in (c.thumbnail_sha256, c.video_sha256) if sha]
        for sha in shas[:80]:
            data = (session_home / media[sha].path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == sha
            assert media[sha].size == len(data)
        assert {(m.kind, m.content_type) for m in media.values()} == {
            ("thumbnail", "image/jpeg"), ("video", "video/mp4")}
        # bytes downloaded = the media of every candidate; identical files are stored once
        assert sum(media[sha].size for sha in shas) == full_crawl["bytes"]
        checkpoint = s.get(CrawlCheckpoint, full_crawl["watch"])
        assert checkpoint is not None and checkpoint.state["complete"] is True


def test_recrawl_fetches_nothing_already_seen(
    full_crawl: dict[str, Any],
    session_home: Path,
    session_sandbox: SandboxServer,
    request_log: RequestLog,
) -> None:
    spoiled = fault_sets(session_sandbox, session_sandbox.published())
    request_log.clear()
    again = run_crawl(session_home, session_sandbox.base_url)
    assert again["items_new"] == 0
    assert again["thumbnails"] == again["videos"] == 0
    requested = request_log.paths()
    assert not [p for p in requested if p.startswith("/media/")], requested
    # only the pages whose state was malformed (never recorded) are asked for again
    details = {p.removeprefix("/video/") for p in requested if p.startswith("/video/")}
    assert details <= spoiled["malformed"]
    assert again["detail_pages"] == len(details)
    assert again["items_seen"] >= 24
