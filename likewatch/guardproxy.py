"""GuardProxy: the address guard for Chromium, as a local forward proxy.

Chromium resolves and connects by itself, follows HTTP redirects inside its network stack
(Playwright's request routing never sees the redirected request) and opens WebSockets
that routing does not cover. So every browser Likewatch launches is given this proxy
(``--proxy-server``; Playwright also sends loopback through it), and the proxy is where
the browser's connections are made:

- ``GET http://host:port/...`` (plain HTTP, absolute form) and ``CONNECT host:port``
  (HTTPS and WebSockets, tunnelled, TLS end to end between Chromium and the site) are
  checked with :func:`likewatch.netguard.check_host` (resolve once, check every address
  with the port) and connected to a checked address. Each redirect is a new request, so
  it is checked again; Chromium never resolves a name itself.
- A refused target gets ``403`` with ``X-Likewatch-Blocked: 1`` and a one-line body
  naming the guard; nothing is sent to it. Refusals are kept in :attr:`GuardProxy.refused`
  (the last 1000) and counted in :attr:`GuardProxy.refused_total`.
- One request per proxied HTTP connection (``Connection: close`` both ways), headers at
  most 64 KiB, data relayed in 64 KiB chunks: memory stays small whatever a page sends.

It runs its own asyncio loop in a daemon thread, so it serves a sync Playwright thread
and Scrapy's reactor alike::

    with GuardProxy() as proxy:
        browser = pw.chromium.launch(proxy={"server": proxy.url}, ...)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from likewatch import netguard, settings
from likewatch.log import get_logger

log = get_logger(__name__)

# The flags of every Chromium Likewatch launches (crawler, page capture, evidence, the
# browser tests): Debian's build as root in a container, no GPU, and quiet: no background
# traffic, no updates, no sync, no first-run pages.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

HEAD_LIMIT = 64 * 1024
CHUNK = 64 * 1024
_HOP_HEADERS = {b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization",
                b"proxy-authenticate", b"te", b"trailer", b"upgrade"}


class _Refused(Exception):
    pass


def _split_authority(authority: str) -> tuple[str, int]:
    host, _, port = authority.rpartition(":")
    if not host or not port.isdigit():
        raise _Refused(f"bad CONNECT target {authority!r}")
    return host.strip("[]"), int(port)


class GuardProxy:
    def __init__(self, allow: Callable[[], netguard.AllowList] | None = None, *,
                 connect_timeout: float = 15.0, idle_timeout: float = 60.0) -> None:
        self.allow = allow or netguard.AllowList.from_settings
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.refused: collections.deque[str] = collections.deque(maxlen=1000)
        self.refused_total = 0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()  # open connections, both sides
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- life cycle ----------------------------------------------------------------------
    def start(self) -> GuardProxy:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._accept, "127.0.0.1", 0, limit=HEAD_LIMIT))
                self.port = int(self._server.sockets[0].getsockname()[1])
            except BaseException as exc:  # noqa: BLE001 - handed to start()
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                self._shut_down(loop)

        self._thread = threading.Thread(target=run, name="guard-proxy", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    def _shut_down(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stop accepting, let connections accepted in the loop's last turn become tasks
        (a server closed first drops them with their socket open), close the server,
        cancel every connection's task (in rounds: a cancelled task may start another), close
        what is still open (a task cancelled before its first step never reaches its
        ``finally``), then close the loop: no socket outlives the proxy."""
        assert self._server is not None
        for sock in self._server.sockets:  # stop accepting; the server stays open while
            loop.remove_reader(sock.fileno())  # an accept in flight becomes a connection
        for _ in range(3):
            loop.run_until_complete(asyncio.sleep(0))
        self._server.close()
        while tasks := [t for t in asyncio.all_tasks(loop) if not t.done()]:
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        loop.run_until_complete(asyncio.sleep(0))  # the transports' connection_lost
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> GuardProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def refused_since(self, mark: int) -> list[str]:
        """Refusals after ``refused_total`` was ``mark`` (at most the last 1000)."""
        n = self.refused_total - mark
        return list(self.refused)[-n:] if n > 0 else []

    # --- one client connection -----------------------------------------------------------
    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.get_running_loop().create_task(self._handle(reader, writer))
        self._tasks.add(task)  # a strong reference: the loop keeps only weak ones
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_timeout)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                    ConnectionError):
                return
            line, _, header_block = head.partition(b"\r\n")
            try:
                method, target, version = line.decode("latin-1").split(" ", 2)
            except ValueError:
                return
            shown = f"{target} (CONNECT)" if method == "CONNECT" else target
            try:
                if method == "CONNECT":
                    host, port = _split_authority(target)
                else:
                    _, host, port = netguard.url_host_port(target, ("http",))
                up_reader, upstream = await self._open(host, port)
                self._writers.add(upstream)
            except netguard.Unresolvable as exc:  # DNS failed: a gateway error, not a refusal
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                log.debug("proxy target unresolvable", target=target, error=str(exc))
                return
            except (_Refused, netguard.BlockedURL, settings.SettingsError) as exc:
                self._refuse(writer, shown, str(exc))
                return
            except OSError as exc:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                log.debug("proxy upstream failed", target=target, error=str(exc))
                return
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await writer.drain()
                await self._relay(reader, writer, up_reader, upstream)
                return
            parts = urlsplit(target)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            upstream.write(f"{method} {path} {version}\r\n".encode("latin-1")
                           + _rewrite_headers(header_block) + b"\r\n")
            await self._relay(reader, writer, up_reader, upstream, response_head=True)
        finally:
            for w in (upstream, writer):
                if w is not None:
                    w.close()
                    self._writers.discard(w)
                    with contextlib.suppress(Exception):
                        await w.wait_closed()

    async def _open(self, host: str, port: int
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        allow = self.allow()
        addrs = await loop.run_in_executor(None, netguard.check_host, host, port, allow)
        last: OSError | None = None
        for addr in addrs:
            try:
                async with asyncio.timeout(self.connect_timeout):  # no wait_for: in 3.11 a
                    return await asyncio.open_connection(str(addr), port)  # cancel can lose it
            except (OSError, TimeoutError) as exc:
                last = exc if isinstance(exc, OSError) else OSError(f"connect timeout {addr}")
        raise last or OSError(f"no address for {host}")

    def _refuse(self, writer: asyncio.StreamWriter, target: str, why: str) -> None:
        self.refused.append(target)
        self.refused_total += 1
        log.info("browser request refused by the address guard", target=target, reason=why)
        body = f"blocked by the Likewatch address guard: {target}\n".encode()
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     b"X-Likewatch-Blocked: 1\r\nConnection: close\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter,
                     up_r: asyncio.StreamReader, up_w: asyncio.StreamWriter,
                     response_head: bool = False) -> None:
        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                       rewrite_head: bool) -> None:
            try:
                if rewrite_head:
                    head = await asyncio.wait_for(src.readuntil(b"\r\n\r\n"), self.idle_timeout)
                    status, _, block = head.partition(b"\r\n")
                    dst.write(status + b"\r\n" + _rewrite_headers(block) + b"\r\n")
                while data := await asyncio.wait_for(src.read(CHUNK), self.idle_timeout):
                    dst.write(data)
                    await dst.drain()
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                    ConnectionError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.write_eof() if dst.can_write_eof() else None

        upward = asyncio.create_task(pump(client_r, up_w, False))
        try:
            await pump(up_r, client_w, response_head)
        finally:
            upward.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await upward


def _rewrite_headers(block: bytes) -> bytes:
    """Header lines without hop-by-hop ones, plus ``Connection: close``; ends with CRLF."""
    out = []
    for raw in block.split(b"\r\n"):
        if not raw:
            continue
        name = raw.split(b":", 1)[0].strip().lower()
        if name not in _HOP_HEADERS:
            out.append(raw)
    out.append(b"Connection: close")
    return b"\r\n".join(out) + b"\r\n"
