"""Subcommands of `likewatch` contributed by the `scheduler` package."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the `likewatch` parser."""
    demo = sub.add_parser("demo", help="start the sandbox, crawl it, and show live alerts")
    demo.add_argument("--crawl-only", action="store_true",
                      help="only crawl the sandbox once and print the summary")
    demo.add_argument("--port", type=int, default=0, help="sandbox port (default: any free)")
    demo.add_argument("--max-pages", type=int, default=None,
                      help="limit the crawl to this many listing pages")
    demo.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from scheduler import demo

    demo.crawl_once(port=args.port, max_pages=args.max_pages)
    return 0
