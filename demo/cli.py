"""Subcommands of `likewatch` contributed by the `demo` package: ``likewatch demo``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the `likewatch` parser."""
    demo = sub.add_parser("demo", help="the sandbox, the daemon and live alerts to a webhook")
    demo.add_argument("--crawl-only", action="store_true",
                      help="only crawl the sandbox once and print the summary")
    demo.add_argument("--duration", type=float, default=None,
                      help="stop after this many seconds (default: run until Ctrl-C)")
    demo.add_argument("--port", type=int, default=0, help="sandbox port (default: any free)")
    demo.add_argument("--data", type=Path, default=None,
                      help="sandbox data directory (default: .cache/sandbox/seed-1 in the "
                           "checkout, shared with the tests)")
    demo.add_argument("--max-pages", type=int, default=None,
                      help="with --crawl-only: limit the crawl to this many listing pages")
    demo.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    import threading

    from demo import live, session

    live.use_data_dir(args.data)
    if args.crawl_only:
        live.crawl_once(port=args.port, max_pages=args.max_pages)
        return 0
    rc = session.fork_session()  # the demo proper runs in a session of its own
    if rc is not None:
        return rc
    stop = threading.Event()
    session.stop_when_parent_goes(stop)
    return live.live(port=args.port, duration=args.duration, stop=stop)
