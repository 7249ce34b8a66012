"""The browser's guard proxy on its own: plain HTTP and CONNECT, allowed and refused."""

from __future__ import annotations

import http.client
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from likewatch.guardproxy import GuardProxy
from likewatch.netguard import AllowList


class _Echo(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        body = f"{self.path} {self.headers.get('Connection')}".encode()
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def origin() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.hits = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _via(proxy: GuardProxy, url: str) -> tuple[int, bytes, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), exc.headers


def test_plain_http_is_checked_and_relayed(origin: ThreadingHTTPServer) -> None:
    port = origin.server_address[1]
    with GuardProxy(lambda: AllowList([f"127.0.0.1:{port}"])) as proxy:
        status, body, _ = _via(proxy, f"http://127.0.0.1:{port}/a?b=1")
        assert (status, body) == (200, b"/a?b=1 close")  # one request per connection
    with GuardProxy(lambda: AllowList([f"127.0.0.1:{port + 1}"])) as proxy:
        status, body, headers = _via(proxy, f"http://127.0.0.1:{port}/secret")
        assert status == 403 and headers["X-Likewatch-Blocked"] == "1"
        assert b"address guard" in body
        assert proxy.refused_total == 1 and proxy.refused_since(0) == [
            f"http://127.0.0.1:{port}/secret"]
    assert origin.hits == ["/a?b=1"]  # type: ignore[attr-defined]


def test_connect_tunnels_are_checked(origin: ThreadingHTTPServer) -> None:
    port = origin.server_address[1]
    with GuardProxy(lambda: AllowList([f"127.0.0.1:{port}"])) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        conn.set_tunnel("127.0.0.1", port)
        conn.request("GET", "/tunnelled")
        assert conn.getresponse().read().startswith(b"/tunnelled")
        conn.close()
        refused = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        refused.set_tunnel("127.0.0.1", port + 1)
        with pytest.raises(OSError, match="403"):
            refused.request("GET", "/")
        refused.close()
        assert proxy.refused_total == 1
