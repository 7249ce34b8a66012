"""Finding 7 (commands) of issue 14: a failing dependency exits 3 with one line naming it,
no traceback (tracebacks only with -v). Dependencies "down" are closed ports of 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from likewatch import cli, settings

LIKEWATCH = str(Path(sys.executable).parent / "likewatch")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


def lw(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LIKEWATCH, *args], capture_output=True, text=True, timeout=180,
                          env=dict(os.environ, **env))


@pytest.mark.parametrize("command", [["status"], ["alerts"], ["client", "add", "acme"],
                                     ["crawl", "sandbox", "--url", "http://127.0.0.1:9/"]])
def test_postgresql_down_is_one_line_and_exit_3(command: list[str]) -> None:
    url = f"postgresql+psycopg://likewatch@127.0.0.1:{closed_port()}/likewatch"
    proc = lw(*command, LIKEWATCH_CATALOG_URL=url, LIKEWATCH_ALLOW_PRIVATE_HOSTS="127.0.0.1")
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("likewatch: dependency failed:") and "PostgreSQL" in lines[0]


def test_with_v_the_traceback_is_shown() -> None:
    url = f"postgresql+psycopg://likewatch@127.0.0.1:{closed_port()}/likewatch"
    proc = lw("-v", "status", LIKEWATCH_CATALOG_URL=url)
    assert proc.returncode == 3
    assert "Traceback" in proc.stderr and "dependency failed: PostgreSQL" in proc.stderr


@pytest.mark.parametrize("command", [["search", "x"], ["index", "status"], ["index", "sync"]])
def test_elasticsearch_down_is_one_line_and_exit_3(command: list[str]) -> None:
    proc = lw(*command, LIKEWATCH_INDEX="elasticsearch",
              LIKEWATCH_ELASTICSEARCH_URL=f"http://127.0.0.1:{closed_port()}")
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "Elasticsearch" in lines[0]


def test_an_unusable_sqlite_catalog_is_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.sqlite3").write_bytes(b"this is not a database" * 100)
    proc = lw("status", LIKEWATCH_HOME=str(home))
    assert proc.returncode == 3 and "catalog" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_an_unexpected_error_is_one_line_exit_1_traceback_at_v(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> list[settings.Setting]:
        raise RuntimeError("something inside broke\nsecond line")

    monkeypatch.setattr(settings, "all_settings", broken)
    assert cli.main(["settings"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("likewatch: error: RuntimeError: something inside broke "
                           "(run with -v for the traceback)")
    assert cli.main(["-v", "settings"]) == 1
    assert "Traceback" in capsys.readouterr().err
