"""Error kinds counted during a crawl, kept in Scrapy's stats under ``likewatch/errors/``.

A crawl survives every one of these: the kind is counted, the crawl goes on, and the final
summary lists the counts (``errors`` = {kind: count}). Kinds are stable names, read by the
scheduler and the health report:

- ``http_429``, ``http_500`` ... : a transient error status, retried (with Retry-After or
  backoff). ``retry_exhausted``: still failing after the last retry.
- ``timeout``, ``connection_error``: the download itself failed (also retried).
- ``slow_response``: a response that took longer than LIKEWATCH_SLOW_RESPONSE_SECONDS.
- ``blocked_url``: refused by likewatch.netguard (private / loopback and not allow-listed).
- ``robots_disallowed``: refused by robots.txt.
- ``parse_error``, ``missing_field``: the adapter could not parse a page / an item.
- ``challenged``: a page that answered 200 but is a captcha or verify page (the adapter's
  ``CHALLENGE_MARKERS`` or generic ones, ``crawler.health.detect_challenge``): not
  parsed, asked for again by the next crawl.
- ``bad_thumbnail``: thumbnail bytes that are not a decodable image (the candidate is kept).
- ``truncated_media``: a video shorter than announced (kept: the matchers decode what is there).
- ``bad_content_type``, ``media_too_large``, ``media_http_error``, ``media_error``: a media
  file not stored.
- Limits (settings ``crawl_*`` and ``media_max_pixels``, docs/crawling.md), in
  :data:`LIMIT_KINDS`: ``page_limit`` (pages per crawl reached: links not followed),
  ``page_too_large`` (a page over ``crawl_page_max_bytes``, or endless: cut off),
  ``redirect_limit`` (more hops than ``crawl_max_redirects``), ``redirect_loop`` (a
  redirect back into its own chain), ``image_too_large`` (a thumbnail over
  ``media_max_pixels``, judged from its header: not stored). Each is also recorded in
  adapter health.
"""

from __future__ import annotations

from typing import Any

PREFIX = "likewatch/errors/"
LIMIT_KINDS = ("page_limit", "page_too_large", "redirect_limit", "redirect_loop",
               "image_too_large")


def count_error(stats: Any, kind: str, n: int = 1) -> None:
    """Count one error of ``kind`` in the crawler's stats collector."""
    stats.inc_value(PREFIX + kind, n)


def errors_from_stats(stats: dict[str, Any]) -> dict[str, int]:
    """The ``{kind: count}`` dict of a finished crawl's stats."""
    return {
        key[len(PREFIX):]: int(value)
        for key, value in sorted(stats.items())
        if key.startswith(PREFIX) and value
    }
