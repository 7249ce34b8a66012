"""``likewatch notice ALERT`` (one notice as text or PDF) and ``likewatch packet ALERT`` (the
complaint packet: notices, power of attorney, sealed evidence, the platform's checklist);
``outcome``, ``notices`` and ``report`` live in cli_outcomes.py (its own entry point)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from likewatch.cli import DependencyError, UserError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``likewatch notice`` and ``likewatch packet`` to the parser."""
    from alerts.notices.platforms import PLATFORMS

    platforms = f"one of {', '.join(PLATFORMS)} (default: the alert's platform)"
    ai_help = ("a sign of AI generation a reviewer saw (e.g. 'face swap visible at 0:12'); "
               "repeatable")
    cmd = sub.add_parser("notice", help="write a filled takedown notice for an alert")
    cmd.add_argument("alert", metavar="ALERT", help="alert id or key, or evidence capture id")
    cmd.add_argument("--platform", default=None, help=platforms)
    cmd.add_argument("--lang", choices=["zh", "en"], default="zh",
                     help="language of the notice (default zh)")
    cmd.add_argument("--format", choices=["text", "pdf"], default="text",
                     help="plain text (default) or PDF")
    cmd.add_argument("--ai-sign", action="append", default=[], metavar="TEXT", help=ai_help)
    cmd.add_argument("--out", type=Path, help="output file (default: stdout for text, "
                                              "notice-<alert>-<platform>-<lang>.pdf for PDF)")
    cmd.set_defaults(func=_cmd_notice)

    pk = sub.add_parser("packet", help="write the complaint packet of an alert for a platform",
                        description="Notice (zh and en, PDF and text), power-of-attorney "
                        "template, the sealed evidence bundle and the platform's checklist, "
                        "in one folder and one zip (docs/evidence.md).")
    pk.add_argument("alert", metavar="ALERT", help="alert id or key, or evidence capture id")
    pk.add_argument("--platform", default=None, help=platforms)
    pk.add_argument("--lang", choices=["zh", "en"], action="append", default=None,
                    help="language(s) of the documents (default: zh and en)")
    pk.add_argument("--ai-sign", action="append", default=[], metavar="TEXT", help=ai_help)
    pk.add_argument("--out", type=Path, default=None,
                    help="directory to write into (default: the current directory)")
    pk.add_argument("--no-zip", action="store_true", help="only the folder, no zip")
    pk.set_defaults(func=_cmd_packet)


def _check_platform(platform: str | None) -> None:
    from alerts.notices.platforms import PLATFORMS

    if platform is not None and platform not in PLATFORMS:
        raise UserError(f"unknown platform {platform!r}; use one of {', '.join(PLATFORMS)}")


def _cmd_notice(args: argparse.Namespace) -> int:
    from alerts.notices import NoticeError, render_pdf, render_text
    from alerts.notices.build import prepare_notice
    from likewatch.catalog import Catalog

    _check_platform(args.platform)
    with Catalog.open() as catalog:
        try:
            ctx, platform, _ = prepare_notice(catalog, args.alert, args.platform,
                                              tuple(args.ai_sign), actor="cli")
        except NoticeError as exc:
            raise UserError(str(exc)) from None
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


def _cmd_packet(args: argparse.Namespace) -> int:
    from alerts.notices import NoticeError
    from alerts.notices.packet import PacketError, build_packet
    from likewatch.catalog import Catalog

    _check_platform(args.platform)
    with Catalog.open() as catalog:
        try:
            packet = build_packet(catalog, args.alert, platform=args.platform,
                                  out=args.out or Path.cwd(),
                                  langs=tuple(args.lang or ("zh", "en")),
                                  make_zip=not args.no_zip, reviewer_signs=tuple(args.ai_sign))
        except PacketError as exc:
            raise UserError(str(exc)) from None
        except NoticeError as exc:
            raise DependencyError(str(exc)) from None
    print(packet.zip_path or packet.folder)
    return 0
