"""`likewatch sandbox` prints its URL first, serves, and stops cleanly on a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from likewatch.cli import main
from tests.sandbox.helpers import fetch, get_json

LIKEWATCH = [str(Path(sys.executable).parent / "likewatch")]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_and_stops(sandbox_data: Path, sig: signal.Signals) -> None:
    with subprocess.Popen(
            [*LIKEWATCH, "sandbox", "--port", "0", "--data", str(sandbox_data), "--no-faults",
             "--publish-every", "0.2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=os.environ.copy()) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            first = proc.stdout.readline().strip()
            assert first.startswith("sandbox listening on http://127.0.0.1:"), first
            base = first.rsplit(" ", 1)[1]
            assert fetch(base + "/robots.txt")[0] == 200
            assert len(get_json(base + "/api/feed?limit=5")["items"]) == 5
            proc.send_signal(sig)
            # a hang guard: stopping waits for the media renders under way (sandbox/render.py),
            # seconds each, minutes on a loaded machine
            try:
                assert proc.wait(timeout=180) == 0
            except subprocess.TimeoutExpired:
                proc.kill()
                pytest.fail(f"no stop within 180 s of {sig.name}; its stderr ends:\n"
                            + "\n".join(proc.stderr.read().splitlines()[-30:]))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert "sandbox stopped" in proc.stderr.read()


def test_cli_rejects_bad_arguments(sandbox_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sandbox", "--data", str(sandbox_data), "--publish-every", "0"])
    assert code == 2 and "publish-every" in capsys.readouterr().err


def test_cli_refuses_a_foreign_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "something.txt").write_text("not ours")
    code = main(["sandbox", "--port", "0", "--data", str(tmp_path)])
    assert code == 2 and "not a sandbox data directory" in capsys.readouterr().err
    assert (tmp_path / "something.txt").read_text() == "not ours"
