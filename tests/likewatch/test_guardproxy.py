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


def test_stop_closes_every_connection(origin: ThreadingHTTPServer) -> None:
    """Connections still open when the proxy stops (one idle before its request, one
    tunnel in use) are closed with it: the clients see EOF and no socket or stream is
    left for the garbage collector to report (unclosed sockets are errors in this suite)."""
    import gc
    import socket
    import warnings

    port = origin.server_address[1]
    proxy = GuardProxy(lambda: AllowList([f"127.0.0.1:{port}"])).start()
    idle = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    tunnel = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    tunnel.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
    assert tunnel.recv(1024).startswith(b"HTTP/1.1 200")
    # A third arrives in the loop's last turn: the loop is held, the client connects (the
    # kernel accepts it), then the stop is queued behind the hold and the hold released.
    assert proxy._loop is not None
    hold, held = threading.Event(), threading.Event()

    def block() -> None:
        held.set()
        hold.wait(10)

    proxy._loop.call_soon_threadsafe(block)
    assert held.wait(10)
    late = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proxy._loop.call_soon_threadsafe(proxy._loop.stop)
        hold.set()
        proxy.stop()
        gc.collect()
    with idle, tunnel, late:
        assert idle.recv(1024) == b"" and tunnel.recv(1024) == b"" and late.recv(1024) == b""
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
