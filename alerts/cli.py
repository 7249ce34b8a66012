"""Subcommands of `likewatch` contributed by the `alerts` package.

``client add|list``, ``person add|list|edit|remove``, ``subscribe``, ``alerts`` (list) and
``alerts review``. Sub-packages (evidence, notices) have their own ``register(sub)`` in
``alerts/<pkg>/cli.py``, declared beside this one in ``pyproject.toml`` (see
``likewatch/cli.py``). Listings take ``--json``. The CLI acts as the local operator:
decisions are recorded as ``cli:<login>`` unless ``--by`` names someone.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the `likewatch` parser."""
    client = sub.add_parser("client", help="manage clients (studios and agencies)")
    csub = client.add_subparsers(dest="client_command", required=True)
    cadd = csub.add_parser("add", help="add a client")
    cadd.add_argument("name", help="the client's name (used by --client everywhere)")
    cadd.add_argument("--kind", choices=["studio", "agency"], default="studio",
                      help="a studio (a few persons) or an agency (a roster); default studio")
    cadd.set_defaults(func=_cmd_client_add)
    clist = csub.add_parser("list", help="list clients with their persons and open alerts")
    clist.add_argument("--json", action="store_true", help="one JSON object per line")
    clist.set_defaults(func=_cmd_client_list)

    person = sub.add_parser("person", help="manage protected persons")
    psub = person.add_subparsers(dest="person_command", required=True)
    padd = psub.add_parser("add", help="add a protected person to a client")
    padd.add_argument("--client", required=True, help="the client the person belongs to")
    padd.add_argument("--person", required=True, help="the client's id for the person")
    padd.add_argument("--name", default="", help="display name")
    padd.add_argument("--alias", action="append", default=[], help="another name (repeatable)")
    padd.add_argument("--official", action="append", default=[], metavar="PLATFORM:UPLOADER",
                      help="an official account whose uploads never alert (repeatable)")
    padd.set_defaults(func=_cmd_person_add)
    plist = psub.add_parser("list", help="list persons: references, last match, open alerts, "
                                         "aliases, official accounts (the allow-list)")
    plist.add_argument("--client", default=None, help="only this client's persons")
    plist.add_argument("--json", action="store_true", help="one JSON object per line")
    plist.set_defaults(func=_cmd_person_list)
    pedit = psub.add_parser("edit", help="change a person's name, aliases, official accounts "
                                         "(new official accounts settle their open alerts)")
    pedit.add_argument("--client", required=True, help="the client the person belongs to")
    pedit.add_argument("--person", required=True, help="the client's id for the person")
    pedit.add_argument("--name", default=None, help="new display name")
    pedit.add_argument("--alias", action="append", default=[], help="add an alias")
    pedit.add_argument("--remove-alias", action="append", default=[],
                       help="remove an alias (repeatable)")
    pedit.add_argument("--official", action="append", default=[], metavar="PLATFORM:UPLOADER",
                       help="add an official account ('*' platform: any)")
    pedit.add_argument("--remove-official", action="append", default=[],
                       metavar="PLATFORM:UPLOADER", help="remove an official account")
    pedit.add_argument("--by", default=None, help="who made the change (default cli:<login>)")
    pedit.set_defaults(func=_cmd_person_edit)
    prm = psub.add_parser("remove", help="remove a person and erase their biometric data "
                                         "(reference photos, embeddings, matches, index links)")
    prm.add_argument("--client", required=True, help="the client the person belongs to")
    prm.add_argument("--person", required=True, help="the client's id for the person")
    prm.add_argument("--by", default=None, help="who asked (default cli:<login>)")
    prm.add_argument("--json", action="store_true", help="print the erasure report as JSON")
    prm.set_defaults(func=_cmd_person_remove)

    subs = sub.add_parser("subscribe", help="send a client's alerts to a channel")
    subs.add_argument("--client", required=True, help="whose alerts to send")
    subs.add_argument("--person", default=None,
                      help="only this person (default: every person of the client)")
    target = subs.add_mutually_exclusive_group(required=True)
    for name, what in (("webhook", "a webhook URL (signed JSON POST)"),
                       ("email", "an e-mail address (setting smtp_host)"),
                       ("wecom", "a WeCom group robot URL"),
                       ("dingtalk", "a DingTalk robot URL"),
                       ("feishu", "a Feishu / Lark robot URL"),
                       ("slack", "a Slack incoming-webhook URL")):
        target.add_argument(f"--{name}", metavar="ADDR" if name == "email" else "URL",
                            help=f"send to {what}")
    subs.add_argument("--secret", default="",
                      help="webhook signing secret (DingTalk/Feishu: the robot's secret)")
    subs.add_argument("--digest-minutes", type=int, default=0,
                      help="send a digest every N minutes instead of one message per alert")
    subs.set_defaults(func=_cmd_subscribe)

    alerts = sub.add_parser("alerts", help="list alerts and their deliveries")
    alerts.add_argument("--json", action="store_true", help="one JSON object per line")
    alerts.add_argument("--client", default=None, help="only this client's alerts")
    alerts.add_argument("--state", choices=["pending", "sent", "dead"], default=None,
                        help="only alerts with a delivery in this state")
    alerts.add_argument("--limit", type=int, default=200, help="at most N alerts (default 200)")
    alerts.add_argument("--tier", choices=["alert", "review"], default=None,
                        help="only alerts of this tier (review: held for a decision)")
    alerts.add_argument("--status", choices=["new", "confirmed", "dismissed", "suppressed"],
                        default=None, help="only alerts with this status")
    alerts.add_argument("--person", default=None, help="person key")
    alerts.set_defaults(func=_cmd_alerts)
    asub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=False)
    rev = asub.add_parser("review", help="confirm or dismiss (or reopen) an alert")
    rev.add_argument("alert", metavar="ID", help="alert key (lw_...) or number")
    decision = rev.add_mutually_exclusive_group(required=True)
    for name, what in (("confirm", "it is the person: confirm the alert"),
                       ("dismiss", "it is not the person: dismiss the alert"),
                       ("reopen", "undo a decision: the alert is new again")):
        decision.add_argument(f"--{name}", dest="decision", action="store_const", const=name,
                              help=what)
    decision.add_argument("--allow-uploader", dest="decision", action="store_const",
                          const="allow_list", help="allow-list the uploader for the person "
                          "(settles their open alerts)")
    rev.add_argument("--note", default="", help="why (kept with the decision)")
    rev.add_argument("--by", default=None, help="who decided (default cli:<login>)")
    rev.set_defaults(func=_cmd_alerts_review)

    secrets = sub.add_parser("secrets", help="subscription secrets encrypted at rest")
    ssub = secrets.add_subparsers(dest="secrets_command", metavar="ACTION", required=True)
    migrate = ssub.add_parser("migrate", help="encrypt secrets stored in clear by an older "
                                              "version (safe to run again)")
    migrate.set_defaults(func=_cmd_secrets_migrate)


def _registry_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from alerts.registry import RegistryError
    from likewatch.cli import UserError

    try:
        return fn(*args, **kwargs)
    except RegistryError as exc:
        raise UserError(str(exc)) from exc


def _cmd_client_add(args: argparse.Namespace) -> int:
    from alerts import registry
    from likewatch.catalog import Catalog

    cid = _registry_call(registry.add_client, Catalog.open(), args.name, args.kind)
    print(f"client {args.name} ({args.kind}) id={cid}")
    return 0


def _cmd_person_add(args: argparse.Namespace) -> int:
    from alerts import registry
    from likewatch.catalog import Catalog

    cat = Catalog.open()
    pid = _registry_call(registry.add_person, cat, args.client, args.person,
                         name=args.name, aliases=args.alias, official=args.official)
    print(f"person {args.person} of {args.client} id={pid}")
    if args.official:  # the allow-list is retroactive: settle their open alerts too
        from alerts.roster import edit_person

        row = _registry_call(edit_person, cat, pid, _actor(None), add_official=args.official)
        if row["settled"]:
            print(f"settled {len(row['settled'])} open alert(s): {', '.join(row['settled'])}")
    return 0


def _cmd_subscribe(args: argparse.Namespace) -> int:
    from alerts import registry
    from alerts.channels import check_target
    from likewatch.catalog import Catalog
    from likewatch.cli import UserError
    from likewatch.netguard import BlockedURL

    channel, target = next((n, getattr(args, n)) for n in
                           ("webhook", "email", "wecom", "dingtalk", "feishu", "slack")
                           if getattr(args, n))
    try:
        check_target(channel, target)
    except BlockedURL as exc:
        raise UserError(f"refusing to subscribe {target}: {exc} (a receiver on a private "
                        "network must be listed in allow_private_hosts)") from exc
    sid = _registry_call(registry.add_subscription, Catalog.open(), args.client, channel,
                         target, person=args.person, secret=args.secret,
                         digest_minutes=args.digest_minutes)
    who = f"person {args.person}" if args.person else "every person"
    print(f"subscription {sid}: {channel} {target} for {who} of {args.client}")
    return 0


def _cmd_secrets_migrate(args: argparse.Namespace) -> int:
    from likewatch import secretbox
    from likewatch.catalog import Catalog
    from likewatch.catalog.alerts import Subscription

    cat = Catalog.open()
    try:
        n = secretbox.migrate_clear(cat.engine, Subscription.__tablename__, "secret")
    finally:
        cat.close()
    print(f"{n} subscription secret(s) encrypted with {secretbox.key_path()}")
    return 0


def _cmd_alerts(args: argparse.Namespace) -> int:
    from alerts.views import format_alert_line, list_alerts
    from likewatch.catalog import Catalog

    rows = list_alerts(Catalog.open(), client=args.client, state=args.state, limit=args.limit,
                       tier=args.tier, status=args.status, person=args.person)
    for a in rows:
        print(json.dumps(a, ensure_ascii=False) if args.json else format_alert_line(a))
    if not args.json and not rows:
        print("no alerts")
    return 0


def _actor(by: str | None) -> str:
    import getpass

    return by or f"cli:{getpass.getuser()}"


def _cmd_client_list(args: argparse.Namespace) -> int:
    from alerts.roster import list_clients
    from likewatch.catalog import Catalog

    rows = list_clients(Catalog.open())
    for c in rows:
        print(json.dumps(c, ensure_ascii=False) if args.json else
              f"{c['name']}  ({c['kind']})  {c['persons']} person(s), "
              f"{c['open_alerts']} open alert(s)")
    if not args.json and not rows:
        print("no clients")
    return 0


def _cmd_person_list(args: argparse.Namespace) -> int:
    from alerts.roster import list_persons
    from likewatch.catalog import Catalog

    rows = _registry_call(list_persons, Catalog.open(), client=args.client)
    for p in rows:
        if args.json:
            print(json.dumps(p, ensure_ascii=False))
            continue
        accounts = ",".join(f"{a.get('platform', '*')}:{a.get('uploader', '')}"
                            for a in p["official_accounts"]) or "-"
        print(f"{p['client']}/{p['key']}  {p['name']}  refs={len(p['references'])}  "
              f"open={p['open_alerts']}  last_match={p['last_match_at'] or '-'}  "
              f"aliases={','.join(p['aliases']) or '-'}  official={accounts}")
    if not args.json and not rows:
        print("no persons")
    return 0


def _cmd_person_edit(args: argparse.Namespace) -> int:
    from alerts.roster import edit_person, find_person
    from likewatch.catalog import Catalog

    cat = Catalog.open()
    pid = _registry_call(find_person, cat, args.client, args.person)
    row = _registry_call(edit_person, cat, pid, _actor(args.by), name=args.name,
                         add_aliases=args.alias, remove_aliases=args.remove_alias,
                         add_official=args.official, remove_official=args.remove_official)
    print(f"person {args.person} of {args.client}: name={row['name']!r} "
          f"aliases={row['aliases']} official={row['official_accounts']}")
    if row["settled"]:
        print(f"settled {len(row['settled'])} open alert(s) by official accounts: "
              + ", ".join(row["settled"]))
    return 0


def _cmd_person_remove(args: argparse.Namespace) -> int:
    from alerts.erasure import erase_person, reindex_with
    from alerts.roster import find_person
    from likewatch.catalog import Catalog
    from matchers.index import open_index

    with Catalog.open() as cat, open_index() as index:
        pid = _registry_call(find_person, cat, args.client, args.person)
        report = erase_person(cat, pid, _actor(args.by), reindex=reindex_with(cat, index))
    if args.json:
        print(json.dumps(report.__dict__, ensure_ascii=False))
    else:
        print("\n".join(report.lines()))
    return 0


def _cmd_alerts_review(args: argparse.Namespace) -> int:
    from alerts import review
    from likewatch.catalog import Catalog
    from likewatch.cli import UserError

    cat = Catalog.open()
    try:
        if args.decision == "allow_list":
            out = review.allow_uploader(cat, args.alert, _actor(args.by))
        else:
            out = review.review(cat, args.alert, args.decision, _actor(args.by), args.note)
    except review.ReviewError as exc:
        raise UserError(str(exc)) from exc
    print(f"{out.alert} {out.status}"
          + (f"; also settled {', '.join(out.settled)}" if out.settled else ""))
    return 0
