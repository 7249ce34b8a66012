# PYTHON_ARGCOMPLETE_OK  (activate-global-python-argcomplete looks for this marker)
"""``likewatch``: one command, one subcommand per job.

How subcommands get here: each package declares its ``register(subparsers)`` functions as
entry points of the group ``likewatch.commands`` in ``pyproject.toml``, e.g.
``crawl = "crawler.cli:register"``, and :func:`build_parser` calls every one of them
(sorted by entry-point name; ``likewatch/plugins.py``). That is the packaging standard's
plugin mechanism: the core
never names, imports or probes another package (it sits below all of them and imports
none), the list of contributors is one declarative table that ``pip install`` records,
and a package's ``cli`` module adds its own subcommands and nothing else. Heavy imports
(Scrapy, dlib, Elasticsearch) stay inside the subcommand functions, so they happen only
when that subcommand runs. A new ``cli`` module is one more line in that table (then
``make venv`` reinstalls the metadata); ``tests/likewatch/test_cli.py`` fails when a
``register`` is not declared.

Conventions every subcommand keeps (``docs/cli.md``; ``tests/likewatch/test_cli_conventions.py``
walks the parser tree): every option and argument has a help line; ``--version``; shell
completion (``likewatch completion bash``, ``likewatch/completion.py``); listings and status
commands take ``--json`` (JSON on stdout, nothing else there); progress bars of long jobs
go to stderr, and only on a terminal (``likewatch/progress.py``); a usage error is one line,
exit status 2; exit status 1 also when a command ran but some of its work failed (``scan``
with a file it could not read, ``enroll --csv`` with a person that failed, ``evidence
verify`` or ``audit`` that found a problem, ``eval`` below its targets).

Exit codes: 0 success, 2 a user error (one line on stderr), 3 an external dependency
failed (database, Elasticsearch, browser, network: one line naming it, see
likewatch/failures.py), 1 anything else (one line). Tracebacks only with ``-v``.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib.metadata import EntryPoint
from typing import Any, NoReturn

from likewatch import failures, log, plugins, private, secretbox, settings

Registrar = Callable[["argparse._SubParsersAction[Any]"], None]


class UserError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class DependencyError(Exception):
    """An external dependency failed: printed as one line, exit status 3."""


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (``likewatch crawl: error: ... (see
    'likewatch crawl --help')``), exit status 2. Subcommands' parsers are of this class too
    (``add_subparsers`` makes its parsers of the parent's class)."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see '{self.prog} --help')\n")


def version() -> str:
    """The installed version of Likewatch."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("likewatch")
    except PackageNotFoundError:
        return "unknown"


def command_entry_points() -> list[EntryPoint]:
    """The ``likewatch.commands`` entry points, sorted by name."""
    return plugins.declared(plugins.COMMANDS)


def build_parser(registrars: Sequence[Registrar] | None = None) -> argparse.ArgumentParser:
    """The ``likewatch`` parser with every package's subcommands (or only ``registrars``)."""
    parser = Parser(
        prog="likewatch",
        description="Find unauthorised use of a person's likeness on video platforms.",
        epilog="Exit status: 0 ok, 1 some of the work failed, 2 bad usage or input, "
               "3 a dependency failed. Shell completion: likewatch completion --help.",
    )
    parser.add_argument("--version", action="version", version=f"likewatch {version()}",
                        help="print the version and exit")
    parser.add_argument("--log-format", choices=["console", "json"], default=None,
                        help="log renderer (default: setting log_format)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    settings_cmd = sub.add_parser("settings", help="list every setting with its value and help")
    settings_cmd.add_argument("--json", action="store_true",
                              help="one JSON object per setting and line")
    settings_cmd.set_defaults(func=_cmd_settings)
    from likewatch.completion import add_parser as add_completion

    add_completion(sub)
    if registrars is None:
        registrars = [ep.load() for ep in command_entry_points()]
    for register in registrars:
        register(sub)
    return parser


SECRET_SUFFIXES = ("_password", "_secret", "_token")


def _shown(name: str, value: Any) -> Any:
    """A setting's value as listed: secrets only say whether they are set."""
    if name.endswith(SECRET_SUFFIXES) or name == "webapp_secret":
        return "(set)" if value else ""
    return value


def _cmd_settings(args: argparse.Namespace) -> int:
    for s in settings.all_settings():
        value = _shown(s.name, settings.get(s.name))
        if args.json:
            print(json.dumps({"name": s.name, "value": value, "type": s.type.__name__,
                              "default": _shown(s.name, s.default), "env": s.env_var,
                              "help": s.help}, ensure_ascii=False))
        else:
            print(f"{s.name} = {value!r}  ({s.type.__name__}) {s.help}")
    return 0


def _complete_if_asked(parser: argparse.ArgumentParser) -> None:
    """A shell completing a command line runs us to ask: answer and exit
    (``likewatch/completion.py``)."""
    from likewatch import completion

    if completion.wanted():
        completion.complete(parser)


def main(argv: Sequence[str] | None = None) -> int:
    private.secure_process()  # every file made from here on is private (likewatch/private.py)
    parser = build_parser()
    _complete_if_asked(parser)
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
