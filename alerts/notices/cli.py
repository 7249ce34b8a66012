"""``likewatch notice ALERT --platform P --lang zh|en [--format text|pdf] [--out FILE]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from alerts.notices import cli_outcomes
from likewatch.cli import DependencyError, UserError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``likewatch notice`` to the parser."""
    from alerts.notices.platforms import PLATFORMS

    cmd = sub.add_parser("notice", help="write a filled takedown notice for an alert")
    cmd.add_argument("alert", metavar="ALERT", help="alert id or key, or evidence capture id")
    cmd.add_argument("--platform", default=None,
                     help=f"one of {', '.join(PLATFORMS)} (default: the alert's platform)")
    cmd.add_argument("--lang", choices=["zh", "en"], default="zh")
    cmd.add_argument("--format", choices=["text", "pdf"], default="text")
    cmd.add_argument("--out", type=Path, help="output file (default: stdout for text, "
                                              "notice-<alert>-<platform>-<lang>.pdf for PDF)")
    cmd.set_defaults(func=_cmd_notice)
    cli_outcomes.register(sub)


def _cmd_notice(args: argparse.Namespace) -> int:
    from alerts.notices import NoticeError, notice_for_alert, render_pdf, render_text
    from alerts.notices.platforms import PLATFORMS
    from likewatch.catalog import Catalog

    if args.platform is not None and args.platform not in PLATFORMS:
        raise UserError(f"unknown platform {args.platform!r}; use one of {', '.join(PLATFORMS)}")
    with Catalog.open() as catalog:
        try:
            ctx = notice_for_alert(catalog, args.alert)
        except NoticeError as exc:
            raise UserError(str(exc)) from None
    platform = args.platform or (ctx.platform if ctx.platform in PLATFORMS else "generic")
    try:
        text = render_text(ctx, platform, args.lang)
    except NoticeError as exc:
        raise UserError(str(exc)) from None
    if args.format == "text":
        if args.out:
            args.out.write_text(text, encoding="utf-8")
            print(args.out)
        else:
            sys.stdout.write(text)
        return 0
    try:
        data = render_pdf(text, args.lang)
    except NoticeError as exc:
        raise DependencyError(str(exc)) from None
    out = args.out or Path(f"notice-{args.alert}-{platform}-{args.lang}.pdf")
    out.write_bytes(data)
    print(out)
    return 0
