"""The conventions every `likewatch` subcommand keeps, checked over the whole parser tree
(every package's subcommands: a new one is checked the day it is added): help on every
option, --json on every listing, one line and status 2 on a usage error, --version, shell
completion."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from likewatch.cli import build_parser

# Leaf commands that list things or report a state: each must take --json.
LISTING_NAMES = {"list", "status", "settings", "alerts", "notices", "report", "search",
                 "outcome"}


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("likewatch",)
              ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    """(path, parser, help) of every command and subcommand, the root included."""
    yield path, parser, parser.description or ""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield from ((p, s, h or helps.get(name, "")) for p, s, h in
                            _commands(sub, (*path, name)))


def _has_subcommands(parser: argparse.ArgumentParser) -> bool:
    return any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "likewatch.cli", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_the_walk_sees_every_package_and_nested_subcommands() -> None:
    paths = {" ".join(p) for p, _, _ in _commands(build_parser())}
    for expected in ("likewatch crawl", "likewatch evidence list", "likewatch index status",
                     "likewatch watch list", "likewatch token revoke", "likewatch alerts review",
                     "likewatch completion", "likewatch outcome"):
        assert expected in paths
    assert len(paths) > 45


def test_every_option_and_argument_has_help() -> None:
    missing = []
    for path, parser, _ in _commands(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not (action.help and action.help.strip()) or action.help == argparse.SUPPRESS:
                missing.append(f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_every_listing_and_status_command_takes_json() -> None:
    lacking, listings = [], 0
    for path, parser, text in _commands(build_parser()):
        if _has_subcommands(parser) and path[-1] != "alerts":
            continue
        is_listing = path[-1] in LISTING_NAMES or text.lower().startswith("list")
        if not is_listing:
            continue
        listings += 1
        if "--json" not in parser._option_string_actions:
            lacking.append(" ".join(path))
    assert lacking == []
    assert listings >= 12  # settings, status, watch/client/person/user/token/evidence list, ...


@pytest.mark.parametrize("args, fragment", [
    (["crawl"], "the following arguments are required"),
    (["crawl", "sandbox", "--url", "http://x", "--max-pages", "many"], "invalid int value"),
    (["crawl", "sandbox", "--url", "http://x", "--mode", "rss"], "invalid choice"),
    (["index"], "the following arguments are required"),
    (["no-such-command"], "invalid choice"),
    (["status", "--no-such-option"], "unrecognized arguments"),
])
def test_a_usage_error_is_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    out = run(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("likewatch") and ": error: " in lines[0] and fragment in lines[0]
    assert "--help" in lines[0]  # where to look next
    assert out.stdout == ""


def test_version() -> None:
    from importlib.metadata import version

    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"likewatch {version('likewatch')}"


def _complete(line: str, tmp_path: Path) -> list[str]:
    """Ask `likewatch` to complete ``line`` the way the shell function does (argcomplete's
    protocol: _ARGCOMPLETE, COMP_LINE, COMP_POINT; the answer in a file)."""
    answer = tmp_path / "completions"
    env = dict(os.environ, _ARGCOMPLETE="1", COMP_LINE=line, COMP_POINT=str(len(line)),
               _ARGCOMPLETE_IFS="\n", _ARGCOMPLETE_STDOUT_FILENAME=str(answer))
    out = run(env=env)
    assert out.returncode == 0, out.stderr
    return answer.read_text().split("\n") if answer.read_text() else []


def test_completion_of_subcommands_options_and_choices(tmp_path: Path) -> None:
    assert [c.strip() for c in _complete("likewatch cra", tmp_path)] == ["crawl"]
    assert {c.strip() for c in _complete("likewatch crawl --ma", tmp_path)} == {
        "--match", "--max-pages"}
    assert {c.strip() for c in _complete("likewatch index ", tmp_path)} >= {"sync", "status"}
    assert {c.strip() for c in _complete("likewatch crawl sandbox --mode ", tmp_path)} == {
        "listing", "search", "api"}
    assert {c.strip() for c in _complete("likewatch evidence list --", tmp_path)} >= {
        "--json", "--alert", "--limit"}


def test_completion_prints_the_shell_code_to_install() -> None:
    out = run("completion", "bash")
    assert out.returncode == 0
    assert "complete " in out.stdout and "likewatch" in out.stdout
    assert "_ARGCOMPLETE" in out.stdout  # the protocol the test above speaks
    zsh = run("completion", "zsh")
    assert zsh.returncode == 0 and "compdef" in zsh.stdout
    # the marker activate-global-python-argcomplete looks for, in the entry point's module
    import likewatch.cli

    assert "PYTHON_ARGCOMPLETE_OK" in Path(likewatch.cli.__file__).read_text()[:1024]


def test_settings_json_lists_every_setting_and_hides_secrets(tmp_path: Path) -> None:
    env = dict(os.environ, LIKEWATCH_HOME=str(tmp_path), LIKEWATCH_SMTP_PASSWORD="hunter2",
               LIKEWATCH_MEDIA_TIMEOUT="7.5")
    out = run("settings", "--json", env=env)
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert rows["media_timeout"]["value"] == 7.5 and rows["media_timeout"]["default"] == 30.0
    assert rows["media_timeout"]["env"] == "LIKEWATCH_MEDIA_TIMEOUT"
    assert rows["smtp_password"]["value"] == "(set)"
    assert "hunter2" not in out.stdout
    assert run("settings", env=env).stdout.count("hunter2") == 0
