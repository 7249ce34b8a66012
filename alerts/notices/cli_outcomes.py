"""``likewatch outcome``, ``likewatch notices`` and ``likewatch report`` (notice outcomes)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from likewatch.cli import UserError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from likewatch.catalog.notices import NOTICE_STATES

    out = sub.add_parser("outcome", help="record what became of a takedown notice",
                         description="Without STATE: show the notice and its history. "
                         "States: " + ", ".join(NOTICE_STATES) + ".")
    out.add_argument("notice", metavar="NOTICE", help="notice number (LW-...) or id")
    out.add_argument("state", metavar="STATE", nargs="?",
                     choices=(*NOTICE_STATES, "counter-notice"),
                     help="the notice's new state (omit to show the notice)")
    out.add_argument("--at", help="when it happened, ISO 8601 (default now; without a time "
                                  "zone it is UTC), e.g. 2026-12-01T09:30+08:00")
    out.add_argument("--note", default="", help="e.g. the platform's answer")
    out.add_argument("--reference", default=None, help="the platform's case number")
    out.add_argument("--by", default="cli", help="who records it")
    out.add_argument("--client", default=None, help="only this client's notices")
    out.add_argument("--json", action="store_true", help="print the notice as JSON")
    out.set_defaults(func=_cmd_outcome)

    lst = sub.add_parser("notices", help="list takedown notices and where they stand")
    lst.add_argument("--client", default=None, help="only this client's notices")
    lst.add_argument("--platform", default=None, help="only notices to this platform")
    lst.add_argument("--state", choices=NOTICE_STATES, default=None,
                     help="only notices in this state")
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    lst.set_defaults(func=_cmd_notices)

    rep = sub.add_parser("report", help="takedown outcomes per platform and per client",
                         description="Success rate and median time to removal of the "
                         "notices, per platform and per client (docs/evidence.md).")
    rep.add_argument("--client", default=None, help="only this client's notices")
    rep.add_argument("--json", action="store_true", help="print the report as JSON")
    rep.set_defaults(func=_cmd_report)


def _client_id(catalog: Any, name: str | None) -> int | None:
    if name is None:
        return None
    from sqlalchemy import select

    from likewatch.catalog.models import Client

    with catalog.session() as s:
        cid = s.scalar(select(Client.id).where(Client.name == name))
    if cid is None:
        raise UserError(f"no client named {name!r}")
    return int(cid)


def parse_when(text: str) -> dt.datetime:
    """ISO 8601 date or date-time; without a time zone it is UTC."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--at {text!r}: not an ISO 8601 date or time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def notice_json(n: Any) -> dict[str, Any]:
    return {"id": n.id, "notice": n.notice_no, "alert": n.alert_id, "platform": n.platform,
            "url": n.url, "state": n.state, "since": _iso(n.state_at),
            "filed_at": _iso(n.filed_at), "removed_at": _iso(n.removed_at),
            "reference": n.reference or None, "next": n.allowed,
            "history": [{"from": e.from_state, "to": e.to_state, "at": _iso(e.at),
                         "recorded_at": _iso(e.recorded_at), "by": e.actor,
                         "note": e.note or None, "link": e.link or None}
                        for e in n.history]}


def _cmd_outcome(args: argparse.Namespace) -> int:
    from alerts.notices.outcomes import OutcomeError, get_notice, set_state
    from likewatch.catalog import Catalog

    with Catalog.open() as catalog:
        client_id = _client_id(catalog, args.client)
        try:
            if args.state is None:
                n = get_notice(catalog, args.notice, client_id=client_id)
            else:
                n = set_state(catalog, args.notice, args.state,
                              at=parse_when(args.at) if args.at else None, actor=args.by,
                              note=args.note, reference=args.reference, client_id=client_id)
        except OutcomeError as exc:
            raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps(notice_json(n), ensure_ascii=False))
        return 0
    print(f"{n.notice_no} {n.platform} {n.url}: {n.state} since {_iso(n.state_at)}"
          + (f" (case {n.reference})" if n.reference else ""))
    for e in n.history:
        print(f"  {_iso(e.at)}  {e.from_state or '-'} -> {e.to_state}"
              + (f"  by {e.actor}" if e.actor else "") + (f"  {e.note}" if e.note else ""))
    if n.allowed:
        print(f"  next: {', '.join(n.allowed)}")
    return 0


def _cmd_notices(args: argparse.Namespace) -> int:
    from alerts.notices.outcomes import list_notices
    from likewatch.catalog import Catalog

    with Catalog.open() as catalog:
        rows = list_notices(catalog, client_id=_client_id(catalog, args.client),
                            platform=args.platform, state=args.state)
    for n in rows:
        if args.json:
            print(json.dumps(notice_json(n), ensure_ascii=False))
        else:
            print(f"{n.notice_no}  {n.platform:<10} {n.state:<15} {_iso(n.state_at)}  {n.url}")
    if not rows and not args.json:
        print("no notices")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from alerts.notices.report import format_report, outcome_report
    from likewatch.catalog import Catalog

    with Catalog.open() as catalog:
        cid = _client_id(catalog, args.client)
        report = outcome_report(catalog, client_ids=None if cid is None else [cid])
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(format_report(report), end="")
    return 0
