"""Crawled URLs never reach private, loopback or link-local addresses unless allow-listed.

The check resolves the host and refuses when *any* resolved address is non-public and not
covered by the allow-list (setting ``allow_private_hosts``: host names, IPs or CIDR
ranges). The sandbox is reached by listing 127.0.0.1 there, not by a hole in this check.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from likewatch import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedURL(Exception):
    """The URL's host resolves to an address the crawler must not reach."""


class AllowList:
    def __init__(self, entries: Iterable[str]) -> None:
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower())

    @classmethod
    def from_settings(cls) -> AllowList:
        return cls(settings.get("allow_private_hosts"))

    def allows(self, host: str, addr: IPAddress) -> bool:
        if host.lower() in self.hosts:
            return True
        return any(addr in net for net in self.networks)


def is_public(addr: IPAddress) -> bool:
    return addr.is_global and not addr.is_multicast


def resolve(host: str) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise BlockedURL(f"cannot resolve host {host!r}: {exc}") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check_url(url: str, allow: AllowList | None = None) -> None:
    """Raise :class:`BlockedURL` unless every address of the URL's host may be reached."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise BlockedURL(f"scheme {parts.scheme!r} not allowed: {url}")
    host = parts.hostname
    if not host:
        raise BlockedURL(f"no host in URL: {url}")
    allow = allow if allow is not None else AllowList.from_settings()
    for addr in resolve(host):
        if not is_public(addr) and not allow.allows(host, addr):
            raise BlockedURL(
                f"{host} resolves to non-public address {addr}; "
                "add it to allow_private_hosts to permit it"
            )
