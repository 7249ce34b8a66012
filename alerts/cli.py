"""Subcommands of `likewatch` contributed by the `alerts` package.

``client add``, ``person add``, ``subscribe``, ``alerts``. Sub-packages (evidence, notices)
may add their own through a ``register(sub)`` in ``alerts/<pkg>/cli.py``.
"""

from __future__ import annotations

import argparse
import importlib
import json
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the `likewatch` parser."""
    client = sub.add_parser("client", help="manage clients (studios and agencies)")
    csub = client.add_subparsers(dest="client_command", required=True)
    cadd = csub.add_parser("add", help="add a client")
    cadd.add_argument("name")
    cadd.add_argument("--kind", choices=["studio", "agency"], default="studio")
    cadd.set_defaults(func=_cmd_client_add)

    person = sub.add_parser("person", help="manage protected persons")
    psub = person.add_subparsers(dest="person_command", required=True)
    padd = psub.add_parser("add", help="add a protected person to a client")
    padd.add_argument("--client", required=True)
    padd.add_argument("--person", required=True, help="the client's id for the person")
    padd.add_argument("--name", default="", help="display name")
    padd.add_argument("--alias", action="append", default=[], help="another name (repeatable)")
    padd.add_argument("--official", action="append", default=[], metavar="PLATFORM:UPLOADER",
                      help="an official account whose uploads never alert (repeatable)")
    padd.set_defaults(func=_cmd_person_add)

    subs = sub.add_parser("subscribe", help="send a client's alerts to a channel")
    subs.add_argument("--client", required=True)
    subs.add_argument("--person", default=None,
                      help="only this person (default: every person of the client)")
    target = subs.add_mutually_exclusive_group(required=True)
    for name in ("webhook", "email", "wecom", "dingtalk", "feishu", "slack"):
        target.add_argument(f"--{name}", metavar="ADDR" if name == "email" else "URL")
    subs.add_argument("--secret", default="",
                      help="webhook signing secret (DingTalk/Feishu: the robot's secret)")
    subs.add_argument("--digest-minutes", type=int, default=0,
                      help="send a digest every N minutes instead of one message per alert")
    subs.set_defaults(func=_cmd_subscribe)

    alerts = sub.add_parser("alerts", help="list alerts and their deliveries")
    alerts.add_argument("--json", action="store_true", help="one JSON object per line")
    alerts.add_argument("--client", default=None)
    alerts.add_argument("--state", choices=["pending", "sent", "dead"], default=None,
                        help="only alerts with a delivery in this state")
    alerts.add_argument("--limit", type=int, default=200)
    alerts.set_defaults(func=_cmd_alerts)

    secrets = sub.add_parser("secrets", help="subscription secrets encrypted at rest")
    ssub = secrets.add_subparsers(dest="secrets_command", metavar="ACTION", required=True)
    migrate = ssub.add_parser("migrate", help="encrypt secrets stored in clear by an older "
                                              "version (safe to run again)")
    migrate.set_defaults(func=_cmd_secrets_migrate)

    for pkg in ("alerts.evidence.cli", "alerts.notices.cli"):
        try:
            module = importlib.import_module(pkg)
        except ModuleNotFoundError as exc:
            if exc.name != pkg:
                raise
            continue
        module.register(sub)


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

    pid = _registry_call(registry.add_person, Catalog.open(), args.client, args.person,
                         name=args.name, aliases=args.alias, official=args.official)
    print(f"person {args.person} of {args.client} id={pid}")
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

    rows = list_alerts(Catalog.open(), client=args.client, state=args.state, limit=args.limit)
    for a in rows:
        print(json.dumps(a, ensure_ascii=False) if args.json else format_alert_line(a))
    if not args.json and not rows:
        print("no alerts")
    return 0
