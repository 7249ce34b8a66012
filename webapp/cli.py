"""Subcommands of `likewatch` contributed by the `webapp` package: ``search``, ``index``,
``serve``, and (``webapp/accounts/cli.py``) ``user`` and ``token``."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the `likewatch` parser."""
    p = sub.add_parser("search", help="search every collected candidate (text, filters, photo)",
                       description="Search the candidate index (setting `index`). Every word of "
                       "TEXT must occur in the title, description, uploader or tags.")
    p.add_argument("text", nargs="?", default="", metavar="TEXT",
                   help="words that must all occur (default: everything)")
    p.add_argument("--platform", action="append", default=[], help="platform (repeatable)")
    p.add_argument("--client", action="append", default=[], help="client (repeatable)")
    p.add_argument("--person", action="append", default=[], help="person key (repeatable)")
    p.add_argument("--since", help="from this date (YYYY-MM-DD or ISO 8601, UTC)")
    p.add_argument("--until", help="up to this date (a date-only value includes that day)")
    p.add_argument("--date-field", choices=["found_at", "published_at"], default=None,
                   help="the date --since/--until filter on (default found_at)")
    m = p.add_mutually_exclusive_group()
    m.add_argument("--matched", dest="matched", action="store_const", const="true",
                   help="only candidates that matched a protected person")
    m.add_argument("--unmatched", dest="matched", action="store_const", const="false",
                   help="only candidates that matched nobody")
    p.add_argument("--sort", default="-found_at",
                   help="found_at, published_at, uploader or platform; '-' prefix: descending")
    p.add_argument("--size", type=int, default=20, help="hits per page (1-500)")
    p.add_argument("--after", help="the 'next' token printed by the previous page")
    p.add_argument("--aggs", default="", help="comma-separated: platform,uploader,day")
    p.add_argument("--by-photo", type=Path, metavar="FILE",
                   help="find candidates showing this image or its faces")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", dest="fmt", action="store_const", const="json",
                     help="print the result as one JSON document")
    out.add_argument("--table", dest="fmt", action="store_const", const="table",
                     help="print aligned columns (the default)")
    p.set_defaults(func=cmd_search, fmt="table")

    ix = sub.add_parser("index", help="the candidate index searched by `likewatch search`")
    ixsub = ix.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    sync = ixsub.add_parser("sync", help="send catalog candidates (new ones, or --full) to the index")
    sync.add_argument("--full", action="store_true", help="re-send every candidate")
    sync.add_argument("--json", action="store_true",
                      help="print the result as one JSON object")
    sync.set_defaults(func=cmd_index_sync)
    st = ixsub.add_parser("status", help="backend, documents, queued writes")
    st.add_argument("--json", action="store_true", help="print the status as one JSON object")
    st.set_defaults(func=cmd_index_status)

    s = sub.add_parser("serve", help="run the web application (API and pages)")
    s.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to serve on (default 127.0.0.1)")
    s.set_defaults(func=cmd_serve)


def cmd_search(args: argparse.Namespace) -> int:
    from likewatch.cli import DependencyError, UserError
    from matchers.index import BadQuery, IndexUnavailable, open_index
    from webapp import search

    params: dict[str, Any] = {"q": args.text, "platform": args.platform, "client": args.client,
                              "person": args.person, "sort": args.sort, "size": str(args.size),
                              "aggs": args.aggs}
    for name in ("since", "until", "date_field", "matched", "after"):
        if getattr(args, name):
            params[name] = getattr(args, name)
    try:
        req = search.parse_search_params(params)
        with open_index() as index:
            if args.by_photo:
                try:
                    data = args.by_photo.read_bytes()
                except OSError as exc:
                    raise UserError(f"cannot read {args.by_photo}: {exc.strerror}") from exc
                result = search.search_by_photo(index, data, name=args.by_photo.name,
                                                size=req.size, req=req)
            else:
                result = search.run_search(index, req)
    except BadQuery as exc:
        raise UserError(str(exc)) from exc
    except IndexUnavailable as exc:
        raise DependencyError(str(exc)) from exc
    if args.fmt == "json":
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print_table(result)
    return 0


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int) -> str:
    out, used = "", 0
    for c in text.replace("\n", " "):
        w = _width(c)
        if used + w > width:
            return out[:-1] + "…" + " " * (width - used) if out else ""
        out, used = out + c, used + w
    return out + " " * (width - used)


def print_table(result: dict[str, Any]) -> None:
    """Hits as aligned columns (CJK counted as two cells), then totals and aggregations."""
    photo = "signals" in result
    cols = [("found", 10), ("platform", 10), ("uploader", 16), ("title", 40),
            ("matches" if photo else "matched", 24 if photo else 7), ("id", 24)]
    print("  ".join(_fit(name, w) for name, w in cols).rstrip())
    for hit in result["hits"]:
        if photo:
            last = "; ".join(f"{m['signal']} {m['distance']:g}" for m in hit["matches"])
        else:
            last = "yes" if hit["matched"] else "no"
        row = [(hit["found_at"] or "")[:10], hit["platform"], hit["uploader"], hit["title"],
               last, hit["doc_id"]]
        print("  ".join(_fit(str(v), w) for v, (_, w) in zip(row, cols, strict=True)).rstrip())
    print(f"-- {len(result['hits'])} shown of {result['total']}")
    if result.get("next"):
        print(f"-- next page: --after {result['next']}")
    for name, buckets in result.get("aggs", {}).items():
        print(f"-- by {name}: " + ", ".join(f"{b['key']} {b['count']}" for b in buckets))


def cmd_index_sync(args: argparse.Namespace) -> int:
    from likewatch import progress
    from likewatch.catalog import Catalog
    from likewatch.cli import DependencyError
    from matchers.index import IndexUnavailable, open_index
    from matchers.index.sync import sync_catalog

    with Catalog.open() as catalog, open_index() as index, \
            progress.bar(f"index sync ({index.backend})") as bar:
        try:
            sent = sync_catalog(catalog, index, full=args.full,
                                progress=lambda done, total: bar.update(done, total))
        except IndexUnavailable as exc:
            raise DependencyError(str(exc)) from exc
        pending = int(getattr(index, "pending", lambda: 0)())
    if args.json:
        print(json.dumps({"sent": sent, "backend": index.backend, "queued": pending}))
    else:
        print(f"sent {sent} candidates to the {index.backend} index"
              + (f"; {pending} queued until Elasticsearch is back" if pending else ""))
    return 0


def cmd_index_status(args: argparse.Namespace) -> int:
    from likewatch.cli import DependencyError
    from matchers.index import IndexUnavailable, open_index

    with open_index() as index:
        try:
            count = index.count()
        except IndexUnavailable as exc:
            raise DependencyError(str(exc)) from exc
        version = getattr(index, "server_version", lambda: "")()
        queued = int(getattr(index, "pending", lambda: 0)())
    if args.json:
        print(json.dumps({"backend": index.backend, "version": version or None,
                          "documents": count, "queued": queued}))
    else:
        print(f"backend {index.backend}{' ' + version if version else ''}: {count} candidates, "
              f"{queued} queued writes")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from likewatch.catalog import Catalog
    from matchers.index import open_index
    from webapp.app import create_app

    catalog = Catalog.open()
    index = open_index()
    try:
        print(f"likewatch: serving on http://{args.host}:{args.port} (index: {index.backend})",
              flush=True)
        uvicorn.run(create_app(catalog, index), host=args.host, port=args.port,
                    log_config=None, access_log=False, lifespan="off", server_header=False)
    finally:
        index.close()
        catalog.close()
    return 0
