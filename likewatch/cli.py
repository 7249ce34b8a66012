"""``likewatch``: one command, one subcommand per job.

Each package contributes its subcommands through a ``register(subparsers)`` function in
its ``cli`` module (listed in COMMAND_MODULES), so this file stays small and the heavy
imports (Scrapy, dlib, Elasticsearch) happen only when their subcommand runs.

Exit codes: 0 success, 2 a user error (one line on stderr), 3 an external dependency
failed (database, Elasticsearch, browser, network: one line naming it, see
likewatch/failures.py), 1 anything else (one line). Tracebacks only with ``-v``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from likewatch import failures, log, private, secretbox, settings

COMMAND_MODULES = (
    "sandbox.cli",
    "crawler.cli",
    "crawler.capture",
    "crawler.health",  # `status` (adapter health); before scheduler.cli, which adds to it
    "matchers.cli",
    "scheduler.cli",
    "alerts.cli",
    "webapp.cli",
)


class UserError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class DependencyError(Exception):
    """An external dependency failed: printed as one line, exit status 3."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="likewatch",
        description="Find unauthorised use of a person's likeness on video platforms.",
    )
    parser.add_argument("--log-format", choices=["console", "json"], default=None,
                        help="log renderer (default: setting log_format)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    settings_cmd = sub.add_parser("settings", help="list every setting with its value and help")
    settings_cmd.set_defaults(func=_cmd_settings)
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        module.register(sub)
    return parser


def _cmd_settings(args: argparse.Namespace) -> int:
    for s in settings.all_settings():
        print(f"{s.name} = {settings.get(s.name)!r}  ({s.type.__name__}) {s.help}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    private.secure_process()  # every file made from here on is private (likewatch/private.py)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        log.configure(
            args.log_format or settings.get("log_format"),
            "DEBUG" if args.verbose else settings.get("log_level"),
            tracebacks=args.verbose,
        )
        return int(args.func(args) or 0)
    except (UserError, settings.SettingsError, secretbox.SecretsKeyError) as exc:
        print(f"likewatch: error: {exc}", file=sys.stderr)
        return 2
    except DependencyError as exc:
        print(f"likewatch: dependency failed: {exc}", file=sys.stderr)
        return 3
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("likewatch: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, traceback at -v
        if args.verbose:
            traceback.print_exc()
        what = failures.dependency_failure(exc)
        if what is not None:
            print(f"likewatch: dependency failed: {what}", file=sys.stderr)
            return 3
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"likewatch: error: {type(exc).__name__}: {first}"
              + ("" if args.verbose else " (run with -v for the traceback)"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
