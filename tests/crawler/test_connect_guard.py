"""Finding 5 of issue 14 in the crawler: Scrapy connects only to the addresses the guard
checked (DNS rebinding), and allow-list entries may name a port. Real crawls, loopback only."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.conftest import run_crawl
from tests.crawler.test_crawl_guard_cli import N_ITEMS, _serve, _Site


@pytest.fixture
def two_ports() -> Iterator[tuple[_Site, _Site]]:
    """Pages and media on two ports of 127.0.0.1."""
    pages, media = _serve("127.0.0.1"), _serve("127.0.0.1")
    pages.media_host = f"http://127.0.0.1:{media.server_address[1]}"
    yield pages, media
    for site in (pages, media):
        site.shutdown()
        site.server_close()


def test_an_allow_list_entry_with_a_port_opens_that_port_only(
        two_ports: tuple[_Site, _Site], tmp_path: Path) -> None:
    pages, media = two_ports
    port = pages.server_address[1]
    summary = run_crawl(tmp_path / "h", f"http://127.0.0.1:{port}", allow=f"127.0.0.1:{port}",
                        mode="api")
    assert summary["items_new"] == N_ITEMS
    assert summary["thumbnails"] == 0 and summary["errors"]["blocked_url"] >= N_ITEMS
    assert media.hits == []


def test_a_host_whose_dns_answer_changes_is_never_connected_inside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``rebind.test`` answers 127.0.0.2 (allow-listed) to the first lookup of the crawl
    process and 127.0.0.1 (internal) to every later one. The early check sees the first
    answer; the connection must not go to the second."""
    internal = _serve("127.0.0.1")
    port = internal.server_address[1]
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(textwrap.dedent("""
        import socket
        _real, _answers = socket.getaddrinfo, iter(["127.0.0.2"])
        def _fake(host, *args, **kwargs):
            if host == "rebind.test":
                host = next(_answers, "127.0.0.1")
            return _real(host, *args, **kwargs)
        socket.getaddrinfo = _fake
        _real_by_name = socket.gethostbyname
        socket.gethostbyname = lambda h: _real_by_name("127.0.0.1" if h == "rebind.test" else h)
    """))
    monkeypatch.setenv("PYTHONPATH", str(hooks))
    import socket

    real = socket.getaddrinfo  # the parent's own early check sees the allowed answer
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(
        "127.0.0.2" if host == "rebind.test" else host, *a, **k))
    try:
        summary = run_crawl(tmp_path / "h", f"http://rebind.test:{port}", allow="127.0.0.2",
                            mode="api")
    finally:
        internal.shutdown()
        internal.server_close()
    assert internal.hits == []
    assert summary["pages"] == 0 and summary["errors"].get("blocked_url", 0) >= 1


class _Redirecting(ThreadingHTTPServer):
    location = ""
    hits: list[str]


class _RedirectHandler(BaseHTTPRequestHandler):
    server: _Redirecting

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.hits.append(self.path)
        found = self.path.startswith("/search")
        self.send_response(302 if found else 404)
        if found:
            self.send_header("Location", self.server.location)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _redirecting(location: str) -> _Redirecting:
    site = _Redirecting(("127.0.0.1", 0), _RedirectHandler)
    site.location, site.hits = location, []
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site


@pytest.mark.browser
def test_the_crawlers_browser_does_not_follow_a_redirect_inside(tmp_path: Path) -> None:
    """The search page (rendered by Chromium through scrapy-playwright) answers 302 to a
    loopback port outside the allow-list: Chromium follows redirects by itself, so only the
    guard proxy it connects through can stop it."""
    internal = _serve("127.0.0.1")
    public = _redirecting(f"http://127.0.0.1:{internal.server_address[1]}/secret")
    port = public.server_address[1]
    try:
        summary = run_crawl(tmp_path / "h", f"http://127.0.0.1:{port}", allow=f"127.0.0.1:{port}",
                            mode="search", query="x")
    finally:
        for site in (public, internal):
            site.shutdown()
            site.server_close()
    assert internal.hits == []
    assert any(h.startswith("/search") for h in public.hits)
    assert summary["errors"].get("blocked_url", 0) >= 1
