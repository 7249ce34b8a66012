"""Finding 7 (crawl limits) of issue 14: an endless or 2 GB page, a redirect loop or chain,
endless pagination and a 12000x12000 thumbnail each end with a named count in the crawl
summary and in adapter health, never ``pages 0, errors {}``. Real crawls, loopback only."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crawler.health import format_health, platform_health, record_crawl
from likewatch.catalog import Catalog
from tests.crawler.conftest import run_crawl


def huge_png(width: int, height: int) -> bytes:
    """A valid PNG of ``width`` x ``height`` black pixels, made without holding its pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))

    z = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\0\0\0"
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class _Hostile(ThreadingHTTPServer):
    daemon_threads = True
    mode = ""  # what /browse does: endless, big, loop, hops
    thumb = b""
    hits: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Hostile

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"", ctype: str = "text/html",
               **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if "Content_Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self.server.hits.append(self.path)
        parts = urlsplit(self.path)
        if parts.path == "/robots.txt":
            return self._reply(404)
        mode = self.server.mode
        if parts.path == "/browse" and mode == "endless":  # a page that never ends
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"<p>" + b"x" * 65536 + b"</p>")
            except OSError:
                return
        if parts.path == "/browse" and mode == "big":  # announces 2 GB
            self._reply(200, b"<html>" + b" " * 65536, Content_Length=str(2 << 30))
            return
        if parts.path == "/browse" and mode == "loop":
            return self._reply(302, Location="/browse-b")
        if parts.path == "/browse-b":
            return self._reply(302, Location="/browse?page=1")
        if parts.path == "/browse" and mode == "hops":
            n = int(parse_qs(parts.query).get("n", ["0"])[0])
            return self._reply(302, Location=f"/browse?n={n + 1}")
        if parts.path == "/api/feed":  # endless pagination: always a next cursor
            n = int(parse_qs(parts.query).get("cursor", ["0"])[0])
            item = {"id": f"e{n}", "title": f"item {n}",
                    "thumbnailUrl": "/thumb/huge.png" if n == 0 else "/thumb/gone.png"}
            body = json.dumps({"items": [item], "next_cursor": str(n + 1)}).encode()
            return self._reply(200, body, "application/json")
        if parts.path == "/thumb/huge.png":
            return self._reply(200, self.server.thumb, "image/png")
        return self._reply(404)


@pytest.fixture(scope="module")
def hostile() -> Iterator[_Hostile]:
    server = _Hostile(("127.0.0.1", 0), _Handler)
    server.hits, server.thumb = [], huge_png(12000, 12000)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _crawl(home: Path, server: _Hostile, path: str, monkeypatch: pytest.MonkeyPatch,
           **kwargs: Any) -> dict[str, Any]:
    monkeypatch.setenv("LIKEWATCH_CRAWL_PAGE_MAX_BYTES", "1000000")
    monkeypatch.setenv("LIKEWATCH_CRAWL_MAX_PAGES", "6")
    return run_crawl(home, f"http://127.0.0.1:{server.server_address[1]}{path}", **kwargs)


@pytest.mark.parametrize(("mode", "kind"), [
    ("endless", "page_too_large"),
    ("big", "page_too_large"),
    ("loop", "redirect_loop"),
    ("hops", "redirect_limit"),
])
def test_a_hostile_start_page_ends_the_crawl_with_a_named_count(
        hostile: _Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str,
        kind: str) -> None:
    hostile.mode = mode
    summary = _crawl(tmp_path / "h", hostile, "/browse?page=1", monkeypatch)
    assert summary["errors"].get(kind) == 1, summary["errors"]
    with Catalog.open(home=tmp_path / "h") as cat:
        record_crawl(cat, summary)
        [report] = platform_health(cat)
        assert report.limits == {kind: 1}
        assert f"limits reached: {kind} 1" in format_health([report])[0]


def test_endless_pagination_stops_at_the_page_limit_and_huge_thumbnails_are_not_stored(
        hostile: _Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    summary = _crawl(home, hostile, "/", monkeypatch, mode="api")
    assert summary["index_pages"] == 6 and summary["items_new"] == 6
    assert summary["errors"]["page_limit"] == 1
    assert summary["errors"]["image_too_large"] == 1 and summary["thumbnails"] == 0
    assert not (home / "media").exists() or not [p for p in (home / "media").rglob("*")
                                                 if p.is_file()]
