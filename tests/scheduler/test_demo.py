"""`likewatch demo`: the sandbox, enrolment, the daemon, and a signed alert printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

LIKEWATCH = str(Path(sys.executable).parent / "likewatch")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_demo_prints_a_verified_alert(sandbox_data, likewatch_home):
    proc = subprocess.run([LIKEWATCH, "demo", "--duration", "120", "--data", str(sandbox_data)],
                          capture_output=True, text=True, timeout=380)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sandbox listening on http://127.0.0.1:" in out
    assert re.search(r"crawl of sandbox: \d+ pages, \d+ new items", out)
    m = re.search(r"webhook received alert (lw_[0-9a-f]{32}) \(signature verified", out)
    assert m, out[-3000:]
    assert "Demo person A in sandbox item v" in out and "signal " in out
    assert re.search(r"demo stopped: \d+ alert\(s\) received, \d+ with a verified signature", out)
    assert "SIGNATURE INVALID" not in out
    first = re.search(r"first after ([\d.]+) s", out)
    print("demo: first alert after", first.group(1) if first else "?", "s")
    # The alert is in the catalog, delivered.
    env = dict(os.environ, LIKEWATCH_HOME=str(likewatch_home / "demo"))
    assert f"LIKEWATCH_HOME={likewatch_home / 'demo'} likewatch alerts" in out
    listed = subprocess.run([LIKEWATCH, "alerts", "--json"], capture_output=True, text=True,
                            timeout=60, env=env)
    assert m.group(1) in listed.stdout and '"state": "sent"' in listed.stdout


def test_demo_crawl_only_prints_the_summary(sandbox_data):
    proc = subprocess.run([LIKEWATCH, "demo", "--crawl-only", "--max-pages", "1",
                           "--data", str(sandbox_data)], capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"crawl of sandbox: \d+ pages, 24 new items", proc.stdout), proc.stdout
