"""Crawl throughput: the HTTP listing crawl against the browser (Chromium) search crawl.

    .venv/bin/python bench/crawl.py [--data DIR] [--query Q] [--repeat N]

Starts its own sandbox (seed 1, faults off) on 127.0.0.1 and runs, each in a fresh
LIKEWATCH_HOME, through ``crawler.run.crawl`` (one subprocess per crawl, as in production):

1. the listing crawl over HTTP: every listing page, every detail page, every thumbnail and
   video;
2. the search crawl: the search page rendered by Chromium through scrapy-playwright, then the
   detail pages and media of its results (the empty query lists the 50 most recent items);
3. the same search again with every result already known: the rendered page alone, which is
   what the browser costs (launch included).

Pages per second = pages parsed / the spider's open-to-close time (Scrapy's
``elapsed_time_seconds``; the subprocess start is reported apart). Prints a side-by-side
ratio of the two crawls from the same run. Sandbox data: ``--data``, else
``LIKEWATCH_SANDBOX_DATA``, else the test suite's cached copy, else generated into a
temporary directory (about 40 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.run import crawl  # noqa: E402
from sandbox.faults import FaultConfig  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402


def data_dir(arg: str | None) -> Path:
    for candidate in (arg, os.environ.get("LIKEWATCH_SANDBOX_DATA"),
                      str(REPO / ".cache/sandbox/seed-1")):
        if candidate and (Path(candidate) / "ground_truth.json").exists():
            return Path(candidate)
    return Path(arg or tempfile.mkdtemp(prefix="likewatch-bench-sandbox-")) / "seed-1"


def run(home: Path, url: str, **kwargs: Any) -> dict[str, Any]:
    os.environ["LIKEWATCH_HOME"] = str(home)
    summary = crawl(url, **kwargs)
    if summary["errors"]:
        print(f"    (errors: {summary['errors']})")
    return summary


def pps(s: dict[str, Any]) -> float:
    return s["pages"] / s["elapsed_s"] if s["elapsed_s"] else 0.0


def line(name: str, s: dict[str, Any]) -> str:
    return (f"  {name:<34} {s['pages']:>4} pages  {s['elapsed_s']:>6.2f} s  "
            f"{pps(s):>6.1f} pages/s   (process {s['duration_s']:.1f} s, "
            f"{s['thumbnails']} thumbnails, {s['videos']} videos, {s['bytes'] / 1e6:.1f} MB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="sandbox data directory")
    parser.add_argument("--query", default="", help="search query (default: empty = recent 50)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each crawl (median)")
    args = parser.parse_args()

    os.environ["LIKEWATCH_ALLOW_PRIVATE_HOSTS"] = "127.0.0.1"
    work = Path(tempfile.mkdtemp(prefix="likewatch-bench-crawl-"))
    with SandboxServer(data_dir(args.data), seed=1, faults=FaultConfig.none()) as sb:
        print(f"sandbox {sb.base_url}: {sb.published_count} items published, faults off")
        listing, search, render = [], [], []
        for i in range(args.repeat):
            home = work / f"run{i}"
            listing.append(run(home / "listing", sb.base_url))
            print(line("HTTP listing crawl", listing[-1]))
            search.append(run(home / "search", sb.base_url, mode="search", query=args.query))
            print(line("browser search crawl", search[-1]))
            render.append(run(home / "search", sb.base_url, mode="search", query=args.query))
            print(line("browser search page only (seen)", render[-1]))
    http = statistics.median(pps(s) for s in listing)
    browser = statistics.median(pps(s) for s in search)
    page_only = statistics.median(s["elapsed_s"] for s in render)
    print()
    print(f"HTTP listing crawl     {http:7.1f} pages/s")
    print(f"browser search crawl   {browser:7.1f} pages/s")
    print(f"ratio HTTP / browser   {http / browser if browser else float('inf'):7.2f}x")
    print(f"one rendered search page (browser launch included): {page_only:.2f} s "
          f"= {1 / page_only if page_only else 0:.2f} pages/s, "
          f"{http * page_only:.0f}x the time of one HTTP page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
