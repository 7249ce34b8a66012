"""Finding 1 of issue 14: nothing the page asks for — a redirect of the page itself, a
redirected image, a script's fetch, a WebSocket — makes the evidence browser reach an
address outside the allow-list. Real Chromium, loopback targets only."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alerts.evidence.browser import BrowserWorker
from alerts.evidence.capture import EvidenceSubject, capture_evidence

SECRET = "INTERNAL-ONLY 内部资料 7f3a9"


class _Site(ThreadingHTTPServer):
    internal = ""  # base URL of the internal server
    hits: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Site

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
              location: str = "") -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self.server.hits.append(self.path)
        internal = self.server.internal
        if not internal:  # the internal server: anything it says is secret
            self._send(200, f"<html><body><p id=s>{SECRET}</p></body></html>".encode())
        elif self.path == "/video/redirect":
            self._send(302, location=f"{internal}/admin")
        elif self.path == "/video/page":
            ws = internal.replace("http://", "ws://")
            page = f"""<!doctype html><html><head><meta charset="utf-8"><title>t</title></head>
<body><h1>public page</h1><img src="/img-redirect"><p id="out">-</p>
<script>
fetch("/api-redirect").then(r => r.text()).then(t => {{
  document.getElementById("out").textContent = "fetched:" + t; }}).catch(e => {{}});
try {{ const ws = new WebSocket("{ws}/ws");
  ws.onmessage = m => {{ document.body.append("ws:" + m.data); }}; }} catch (e) {{}}
</script></body></html>"""
            self._send(200, page.encode())
        elif self.path in ("/img-redirect", "/api-redirect"):
            self._send(302, location=f"{internal}/secret")
        else:
            self._send(404)


def _serve(internal: str = "") -> _Site:
    site = _Site(("127.0.0.1", 0), _Handler)
    site.internal, site.hits = internal, []
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site


@pytest.fixture
def sites(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[_Site, _Site]]:
    """(public, internal) on two ports of 127.0.0.1; only the public port is allow-listed."""
    internal = _serve()
    public = _serve(f"http://127.0.0.1:{internal.server_address[1]}")
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", f"127.0.0.1:{public.server_address[1]}")
    yield public, internal
    for site in (public, internal):
        site.shutdown()
        site.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserWorker]:
    worker = BrowserWorker()
    yield worker
    worker.close()


@pytest.mark.browser
def test_a_page_redirecting_inside_is_not_captured(sites: tuple[_Site, _Site],
                                                   browser: BrowserWorker,
                                                   likewatch_home: Path) -> None:
    public, internal = sites
    url = f"http://127.0.0.1:{public.server_address[1]}/video/redirect"
    result = capture_evidence(EvidenceSubject(alert_id="a-1", url=url), browser=browser)
    html = (result.directory / "files" / "page.html").read_text(encoding="utf-8")
    assert internal.hits == []  # never connected: its text cannot be in page.html or page.png
    assert SECRET not in html and "address guard" in html
    http = (result.directory / "files" / "http.json").read_text(encoding="utf-8")
    assert f"127.0.0.1:{internal.server_address[1]}/admin" in http  # named as blocked


@pytest.mark.browser
def test_redirected_subresources_fetches_and_websockets_stay_outside(
        sites: tuple[_Site, _Site], browser: BrowserWorker) -> None:
    public, internal = sites
    page = browser.capture(f"http://127.0.0.1:{public.server_address[1]}/video/page", 10.0)
    assert "public page" in page.html
    assert internal.hits == []
    assert SECRET not in page.html
    assert {"/img-redirect", "/api-redirect"} <= set(public.hits)
    assert any(f":{internal.server_address[1]}" in b for b in page.blocked_requests)
