"""Fill an evidence subject's empty fields from the captured page, via the platform adapter.

A manual capture (``likewatch evidence capture --url``) knows only the URL; the platform
adapter that parses crawled pages (``crawler.pages``, declared as a page parser; pure
parsing, no Scrapy) reads the rendered HTML for the title, uploader, publication time and
the thumbnail and video URLs, so the capture also keeps the media. Fields the caller gave are never overwritten.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from likewatch import plugins
from likewatch.log import get_logger

log = get_logger(__name__)


def parsed_item(url: str, html: str) -> tuple[str, Any] | None:
    """(platform name, CandidateItem) that a page parser reads from ``html``, or None.

    The parsers are the ``likewatch.page_parsers`` entry points (``crawler.pages.parse_page``:
    the platform adapters); this package does not import the crawler (likewatch/plugins.py).
    """
    for entry in plugins.declared(plugins.PAGE_PARSERS):
        try:
            found = entry.load()(url, html)
        except Exception as exc:  # noqa: BLE001 - enrichment is best effort, never fatal
            log.info("no adapter data for the evidence page", url=url, error=str(exc))
            continue
        if found is not None:
            return (str(found[0]), found[1])
    return None


def fill_subject(subject: Any, url: str, html: str) -> Any:
    """A copy of ``subject`` with empty fields filled from the page (if an adapter parses it)."""
    found = parsed_item(url, html)
    if found is None:
        return subject
    platform, item = found
    values = {"platform": platform, "title": item.title, "uploader": item.uploader,
              "published_at": item.published_at, "thumbnail_url": item.thumbnail_url,
              "video_url": item.video_url}
    updates = {k: v for k, v in values.items() if v and not getattr(subject, k)}
    return dataclasses.replace(subject, **updates) if updates else subject
