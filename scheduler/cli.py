"""Subcommands of `likewatch` contributed by the `scheduler` package:
``run``, ``watch add|list`` and ``status`` (adapter health from ``crawler.health``, then
the scheduler's platforms, watches, queues and outbox)."""

from __future__ import annotations

import argparse
import json
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
    run.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                     help="serve Prometheus /metrics on this port too (0: off; default: "
                          "setting metrics_port; the api role serves /metrics anyway)")
    run.set_defaults(func=_cmd_run)

    watch = sub.add_parser("watch", help="manage watches (what to crawl, how often)")
    wsub = watch.add_subparsers(dest="watch_command", required=True)
    wadd = wsub.add_parser("add", help="add a watch")
    wadd.add_argument("--client", required=True, help="the client the watch works for")
    wadd.add_argument("--platform", required=True, help="platform name, e.g. sandbox")
    wadd.add_argument("--url", required=True, help="start URL of the crawls")
    wadd.add_argument("--mode", choices=["listing", "search", "api"], default="listing",
                      help="listing pages, a search in Chromium, or the JSON API")
    wadd.add_argument("--query", default="", help="search text (mode search)")
    wadd.add_argument("--every", type=float, required=True, help="seconds between crawls")
    wadd.add_argument("--max-pages", type=int, default=None,
                      help="follow at most N listing/feed pages per crawl (default: all)")
    wadd.set_defaults(func=_cmd_watch_add)
    wlist = wsub.add_parser("list", help="list watches")
    wlist.add_argument("--json", action="store_true", help="one JSON object per line")
    wlist.set_defaults(func=_cmd_watch_list)

    st = sub.add_parser("status", help="adapter health per platform, queues, watches, outbox")
    st.add_argument("--json", action="store_true", help="print one JSON document")
    st.set_defaults(func=_cmd_status)


def _cmd_run(args: argparse.Namespace) -> int:
    from likewatch.cli import UserError
    from scheduler import daemon

    try:
        roles = daemon.parse_roles(args.roles)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    try:
        return daemon.run(roles, tick=args.tick, duration=args.duration,
                          api_host=args.api_host, api_port=args.api_port,
                          metrics_port=args.metrics_port)
    except daemon.DaemonError as exc:
        raise UserError(str(exc)) from exc


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
    from dataclasses import asdict

    from crawler.health import format_health, platform_health
    from likewatch.catalog import Catalog
    from scheduler.status import format_status, scheduler_status

    with Catalog.open() as cat:
        reports = platform_health(cat)
        sched = scheduler_status(cat)
    if args.json:
        doc = {"adapters": [asdict(r) | {"state": r.state} for r in reports],
               "scheduler": sched}
        print(json.dumps(doc, ensure_ascii=False, default=str, indent=2))
    else:
        print("\n".join(format_health(reports) + format_status(sched)))
    return 0
