"""Private media URLs refused during a real crawl unless allow-listed; `likewatch crawl`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from crawler.run import crawl
from likewatch import netguard
from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate
from sandbox.server import SandboxServer
from tests.crawler.conftest import RequestLog, run_crawl

N_ITEMS = 4
LIKEWATCH = str(Path(sys.executable).parent / "likewatch")  # the installed console script


class _Site(ThreadingHTTPServer):
    """A minimal feed in the sandbox's API format whose thumbnails live on another host."""

    media_host = ""
    hits: list[str]
    feed: list[dict[str, Any]] | None = None  # items served by /api/feed (default: N_ITEMS)


class _Handler(BaseHTTPRequestHandler):
    server: _Site

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.hits.append(self.path)
        if self.path.startswith("/api/feed"):
            items = self.server.feed or [
                {"id": f"g{i}", "title": f"item {i}",
                 "thumbnailUrl": f"{self.server.media_host}/t/g{i}.jpg"}
                for i in range(N_ITEMS)]
            body, ctype = json.dumps({"items": items, "next_cursor": None}).encode(), "application/json"
        elif self.path.startswith("/t/"):
            buf = io.BytesIO()
            Image.new("RGB", (64, 36), (200, 30, 30)).save(buf, "JPEG")
            body, ctype = buf.getvalue(), "image/jpeg"
        elif self.path == "/robots.txt":
            body, ctype = b"User-agent: *\nDisallow: /private/\n", "text/plain"
        elif self.path.startswith("/html/"):  # an HTML page where an image should be
            body, ctype = b"<html>login required</html>", "text/html"
        elif self.path.startswith("/big/"):  # a "video" larger than the limit
            body, ctype = b"\0" * 300_000, "video/mp4"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(host: str) -> _Site:
    site = _Site((host, 0), _Handler)
    site.hits = []
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site


@pytest.fixture
def two_hosts() -> Iterator[tuple[_Site, _Site]]:
    """Pages on 127.0.0.1, media on 127.0.0.2 (another loopback address)."""
    media = _serve("127.0.0.2")
    pages = _serve("127.0.0.1")
    pages.media_host = f"http://127.0.0.2:{media.server_address[1]}"
    yield pages, media
    for site in (pages, media):
        site.shutdown()
        site.server_close()


def _thumbs(home: Path) -> dict[str, str | None]:
    with Catalog.open(home=home) as catalog, catalog.session() as s:
        return {c.item_id: c.thumbnail_sha256 for c in s.scalars(select(Candidate)).all()}


def test_private_media_url_refused_unless_allow_listed(
    two_hosts: tuple[_Site, _Site], tmp_path: Path
) -> None:
    pages, media = two_hosts
    url = f"http://127.0.0.1:{pages.server_address[1]}"
    refused = run_crawl(tmp_path / "a", url, allow="127.0.0.1", mode="api")
    assert refused["items_new"] == N_ITEMS  # the candidates are still recorded
    assert refused["thumbnails"] == 0
    assert refused["errors"]["blocked_url"] >= N_ITEMS  # (+ robots.txt of that host)
    assert media.hits == []  # nothing ever reached the private host
    assert set(_thumbs(tmp_path / "a").values()) == {None}

    allowed = run_crawl(tmp_path / "b", url, allow="127.0.0.0/8", mode="api")  # by CIDR
    assert allowed["thumbnails"] == N_ITEMS
    assert "blocked_url" not in allowed["errors"]
    assert len([h for h in media.hits if h.startswith("/t/")]) == N_ITEMS
    assert None not in set(_thumbs(tmp_path / "b").values())


def test_crawl_of_loopback_refused_without_allow_list(
    sandbox_server: SandboxServer, request_log: RequestLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", raising=False)
    request_log.clear()
    with pytest.raises(netguard.BlockedURL, match="LIKEWATCH_ALLOW_PRIVATE_HOSTS=127.0.0.1"):
        crawl(sandbox_server.base_url)
    env = {k: v for k, v in os.environ.items() if k != "LIKEWATCH_ALLOW_PRIVATE_HOSTS"}
    proc = subprocess.run(
        [LIKEWATCH, "crawl", "sandbox", "--url",
         sandbox_server.base_url],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 2
    assert "refusing to crawl" in proc.stderr and "allow_private_hosts" in proc.stderr
    assert request_log.paths() == []


def _run_with_terminal_stderr(cmd: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run ``cmd`` with stderr on a pseudo-terminal (progress bars draw there) and stdout on
    a pipe; returns (exit status, stdout, what the terminal showed)."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, text=True,
                            env=dict(env, TERM="xterm", COLUMNS="160"))
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            shown += data
        elif proc.poll() is not None:
            break
    assert proc.stdout is not None
    with proc.stdout:
        out = proc.stdout.read()
    os.close(master)
    return proc.wait(timeout=60), out, shown.decode("utf-8", "replace")


def test_cli_crawl_json(sandbox_server: SandboxServer, likewatch_home: Path) -> None:
    """--json: stdout is the summary alone, even while a progress bar is drawn on the
    terminal (stderr); the manual crawl is recorded for `likewatch status`."""
    env = dict(os.environ, LIKEWATCH_ALLOW_PRIVATE_HOSTS="127.0.0.1")
    rc, out, shown = _run_with_terminal_stderr(
        [LIKEWATCH, "crawl", "sandbox", "--url", sandbox_server.base_url, "--max-pages", "1",
         "--json"], env)
    assert rc == 0, shown[-2000:]
    summary = json.loads(out)  # the whole of stdout: nothing but the JSON object
    for key in ("pages", "items_new", "items_seen", "thumbnails", "videos", "errors", "bytes"):
        assert key in summary
    assert summary["items_new"] == summary["thumbnails"] == 24
    assert summary["pages"] == 25
    assert "crawl sandbox" in shown and "25/?" in shown and "new 24" in shown  # the bar
    assert len(_thumbs(likewatch_home)) == 24
    status = subprocess.run([LIKEWATCH, "status", "--json"], capture_output=True, text=True,
                            env=env, timeout=120)
    adapters = json.loads(status.stdout)["adapters"]
    assert [(a["platform"], a["samples"], a["items"]) for a in adapters] == [("sandbox", 1, 24)]


def test_crawl_summary_is_readable_lines() -> None:
    from crawler.cli import format_summary

    summary = {"platform": "sandbox", "mode": "listing", "duration_s": 3.2, "pages": 25,
               "items_new": 24, "items_seen": 1, "thumbnails": 24, "videos": 3,
               "bytes": 545741, "errors": {"http_500": 2, "media_too_large": 1},
               "matched": {"candidates": 24, "matched": 3, "failed": 1, "matches": 5,
                           "errors": {"no_face": 4}, "failures": [[7, "bad"]]},
               "indexed": {"sent": 24, "backend": "embedded", "queued": 0}}
    text = format_summary(summary)
    assert "{" not in text and "[" not in text  # no raw Python or JSON structure
    lines = text.splitlines()
    assert lines[0] == "crawl sandbox (listing) finished in 3.2 s"
    assert "  pages          25" in lines and "  items new      24" in lines
    assert "  errors         http_500 2, media_too_large 1" in lines
    assert "  matching       24 candidates: 3 matched, 1 failed; 5 matches" in lines
    assert any(line.startswith("  index          24 candidates sent to the embedded index")
               for line in lines)
    failed = format_summary(dict(summary, indexed="failed: index unreachable"))
    assert "run `likewatch index sync`" in failed


def test_media_limits(two_hosts: tuple[_Site, _Site], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    pages, _media = two_hosts
    url = f"http://127.0.0.1:{pages.server_address[1]}"
    pages.feed = [
        {"id": "ok", "thumbnailUrl": "/t/ok.jpg", "videoUrl": "/big/ok.mp4"},
        {"id": "html", "thumbnailUrl": "/html/x.jpg", "videoUrl": "/t/not-a-video.jpg"},
        {"id": "robots", "thumbnailUrl": "/private/p.jpg"},
    ]
    monkeypatch.setenv("LIKEWATCH_MEDIA_MAX_BYTES", "100000")
    summary = run_crawl(tmp_path, url, mode="api")
    assert summary["items_new"] == 3
    assert summary["thumbnails"] == 1 and summary["videos"] == 0
    errors = summary["errors"]
    assert errors["media_too_large"] == 1  # 300 kB over a 100 kB limit, never stored
    assert errors["bad_content_type"] == 2  # text/html as thumbnail, image/jpeg as video
    assert errors["robots_disallowed"] == 1  # media obeys robots.txt too
    assert not [h for h in pages.hits if h.startswith("/private/")]
    thumbs = _thumbs(tmp_path)
    assert thumbs["ok"] and thumbs["html"] is None and thumbs["robots"] is None
