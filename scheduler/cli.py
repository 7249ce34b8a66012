"""Subcommands of `likewatch` contributed by the `scheduler` package:
``run``, ``watch add|list``, ``demo``, and ``status`` (unless another package provides it,
in which case :func:`scheduler.status.scheduler_status` is there for it to show)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the `likewatch` parser."""
    run = sub.add_parser("run", help="run the monitoring daemon (crawl, match, alert, api)")
    run.add_argument("--roles", default="crawler,matcher,alerter,evidence,indexer",
                     help="comma-separated roles: crawler, matcher, alerter, evidence, "
                          "indexer, api (default: crawler,matcher,alerter,evidence,indexer)")
    run.add_argument("--tick", type=float, default=None,
                     help="seconds between each role's looks for work "
                          "(default: setting scheduler_tick_seconds)")
    run.add_argument("--duration", type=float, default=None,
                     help="stop after this many seconds (default: run until Ctrl-C)")
    run.add_argument("--api-host", default="127.0.0.1", help="api role: address to serve on")
    run.add_argument("--api-port", type=int, default=8080, help="api role: port to serve on")
    run.set_defaults(func=_cmd_run)

    watch = sub.add_parser("watch", help="manage watches (what to crawl, how often)")
    wsub = watch.add_subparsers(dest="watch_command", required=True)
    wadd = wsub.add_parser("add", help="add a watch")
    wadd.add_argument("--client", required=True)
    wadd.add_argument("--platform", required=True)
    wadd.add_argument("--url", required=True)
    wadd.add_argument("--mode", choices=["listing", "search", "api"], default="listing")
    wadd.add_argument("--query", default="")
    wadd.add_argument("--every", type=float, required=True, help="seconds between crawls")
    wadd.add_argument("--max-pages", type=int, default=None)
    wadd.set_defaults(func=_cmd_watch_add)
    wlist = wsub.add_parser("list", help="list watches")
    wlist.add_argument("--json", action="store_true")
    wlist.set_defaults(func=_cmd_watch_list)

    if "status" not in sub.choices:
        st = sub.add_parser("status", help="platform health, queues, watches, outbox")
        st.add_argument("--json", action="store_true")
        st.set_defaults(func=_cmd_status)

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


def _cmd_run(args: argparse.Namespace) -> int:
    from likewatch.cli import UserError
    from scheduler import daemon

    try:
        roles = daemon.parse_roles(args.roles)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    return daemon.run(roles, tick=args.tick, duration=args.duration, api_host=args.api_host,
                      api_port=args.api_port)


def _cmd_watch_add(args: argparse.Namespace) -> int:
    from alerts.registry import RegistryError
    from likewatch.catalog import Catalog
    from likewatch.cli import UserError
    from scheduler.watches import add_watch

    try:
        wid = add_watch(Catalog.open(), args.client, args.platform, args.url, mode=args.mode,
                        query=args.query, every=args.every, max_pages=args.max_pages)
    except RegistryError as exc:
        raise UserError(str(exc)) from exc
    print(f"watch {wid}: {args.platform} {args.mode} {args.url} every {args.every:g} s")
    return 0


def _cmd_watch_list(args: argparse.Namespace) -> int:
    from likewatch.catalog import Catalog
    from scheduler.watches import list_watches

    for w in list_watches(Catalog.open()):
        print(json.dumps(w, ensure_ascii=False) if args.json else
              f"{w['id']}: {w['platform']} {w['mode']} {w['url']} every {w['every']:g} s "
              f"(last: {w['last_status'] or 'never'})")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from likewatch.catalog import Catalog
    from scheduler.status import format_status, scheduler_status

    st = scheduler_status(Catalog.open())
    if args.json:
        print(json.dumps(st, ensure_ascii=False, default=str))
    else:
        print("\n".join(format_status(st)))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import threading

    from scheduler import demo, demo_session

    demo.use_data_dir(args.data)
    if args.crawl_only:
        demo.crawl_once(port=args.port, max_pages=args.max_pages)
        return 0
    rc = demo_session.fork_session()  # the demo proper runs in a session of its own
    if rc is not None:
        return rc
    stop = threading.Event()
    demo_session.stop_when_parent_goes(stop)
    return demo.live(port=args.port, duration=args.duration, stop=stop)
