"""The address guard: no outgoing connection reaches a private, loopback or link-local address
unless the ``allow_private_hosts`` setting lists it. One rule, used by every client.

The rule (:func:`check_host`): resolve the host once; refuse when *any* resolved address is
not public and not covered by the allow-list; otherwise return the addresses, and the
caller connects to exactly those (never resolving again, so a DNS answer that changes
between the check and the connection, "DNS rebinding", cannot slip in). An IPv6 address
that embeds an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``,
SIIT ``::ffff:0:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo) is judged
by the IPv4 address it carries.

Allow-list entries (setting ``allow_private_hosts``): a host name, an address or a CIDR
range, each optionally with a port: ``127.0.0.1``, ``127.0.0.1:8700``, ``[::1]:8080``,
``localhost:8700``, ``10.0.0.0/8``. Without a port an entry opens every port.

Where each client applies it, at the moment of connection (docs/crawling.md lists them):

- the standard library's ``urllib`` / ``http.client`` (webhooks, chat apps, the TSA,
  evidence media, fixture capture): :mod:`likewatch.nethttp`, whose connections call
  :func:`connect`;
- Scrapy's downloader: the Twisted name resolver ``crawler.resolver.GuardedResolver``
  (every connection of the HTTP/1.1 handler asks it for the host *and port*, and connects
  to the addresses it returns);
- Chromium (evidence pages, the crawler's browser, fixture capture): every request goes
  through :class:`likewatch.guardproxy.GuardProxy`, a local forward proxy that checks the
  target and connects to the checked address, redirects and WebSockets included.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from likewatch import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local use, never public
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")


class BlockedURL(Exception):
    """The URL's host resolves to an address Likewatch must not reach (or is not http(s))."""


class Unresolvable(BlockedURL):
    """The host has no address (DNS failed): nothing to connect to, nothing refused."""


def _split_port(entry: str) -> tuple[str, int | None]:
    """``[::1]:8080`` -> ("::1", 8080); ``host:80`` -> ("host", 80); ``::1`` -> ("::1", None)."""
    if entry.startswith("["):
        inner, _, rest = entry[1:].partition("]")
        if not rest:
            return inner, None
        if not rest.startswith(":"):
            raise ValueError(entry)
        return inner, int(rest[1:])
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port)
    return entry, None


class AllowList:
    """The ``allow_private_hosts`` entries: host names and networks, each with an optional port."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.hosts: list[tuple[str, int | None]] = []
        self.networks: list[tuple[IPNetwork, int | None]] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                name, port = _split_port(entry)
                if port is not None and not 0 < port < 65536:
                    raise ValueError(entry)
            except ValueError:
                raise settings.SettingsError(
                    f"allow_private_hosts: bad entry {entry!r} (a host, an address or a CIDR "
                    "range, optionally with :port, e.g. 127.0.0.1:8700 or [::1]:8080)") from None
            try:
                self.networks.append((ipaddress.ip_network(name, strict=False), port))
            except ValueError:
                self.hosts.append((name.lower().rstrip("."), port))

    @classmethod
    def from_settings(cls) -> AllowList:
        return cls(settings.get("allow_private_hosts"))

    def allows(self, host: str, addr: IPAddress, port: int | None = None) -> bool:
        """Whether ``host`` (resolved to ``addr``) may be reached on ``port``."""
        def port_ok(p: int | None) -> bool:
            return p is None or p == port

        name = host.lower().rstrip(".").strip("[]")
        if any(h == name and port_ok(p) for h, p in self.hosts):
            return True
        judged = {addr, embedded_ipv4(addr) or addr}
        return any(a in net and port_ok(p) for net, p in self.networks for a in judged
                   if a.version == net.version)


def embedded_ipv4(addr: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, SIIT, NAT64, 6to4,
    Teredo client), or None."""
    if not isinstance(addr, ipaddress.IPv6Address):
        return None
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    low32 = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr in _NAT64 or addr in _SIIT:
        return low32
    if addr in _IPV4_COMPATIBLE and int(addr) > 1:  # not :: nor ::1 (judged as themselves)
        return low32
    return None


def is_public(addr: IPAddress) -> bool:
    """A globally reachable unicast address; an embedded IPv4 address decides for its IPv6."""
    if isinstance(addr, ipaddress.IPv6Address) and addr in _NAT64_LOCAL:
        return False
    inner = embedded_ipv4(addr)
    if inner is not None:
        return is_public(inner)
    return addr.is_global and not addr.is_multicast


def resolve(host: str, port: int | None = None) -> list[IPAddress]:
    """Every address of ``host`` (an IP literal is itself); raises BlockedURL when unknown."""
    bare = host.strip("[]")
    try:
        return [ipaddress.ip_address(bare)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"cannot resolve host {host!r}: {exc}") from exc
    out: list[IPAddress] = []
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if addr not in out:
            out.append(addr)
    return out


def check_host(host: str, port: int, allow: AllowList | None = None) -> list[IPAddress]:
    """Resolve ``host`` once and return its addresses when every one may be reached on
    ``port``; raise :class:`BlockedURL` otherwise. Connect to these addresses only."""
    allow = allow if allow is not None else AllowList.from_settings()
    addrs = resolve(host, port)
    if not addrs:
        raise Unresolvable(f"host {host!r} has no address")
    for addr in addrs:
        if not is_public(addr) and not allow.allows(host, addr, port):
            raise BlockedURL(
                f"{host}:{port} resolves to non-public address {addr}; "
                "add it to allow_private_hosts to permit it")
    return addrs


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and the addresses that were checked."""

    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def url_host_port(url: str, schemes: Iterable[str] = ("http", "https")) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url``; BlockedURL for another scheme or no host."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in set(schemes):
        raise BlockedURL(f"scheme {parts.scheme!r} not allowed: {url}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise BlockedURL(f"bad host or port in URL {url!r}: {exc}") from exc
    if not host:
        raise BlockedURL(f"no host in URL: {url}")
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def check_url(url: str, allow: AllowList | None = None) -> Target:
    """Check an http(s) URL; raise :class:`BlockedURL` unless its host may be reached."""
    scheme, host, port = url_host_port(url)
    return Target(scheme, host, port, tuple(check_host(host, port, allow)))


def connect(address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
            source_address: tuple[str, int] | None = None, *,
            allow: AllowList | None = None) -> socket.socket:
    """``socket.create_connection`` through the guard: resolve once, check, then connect to
    a checked address (the first that answers). Raises BlockedURL (an OSError is raised as
    usual when none answers)."""
    host, port = address
    last: OSError | None = None
    for addr in check_host(host, port, allow):
        try:
            return socket.create_connection((str(addr), port), timeout, source_address)
        except OSError as exc:
            last = exc
    assert last is not None
    raise last
