"""Serving ``/metrics`` (``likewatch.metrics``) to a Prometheus scraper, and who may scrape.

Who may read the metrics (:func:`scrape_allowed`, the same rule on both servers):

- a client on the loopback interface (127.0.0.0/8, ::1): a scraper or an agent on the
  host itself, no credentials needed;
- any client presenting ``Authorization: Bearer <metrics_token>`` (setting
  ``metrics_token``; compared in constant time). With no token set, only loopback scrapes.

Anything else gets 403. Behind a reverse proxy on the same host every request comes from
loopback: let the proxy refuse ``/metrics`` or set a token (``docs/observability.md``).
The metrics hold counts, states and platform names, never a client's or a person's data.

Two servers:

- :func:`asgi_endpoint` wraps an ASGI app so ``GET /metrics`` is answered before the app's
  own authentication (the web application: the daemon's api role and ``likewatch serve``);
- :class:`MetricsServer` serves only ``/metrics`` on its own port in a thread (setting
  ``metrics_port`` / ``likewatch run --metrics-port``: a daemon without the api role).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_asgi_app, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from likewatch import settings

PATH = "/metrics"


def is_loopback(host: str | None) -> bool:
    try:
        addr = ipaddress.ip_address((host or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return bool(addr.is_loopback or (mapped is not None and mapped.is_loopback))


def scrape_allowed(client_host: str | None, authorization: str | None) -> bool:
    """May this client read the metrics (see the module docstring)?"""
    if is_loopback(client_host):
        return True
    token = str(settings.get("metrics_token") or "")
    if not token or not authorization:
        return False
    return hmac.compare_digest(authorization.strip().encode(), f"Bearer {token}".encode())


_REFUSED = b"metrics: scrape from loopback or send Authorization: Bearer <metrics_token>\n"


# --- ASGI: /metrics of the web application -------------------------------------------------
class _Snapshot(Collector):
    """Metric families collected beforehand (in a worker thread: a scrape reads the catalog,
    which must not block the event loop)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


async def _metrics_app(registry: CollectorRegistry, scope: Any, receive: Any, send: Any
                       ) -> None:
    families = await asyncio.to_thread(lambda: list(registry.collect()))
    snapshot = CollectorRegistry(auto_describe=False)
    snapshot.register(_Snapshot(families))
    await make_asgi_app(snapshot)(scope, receive, send)


def asgi_endpoint(app: Any, registry: CollectorRegistry) -> Any:
    """``app`` with ``GET /metrics`` answered from ``registry`` (others pass through)."""

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        client = scope.get("client") or (None, None)
        auth = headers.get(b"authorization", b"").decode("latin-1") or None
        if scope["method"] not in ("GET", "HEAD"):
            await _asgi_answer(send, 405, b"GET only\n", [(b"allow", b"GET, HEAD")])
        elif not scrape_allowed(client[0], auth):
            await _asgi_answer(send, 403, _REFUSED)
        else:
            await _metrics_app(registry, scope, receive, send)

    return endpoint


async def _asgi_answer(send: Any, status: int, body: bytes,
                       headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


# --- WSGI: the daemon's own metrics port -----------------------------------------------------
class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Scrapes every few seconds are not worth a log line each."""


def wsgi_endpoint(registry: CollectorRegistry) -> Callable[..., Any]:
    """A WSGI app answering ``/metrics`` (and nothing else) under :func:`scrape_allowed`."""
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in (PATH, "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"only /metrics here\n"]
        if not scrape_allowed(environ.get("REMOTE_ADDR"), environ.get("HTTP_AUTHORIZATION")):
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [_REFUSED]
        result: Iterable[bytes] = metrics_app(environ, start_response)
        return result

    return app


class MetricsServer:
    """``/metrics`` on ``host:port`` in a daemon thread until :meth:`stop` (port 0: any free
    port; :attr:`port` tells which)."""

    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._server = make_server(host, port, wsgi_endpoint(registry),
                                   ThreadingWSGIServer, handler_class=_QuietHandler)
        self.host = host
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics",
                                        kwargs={"poll_interval": 0.2}, daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"
