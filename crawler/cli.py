"""Subcommands of `likewatch` contributed by the `crawler` package: ``likewatch crawl``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the `likewatch` parser."""
    p = sub.add_parser(
        "crawl",
        help="crawl a platform once into the catalog",
        description="Crawl one platform (e.g. the sandbox) once: new candidates and their "
        "media land in the catalog as pending for the matchers. Shows progress, then a summary.",
    )
    p.add_argument("platform", help="platform name, e.g. sandbox")
    p.add_argument("--url", required=True, help="start URL (for the sandbox: its base URL)")
    p.add_argument("--mode", choices=["listing", "search", "api"], default="listing",
                   help="listing pages over HTTP, a search rendered in Chromium, or the JSON API")
    p.add_argument("--query", default="", help="search text (mode search)")
    p.add_argument("--max-pages", type=int, default=None,
                   help="follow at most N listing/feed pages (default: all)")
    p.add_argument("--watch", default=None,
                   help="watch key of the checkpoint (default platform:mode:url:query)")
    p.add_argument("--match", action="store_true",
                   help="afterwards, match the pending candidates (`likewatch match-pending`)")
    p.add_argument("--json", action="store_true",
                   help="end with the summary as one JSON object on the last line")
    p.set_defaults(func=_cmd_crawl)


def _progress_line(p: dict[str, Any]) -> str:
    errors = sum(p.get("errors", {}).values())
    return (
        f"  … {p.get('elapsed_s', 0):>5}s  pages {p['pages']}  new {p['items_new']}  "
        f"seen {p['items_seen']}  thumbnails {p['thumbnails']}  videos {p['videos']}  "
        f"{p['bytes'] / 1e6:.1f} MB  errors {errors}"
    )


def format_summary(s: dict[str, Any]) -> str:
    """The human-readable summary of a crawl."""
    lines = [
        f"crawl {s['platform']} ({s.get('mode', '')}) finished in {s['duration_s']} s",
        f"  pages          {s['pages']}",
        f"  items new      {s['items_new']}",
        f"  items seen     {s['items_seen']}",
        f"  media          {s['thumbnails']} thumbnails, {s['videos']} videos, "
        f"{s['bytes']:,} bytes",
    ]
    errors = s.get("errors") or {}
    if errors:
        lines.append("  errors         " + ", ".join(f"{k} {v}" for k, v in errors.items()))
    else:
        lines.append("  errors         none")
    if "matched" in s:
        lines.append(f"  matching       {s['matched']}")
    return "\n".join(lines)


def _run_matchers() -> dict[str, Any] | str:
    """``--match``: run ``likewatch match-pending`` (the matchers package's command) and
    return the summary it prints. A command, not an import: the crawler sits below the
    matchers and never imports them (likewatch/cli.py, the import contracts)."""
    proc = subprocess.run([sys.executable, "-m", "likewatch.cli", "match-pending"],
                          capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return f"failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}"
    try:
        result = json.loads(lines[-1])
    except ValueError:
        return f"failed: unexpected output {lines[-1][:200]!r}"
    return result if isinstance(result, dict) else str(result)


def _cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.platforms.base import AdapterError
    from crawler.run import CrawlError, crawl
    from likewatch import netguard
    from likewatch.cli import DependencyError, UserError

    def show(p: dict[str, Any]) -> None:
        print(_progress_line(p), flush=True)

    verbose = bool(getattr(args, "verbose", False))
    print(f"crawling {args.platform} {args.url} ({args.mode})…", flush=True)
    try:
        summary = crawl(
            args.url, platform=args.platform, mode=args.mode, query=args.query,
            watch=args.watch, max_pages=args.max_pages, progress=show,
            echo_log=verbose,
            extra_settings={"LOG_LEVEL": "DEBUG"} if verbose else None,
        )
    except (AdapterError, netguard.BlockedURL) as exc:
        raise UserError(str(exc)) from exc
    except CrawlError as exc:
        raise DependencyError(str(exc)) from exc
    if args.match:
        summary["matched"] = _run_matchers()
    print(format_summary(summary), flush=True)
    if args.json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
    return 0
