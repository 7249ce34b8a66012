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
        "media land in the catalog as pending for the matchers. Shows progress (on a terminal), then "
        "a summary; recorded for `likewatch status` like a scheduled crawl.",
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
                   help="afterwards, match the pending candidates (`likewatch match-pending`) "
                        "and send them to the search index (`likewatch index sync`)")
    p.add_argument("--json", action="store_true",
                   help="print only the summary, as one JSON object")
    p.set_defaults(func=_cmd_crawl)


def _progress_info(p: dict[str, Any]) -> str:
    errors = sum(p.get("errors", {}).values())
    return (f"new {p['items_new']}  seen {p['items_seen']}  media {p['thumbnails']}+"
            f"{p['videos']} ({p['bytes'] / 1e6:.1f} MB)  errors {errors}")


def _matching_line(m: dict[str, Any] | str) -> str:
    if isinstance(m, str):
        return m
    return (f"{m.get('candidates', 0)} candidates: {m.get('matched', 0)} matched, "
            f"{m.get('failed', 0)} failed; {m.get('matches', 0)} matches")


def _index_line(ix: dict[str, Any] | str) -> str:
    if isinstance(ix, str):
        return f"{ix} (run `likewatch index sync` once the index is reachable)"
    return (f"{ix.get('sent', 0)} candidates sent to the {ix.get('backend', '?')} index: "
            "`likewatch search` finds them" + (f"; {ix['queued']} queued" if ix.get("queued")
                                                else ""))


def format_summary(s: dict[str, Any]) -> str:
    """The human-readable summary of a crawl: one aligned line per fact."""
    rows = [
        ("pages", str(s["pages"])),
        ("items new", str(s["items_new"])),
        ("items seen", str(s["items_seen"])),
        ("media", f"{s['thumbnails']} thumbnails, {s['videos']} videos, {s['bytes']:,} bytes"),
        ("errors", ", ".join(f"{k} {v}" for k, v in sorted((s.get("errors") or {}).items()))
         or "none"),
    ]
    if "matched" in s:
        rows.append(("matching", _matching_line(s["matched"])))
    if "indexed" in s:
        rows.append(("index", _index_line(s["indexed"])))
    head = f"crawl {s['platform']} ({s.get('mode', '')}) finished in {s['duration_s']} s"
    return "\n".join([head, *(f"  {name:<14} {value}" for name, value in rows)])


def _run_command(*argv: str) -> dict[str, Any] | str:
    """Run ``likewatch ARGV...`` (another package's command) and return the JSON object it
    prints last, or ``"failed: <why>"``. A command, not an import: the crawler sits below
    the matchers and the web app and never imports them (likewatch/cli.py, the import
    contracts)."""
    proc = subprocess.run([sys.executable, "-m", "likewatch.cli", *argv],
                          capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return f"failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}"
    try:
        result = json.loads(lines[-1])
    except ValueError:
        return f"failed: unexpected output {lines[-1][:200]!r}"
    return result if isinstance(result, dict) else str(result)


def _record(summary: dict[str, Any]) -> None:
    """A manual crawl is recorded like a scheduled one: an adapter health sample for
    `likewatch status` (crawler.health)."""
    from crawler.health import record_crawl
    from likewatch.catalog import Catalog

    with Catalog.open() as cat:
        record_crawl(cat, summary)


def _cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.platforms.base import AdapterError
    from crawler.run import CrawlError, crawl
    from likewatch import netguard, progress
    from likewatch.cli import DependencyError, UserError

    verbose = bool(getattr(args, "verbose", False))
    with progress.bar(f"crawl {args.platform}") as bar:
        bar.note(f"crawling {args.platform} {args.url} ({args.mode})…")
        try:
            summary = crawl(
                args.url, platform=args.platform, mode=args.mode, query=args.query,
                watch=args.watch, max_pages=args.max_pages,
                progress=lambda p: bar.update(p["pages"], info=_progress_info(p)),
                echo_log=verbose,
                extra_settings={"LOG_LEVEL": "DEBUG"} if verbose else None,
            )
        except (AdapterError, netguard.BlockedURL) as exc:
            raise UserError(str(exc)) from exc
        except CrawlError as exc:
            raise DependencyError(str(exc)) from exc
        bar.update(summary["pages"], info=_progress_info(summary))
    _record(summary)
    if args.match:
        with progress.bar("match and index") as bar:
            summary["matched"] = _run_command("match-pending")
            bar.update(info="indexing")
            summary["indexed"] = _run_command("index", "sync", "--json")
    if args.json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
        return 0
    print(format_summary(summary), flush=True)
    if not args.match and summary["items_new"]:
        print(f"{summary['items_new']} new candidate(s) wait for matching: `likewatch "
              "match-pending` then `likewatch index sync` make them searchable (or crawl "
              "with --match; `likewatch run` does both by itself)", flush=True)
    return 0
