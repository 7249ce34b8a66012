"""Finding 5 of issue 14: the address is checked where the connection is made, IPv6 forms of
private IPv4 are private, and allow-list entries may name a port. Loopback targets only."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alerts.evidence.capture import fetch_limited
from crawler.capture import fetch_http
from likewatch import netguard, nethttp
from likewatch.netguard import AllowList, BlockedURL, check_url
from likewatch.settings import SettingsError

NOBODY = AllowList([])


@pytest.mark.parametrize("addr", [
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
    "64:ff9b:1::a00:1",  # RFC 8215 local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::",  # 6to4 of 192.168.1.1
    "::127.0.0.1",  # IPv4-compatible
    "::10.0.0.1",
    "::ffff:0:7f00:1",  # SIIT IPv4-translated
    "::ffff:169.254.169.254",  # IPv4-mapped
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
])
def test_ipv6_forms_of_private_ipv4_are_refused(addr: str) -> None:
    with pytest.raises(BlockedURL, match="non-public"):
        check_url(f"http://[{addr}]/x", NOBODY)


@pytest.mark.parametrize("addr", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"])
def test_ipv6_forms_of_public_ipv4_pass(addr: str) -> None:
    check_url(f"http://[{addr}]/x", NOBODY)


def test_an_allow_listed_ipv4_also_opens_its_mapped_form() -> None:
    check_url("http://[::ffff:127.0.0.1]:8700/", AllowList(["127.0.0.1"]))
    with pytest.raises(BlockedURL):
        check_url("http://[64:ff9b::7f00:2]:8700/", AllowList(["127.0.0.1"]))


def test_allow_list_entries_may_name_a_port() -> None:
    allow = AllowList(["127.0.0.1:8700", "[::1]:8080", "localhost:8701", "10.0.0.0/8"])
    check_url("http://127.0.0.1:8700/browse", allow)
    check_url("http://[::1]:8080/", allow)
    check_url("http://localhost:8701/", allow)
    check_url("http://10.9.9.9:1234/", allow)  # no port: every port
    for url in ("http://127.0.0.1:8701/", "http://127.0.0.1/", "https://127.0.0.1/",
                "http://[::1]:8700/", "http://localhost:8702/", "http://127.0.0.2:8700/"):
        with pytest.raises(BlockedURL):
            check_url(url, allow)
    check_url("https://127.0.0.1/", AllowList(["127.0.0.1:443"]))  # the scheme's default port


@pytest.mark.parametrize("entry", ["127.0.0.1:http", "[::1]x", "host:0", "host:70000"])
def test_a_bad_allow_list_entry_is_a_settings_error(entry: str) -> None:
    with pytest.raises(SettingsError, match="allow_private_hosts"):
        AllowList([entry])


# --- DNS rebinding: the first answer is allowed, every later one points inside ----------

class _Named(ThreadingHTTPServer):
    text = b""
    hits: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Named

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.server.text)))
        self.end_headers()
        self.wfile.write(self.server.text)


def _serve(host: str, port: int, text: bytes) -> _Named:
    server = _Named((host, port), _Handler)
    server.text, server.hits = text, []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, _Named, _Named]]:
    """``rebind.test`` answers 127.0.0.2 (allow-listed) once, then 127.0.0.1 (internal, not
    allow-listed), as a hostile DNS server with a zero TTL would. Both serve one port."""
    internal = _serve("127.0.0.1", 0, b"INTERNAL SECRET")
    port = internal.server_address[1]
    outside = _serve("127.0.0.2", port, b"public page")
    real = socket.getaddrinfo
    answers = iter(["127.0.0.2"])

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            host = next(answers, "127.0.0.1")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.2")
    yield f"http://rebind.test:{port}/page", internal, outside
    for server in (internal, outside):
        server.shutdown()
        server.server_close()


def test_evidence_media_connects_to_the_address_it_checked(
        rebinding: tuple[str, _Named, _Named]) -> None:
    url, internal, outside = rebinding
    data, _ = fetch_limited(url, 1000, 5.0)
    assert data == b"public page"
    assert internal.hits == [] and outside.hits == ["/page"]


def test_fixture_capture_connects_to_the_address_it_checked(
        rebinding: tuple[str, _Named, _Named]) -> None:
    url, internal, _ = rebinding
    status, body = fetch_http(url)
    assert (status, body) == (200, "public page")
    assert internal.hits == []


def test_guarded_urlopen_refuses_at_connect_without_a_prior_check(
        monkeypatch: pytest.MonkeyPatch) -> None:
    internal = _serve("127.0.0.1", 0, b"INTERNAL SECRET")
    try:
        monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", f"127.0.0.1:{internal.server_address[1] + 1}")
        with pytest.raises(BlockedURL):
            nethttp.urlopen(f"http://127.0.0.1:{internal.server_address[1]}/x", timeout=5)
        # the environment's proxy settings do not route around the guard
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{internal.server_address[1] + 1}")
        with pytest.raises(BlockedURL):
            nethttp.urlopen(f"http://127.0.0.1:{internal.server_address[1]}/x", timeout=5)
        assert internal.hits == []
    finally:
        internal.shutdown()
        internal.server_close()


def test_connect_tries_only_checked_addresses() -> None:
    with pytest.raises(BlockedURL):
        netguard.connect(("localhost", 9), 1.0, allow=NOBODY)


def test_redirects_are_checked_at_each_connection_or_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    internal = _serve("127.0.0.1", 0, b"INTERNAL SECRET")

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{internal.server_address[1]}/x")
            self.send_header("Content-Length", "0")
            self.end_headers()

    outside = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=outside.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{outside.server_address[1]}/start"
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", f"127.0.0.1:{outside.server_address[1]}")
    try:
        with pytest.raises(BlockedURL):
            nethttp.urlopen(url, timeout=5, follow_redirects=True)
        with pytest.raises(nethttp.RedirectRefused) as refused:
            nethttp.urlopen(url, timeout=5, follow_redirects=False)
        assert refused.value.code == 302 and refused.value.location.endswith("/x")
        assert internal.hits == []
    finally:
        for server in (internal, outside):
            server.shutdown()
            server.server_close()
