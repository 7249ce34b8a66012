"""GuardedResolver: the address guard at the moment Scrapy's downloader connects.

Scrapy's HTTP/1.1 download handler connects through Twisted's ``HostnameEndpoint``, which
asks the reactor's name resolver for the host *and port* of every new connection (IP
literals included) and connects only to the addresses it is given. This resolver resolves
once (:func:`likewatch.netguard.check_host`, in the reactor's thread pool), checks every
address against the allow-list with the port, and hands the endpoint exactly the checked
addresses: a second DNS answer never reaches the socket (DNS rebinding). When refused it
hands over none, so the connection fails with ``DNSLookupError`` and nothing is sent; the
refusal is remembered in :data:`REFUSED` so the retry middleware counts it as
``blocked_url`` instead of retrying it as a network error.

Installed by ``TWISTED_DNS_RESOLVER`` in crawler/settings.py. The URL guard middleware
still checks each request first (to count and refuse early); this is the check that holds
at connection time, for redirects and robots.txt too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IAddress, IHostnameResolver
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from zope.interface import implementer

from likewatch import netguard

log = logging.getLogger(__name__)

# (host lower-cased, port) -> why it was refused at connection time
REFUSED: dict[tuple[str, int], str] = {}


@implementer(IHostnameResolver)
class GuardedResolver:
    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        return cls(reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    def resolveHostName(
        self,
        resolutionReceiver: Any,  # an IResolutionReceiver (zope interfaces defeat mypy)
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        from scrapy.resolver import HostResolution

        resolution = HostResolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        d = deferToThreadPool(self.reactor, self.reactor.getThreadPool(),
                              netguard.check_host, hostName, portNumber)

        def deliver(addrs: list[netguard.IPAddress]) -> None:
            for addr in addrs:
                kind: Any = IPv4Address if addr.version == 4 else IPv6Address
                if addressTypes is None or kind in addressTypes:
                    resolutionReceiver.addressResolved(kind("TCP", str(addr), portNumber))
            resolutionReceiver.resolutionComplete()

        def refused(failure: Failure) -> None:
            if isinstance(failure.value, netguard.BlockedURL) and \
                    not isinstance(failure.value, netguard.Unresolvable):
                REFUSED[(hostName.lower(), portNumber)] = str(failure.value)
                log.warning("refused at connection: %s", failure.value)
            else:
                log.warning("resolving %s failed: %s", hostName, failure.getErrorMessage())
            resolutionReceiver.resolutionComplete()  # no address: the connection fails

        d.addCallbacks(deliver, refused)
        return resolution


def refused_reason(host: str | None, port: int) -> str | None:
    """Why a connection to ``host:port`` was refused by the resolver, if it was."""
    return REFUSED.get(((host or "").lower(), port))
