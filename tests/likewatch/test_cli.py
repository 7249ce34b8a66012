import subprocess
import sys


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "likewatch.cli", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_settings_lists_every_setting():
    out = run("settings")
    assert out.returncode == 0, out.stderr
    assert "allow_private_hosts" in out.stdout and "catalog_url" in out.stdout


def test_bad_setting_value_is_a_user_error_exit_2(monkeypatch):
    import os

    env = dict(os.environ, LIKEWATCH_MEDIA_MAX_BYTES="lots")
    out = run("settings", env=env)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("likewatch: error:")
    assert len(out.stderr.strip().splitlines()) == 1


def test_every_register_function_is_declared_as_a_command_entry_point():
    """A package's `def register(sub)` that pyproject.toml does not declare would never be
    called: its subcommands would silently be missing from `likewatch`."""
    import re
    import tomllib
    from pathlib import Path

    from likewatch.cli import command_entry_points

    root = Path(__file__).resolve().parents[2]
    declared = set(tomllib.loads((root / "pyproject.toml").read_text())["project"]
                   ["entry-points"]["likewatch.commands"].values())
    found = set()
    for package in ("likewatch", "crawler", "matchers", "alerts", "scheduler", "webapp",
                    "sandbox", "demo"):
        for path in (root / package).rglob("*.py"):
            if re.search(r"^def register\(sub", path.read_text(encoding="utf-8"), re.M):
                module = ".".join(path.relative_to(root).with_suffix("").parts)
                found.add(f"{module}:register")
    assert found == declared
    # ... and the installed metadata is the same table (else: make venv).
    assert {ep.value for ep in command_entry_points()} == declared


def test_the_parser_holds_every_packages_subcommands_once():
    from likewatch.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in ("settings", "crawl", "capture", "enroll", "match-pending", "run", "watch",
                 "status", "demo", "client", "subscribe", "alerts", "evidence", "notice",
                 "sandbox", "search", "serve"):
        assert name in sub.choices, name
