"""A real listing crawl of the default sandbox over HTTP, and an incremental re-crawl."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, CrawlCheckpoint, Media
from sandbox.server import SandboxServer
from tests.crawler.conftest import RequestLog, run_crawl

SUMMARY_KEYS = {"pages", "items_new", "items_seen", "thumbnails", "videos", "bytes", "errors",
                "platform", "watch", "duration_s"}
FAULT_KINDS = {"bad_thumbnail", "truncated_media", "parse_error", "missing_field", "http_429",
               "http_500", "retry_exhausted", "blocked_url", "media_error", "bad_content_type"}


def test_full_crawl_summary(full_crawl: dict[str, Any], session_sandbox: SandboxServer) -> None:
    assert SUMMARY_KEYS <= set(full_crawl)
    published = session_sandbox.published_count
    assert full_crawl["items_new"] == published >= 200
    assert full_crawl["items_seen"] == 0
    assert full_crawl["thumbnails"] == published
    assert full_crawl["videos"] >= 20
    listing_pages = -(-published // 24)
    assert full_crawl["index_pages"] == listing_pages
    assert full_crawl["detail_pages"] == published
    assert full_crawl["pages"] == listing_pages + published
    assert not FAULT_KINDS & set(full_crawl["errors"]), full_crawl["errors"]
    # robots.txt was asked for (politeness), and every media file once
    requested = full_crawl["_requested"]
    assert "/robots.txt" in requested
    assert len([p for p in requested if p.startswith("/media/thumb/")]) == published


def test_full_crawl_lands_in_catalog(
    full_crawl: dict[str, Any], session_home: Path, session_sandbox: SandboxServer
) -> None:
    with Catalog.open(home=session_home) as catalog, catalog.session() as s:
        cands = s.scalars(select(Candidate)).all()
        assert len(cands) == full_crawl["items_new"]
        with_thumb = [c for c in cands if c.thumbnail_sha256]
        with_video = [c for c in cands if c.video_sha256]
        assert len(with_thumb) >= 200
        assert len(with_video) == full_crawl["videos"] >= 20
        assert {c.match_status for c in cands} == {"pending"}
        by_id = {c.item_id: c for c in cands}
        # the fields come from the detail page's __NEXT_DATA__, stored raw as well
        for item in session_sandbox.published()[:50]:
            cand = by_id[item["id"]]
            assert cand.title == item["title"]
            assert cand.uploader == item["uploader"]["name"]
            assert cand.raw_state == item
            assert cand.published_at is not None
            assert bool(cand.video_sha256) == bool(item["videoUrl"])
        # media rows point at content-addressed files whose sha256 is their name
        media = {m.sha256: m for m in s.scalars(select(Media)).all()}
        for cand in with_thumb[:40] + with_video[:10]:
            for sha in filter(None, (cand.thumbnail_sha256, cand.video_sha256)):
                row = media[sha]
                data = (session_home / row.path).read_bytes()
                assert hashlib.sha256(data).hexdigest() == sha
                assert row.size == len(data)
        kinds = {m.kind: m.content_type for m in media.values()}
        assert kinds == {"thumbnail": "image/jpeg", "video": "video/mp4"}
        # bytes downloaded = the media of every candidate; identical files are stored once
        downloaded = sum(
            media[sha].size for c in cands for sha in (c.thumbnail_sha256, c.video_sha256) if sha
        )
        assert downloaded == full_crawl["bytes"]
        assert s.scalar(select(func.sum(Media.size))) <= downloaded
        checkpoint = s.get(CrawlCheckpoint, full_crawl["watch"])
        assert checkpoint is not None and checkpoint.state["complete"] is True


def test_recrawl_fetches_nothing_already_seen(
    full_crawl: dict[str, Any],
    session_home: Path,
    session_sandbox: SandboxServer,
    request_log: RequestLog,
) -> None:
    request_log.clear()
    again = run_crawl(session_home, session_sandbox.base_url)
    assert again["items_new"] == 0
    assert again["items_seen"] == 24  # the first listing page, all known
    assert again["detail_pages"] == 0
    assert again["index_pages"] == 1  # stopped at the first page holding nothing new
    assert again["thumbnails"] == again["videos"] == 0
    requested = request_log.paths()
    assert not [p for p in requested if p.startswith(("/video/", "/media/"))], requested
    with Catalog.open(home=session_home) as catalog, catalog.session() as s:
        assert s.scalar(select(func.count(Candidate.id))) >= full_crawl["items_new"]
