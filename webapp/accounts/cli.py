"""``likewatch user add|list|disable|enable`` and ``likewatch token create|list|revoke``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from webapp.accounts.roles import OPERATOR, ROLES


def register(sub: argparse._SubParsersAction[Any]) -> None:
    user = sub.add_parser("user", help="desk users and their roles per client")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = usub.add_parser("add", help="add a user, or give them a role in a client")
    add.add_argument("email", help="the user's e-mail address (their login)")
    add.add_argument("--client", default=None, help="the client (not for --role operator)")
    add.add_argument("--role", required=True, choices=[*ROLES, OPERATOR],
                     help="what they may do in the client (operator: every client)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input (first line)")
    add.set_defaults(func=_cmd_user_add)
    lst = usub.add_parser("list", help="users with their roles")
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    lst.set_defaults(func=_cmd_user_list)
    for name, off in (("disable", True), ("enable", False)):
        d = usub.add_parser(name, help=f"{name} a user (disabling ends their sessions)")
        d.add_argument("email", help="the user's e-mail address")
        d.set_defaults(func=_cmd_user_disable, disabled=off)
    rm = usub.add_parser("remove-role", help="take a user's role in a client away")
    rm.add_argument("email", help="the user's e-mail address")
    rm.add_argument("--client", required=True, help="the client to take the role in")
    rm.set_defaults(func=_cmd_user_remove_role)

    token = sub.add_parser("token", help="API tokens (Authorization: Bearer ...)")
    tsub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = tsub.add_parser("create", help="create a token; prints it alone, once")
    create.add_argument("email", help="the user the token acts as")
    create.add_argument("--client", default=None,
                        help="the client it acts in (default: the user's only client)")
    create.add_argument("--role", default=None, choices=[*ROLES, OPERATOR],
                        help="default: the user's role in that client")
    create.add_argument("--name", default="", help="a label to recognise it by")
    create.set_defaults(func=_cmd_token_create)
    tl = tsub.add_parser("list", help="tokens (never the tokens themselves)")
    tl.add_argument("--user", default=None, metavar="EMAIL", help="only this user's tokens")
    tl.add_argument("--json", action="store_true", help="one JSON object per line")
    tl.set_defaults(func=_cmd_token_list)
    rv = tsub.add_parser("revoke", help="revoke a token by its id (or the token itself)")
    rv.add_argument("token", metavar="ID", help="the token's id, or the token itself")
    rv.set_defaults(func=_cmd_token_revoke)


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from likewatch.cli import UserError
    from webapp.accounts.service import AccountError

    try:
        return fn(*args, **kwargs)
    except AccountError as exc:
        raise UserError(str(exc)) from exc


def _catalog() -> Any:
    from likewatch.catalog import Catalog

    return Catalog.open()


def _cmd_user_add(args: argparse.Namespace) -> int:
    from likewatch.cli import UserError
    from webapp.accounts import service

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("no password on standard input")
    if args.role == OPERATOR and args.client:
        raise UserError("an operator acts across every client: give no --client")
    _call(service.add_user, _catalog(), args.email, role=args.role, client=args.client,
          password=password)
    where = f" in {args.client}" if args.client else " (every client)"
    print(f"user {args.email.strip().lower()}: {args.role}{where}"
          + ("" if password else "; no password set (token access only)"))
    return 0


def _cmd_user_list(args: argparse.Namespace) -> int:
    from webapp.accounts import service

    rows = service.list_users(_catalog())
    for u in rows:
        if args.json:
            print(json.dumps(u, ensure_ascii=False))
            continue
        roles = ", ".join(f"{r['role']} in {r['client']}" for r in u["roles"])
        extra = "operator" if u["operator"] else ""
        print(f"{u['email']}  {', '.join(x for x in (extra, roles) if x) or 'no role'}"
              f"{'  DISABLED' if u['disabled'] else ''}  tokens={u['active_tokens']}")
    if not args.json and not rows:
        print("no users")
    return 0


def _cmd_user_disable(args: argparse.Namespace) -> int:
    from webapp.accounts import service

    _call(service.set_disabled, _catalog(), args.email, args.disabled)
    print(f"user {args.email}: {'disabled' if args.disabled else 'enabled'}")
    return 0


def _cmd_user_remove_role(args: argparse.Namespace) -> int:
    from webapp.accounts import service

    _call(service.remove_membership, _catalog(), args.email, args.client)
    print(f"user {args.email}: no role in {args.client} any more")
    return 0


def _cmd_token_create(args: argparse.Namespace) -> int:
    from webapp.accounts import service

    token, token_id = _call(service.create_token, _catalog(), args.email, client=args.client,
                            role=args.role, name=args.name)
    print(token)
    print(f"token {token_id} created; it is shown only once", file=sys.stderr)
    return 0


def _cmd_token_list(args: argparse.Namespace) -> int:
    from webapp.accounts import service

    rows = _call(service.list_tokens, _catalog(), args.user)
    for t in rows:
        print(json.dumps(t, ensure_ascii=False) if args.json else
              f"{t['id']}  {t['prefix']}…  {t['user']}  {t['role']}"
              f"{' in ' + t['client'] if t['client'] else ''}  {t['name']}"
              f"{'  REVOKED' if t['revoked'] else ''}  last used {t['last_used_at'] or 'never'}")
    if not args.json and not rows:
        print("no tokens")
    return 0


def _cmd_token_revoke(args: argparse.Namespace) -> int:
    from webapp.accounts import service

    token_id = _call(service.revoke_token, _catalog(), args.token)
    print(f"token {token_id} revoked")
    return 0
