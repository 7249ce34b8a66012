"""`likewatch demo`: the sandbox platform, a crawl of it, and (with the daemon) live alerts.

The minimal demo (``--crawl-only``) starts the sandbox in-process, allow-lists 127.0.0.1 by
configuration (``$LIKEWATCH_HOME/config.yaml``, read by the crawl subprocess too), crawls
the sandbox's listing once and prints the crawl summary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from likewatch import settings
from scheduler.config import allow_loopback


def format_summary(summary: dict[str, Any]) -> str:
    """A crawl summary as a few human lines."""
    errors = summary.get("errors") or {}
    err_text = ", ".join(f"{k}={v}" for k, v in sorted(errors.items())) or "none"
    return (
        f"crawl of {summary.get('platform', '?')}: {summary.get('pages', 0)} pages, "
        f"{summary.get('items_new', 0)} new items, {summary.get('items_seen', 0)} already seen, "
        f"{summary.get('thumbnails', 0)} thumbnails, {summary.get('videos', 0)} videos, "
        f"{summary.get('bytes', 0)} bytes, errors: {err_text}, "
        f"{float(summary.get('duration_s', 0.0)):.1f} s"
    )


def sandbox_dir() -> Path:
    """Where the demo's sandbox data is generated and cached."""
    return settings.home() / "sandbox"


def crawl_once(*, port: int = 0, max_pages: int | None = None) -> dict[str, Any]:
    """Start the sandbox, crawl its listing once, stop it; return the crawl summary."""
    from crawler.run import crawl
    from sandbox.server import SandboxServer

    allow_loopback()
    print(f"likewatch demo: data in {settings.home()}", flush=True)
    with SandboxServer(sandbox_dir(), port=port) as server:
        print(f"sandbox listening on {server.base_url}", flush=True)
        summary = crawl(f"{server.base_url}/browse?page=1", platform="sandbox",
                        mode="listing", max_pages=max_pages)
    print(format_summary(summary), flush=True)
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True), flush=True)
    return summary
