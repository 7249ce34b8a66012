"""`likewatch demo`: the sandbox, enrolment, the daemon, and a signed alert printed."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from demo import live as demo
from demo import session as demo_session

LIKEWATCH = str(Path(sys.executable).parent / "likewatch")


def _lines(stream, out: queue.Queue[str]) -> None:
    for line in stream:
        out.put(line)


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_demo_prints_a_verified_alert_and_stops_cleanly_on_ctrl_c(sandbox_data, likewatch_home):
    """The demo runs as from a terminal (its own process group); once an alert is in (so
    the evidence browser and its Playwright driver are running), Ctrl-C goes to the whole
    group, as a terminal sends it. The demo stops with status 0 and no error line."""
    proc = subprocess.Popen([LIKEWATCH, "demo", "--data", str(sandbox_data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    errs: queue.Queue[str] = queue.Queue()
    out_reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
    out_reader.start()
    err_reader = threading.Thread(target=_lines, args=(proc.stderr, errs), daemon=True)
    err_reader.start()
    seen: list[str] = []
    deadline = time.monotonic() + 300
    try:
        while not any("webhook received alert" in line for line in seen):
            assert time.monotonic() < deadline, "".join(seen)[-3000:]
            assert proc.poll() is None, "".join(seen)[-3000:]
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        time.sleep(3)  # evidence capture (the browser) runs right after the delivery
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err_reader.join(timeout=10)
    out_reader.join(timeout=10)
    for pipe in (proc.stdout, proc.stderr):
        assert pipe is not None
        pipe.close()
    while not lines.empty():
        seen.append(lines.get())
    out = "".join(seen)
    err = "".join(errs.queue)
    assert rc == 0, err[-3000:]
    for bad in ("Traceback", "Future exception", "Error", "error:", "Connection closed"):
        assert bad not in err, err[-3000:]
    assert "What this demo does" in out and "[4/4] waiting for alerts" in out
    assert "sandbox listening on http://127.0.0.1:" in out
    assert re.search(r"crawl 1: crawl of sandbox: \d+ pages?, \d+ new items?", out)
    m = re.search(r"ALERT 1: webhook received alert (lw_[0-9a-f]{32}) \(signature verified", out)
    assert m, out[-3000:]
    assert "Demo person A in sandbox item v" in out and "signal " in out
    assert re.search(r"demo stopped after \d+ s: \d+ alert\(s\) received, \d+ with a verified "
                     r"signature; first after [\d.]+ s", out), out[-2000:]
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
    assert re.search(r"crawl of sandbox: \d+ pages?, 24 new items", proc.stdout), proc.stdout


def test_crawl_summary_labels_the_sandbox_faults():
    summary = {"platform": "sandbox", "pages": 1, "items_new": 24, "thumbnails": 24,
               "videos": 1, "bytes": 2_500_000, "duration_s": 3.21,
               "errors": {"http_500": 1, "truncated_media": 2, "blocked_url": 1}}
    text = demo.format_summary(summary)
    assert text.startswith("crawl of sandbox: 1 page, 24 new items, 0 already seen, "
                           "24 thumbnails, 1 video, 2.5 MB, 3.2 s")
    assert ("faults the sandbox injected on purpose, handled: 1 x 500 Internal Server Error "
            "(http_500), 2 x truncated video (truncated_media)") in text
    assert "errors: blocked_url=1" in text and "http_500=1" not in text
    # On a real platform the same kinds are errors.
    real = demo.format_summary(dict(summary, platform="douyin"))
    assert "injected" not in real and "errors: blocked_url=1, http_500=1, truncated_media=2" in real


def test_command_start_comes_from_make_or_the_process(monkeypatch):
    monkeypatch.setenv(demo_session.ENV_STARTED, "1700000000.5")
    assert demo_session.command_started() == 1700000000.5
    monkeypatch.delenv(demo_session.ENV_STARTED)
    started = demo_session.command_started()
    assert started <= time.time() and time.time() - started < 24 * 3600
