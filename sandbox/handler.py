"""The sandbox's HTTP routes (``sandbox.server.SandboxServer`` serves them): robots.txt, the
feed and search APIs, the browse and detail pages, media, each through the fault plan
(``sandbox.faults``) and the throttle (``sandbox.limits``)."""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox import pages
from sandbox.server import FEED_DEFAULT_LIMIT, FEED_MAX_LIMIT, BadRequest, SandboxServer

log = logging.getLogger("sandbox.http")

def _one(query: dict[str, list[str]], name: str, default: str = "") -> str:
    values = query.get(name)
    return values[0] if values else default


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = _one(query, name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


class Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a crawler killed) is not an error here."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            log.debug("client %s went away", client_address)
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SandboxVideo/1.0"
    timeout = 30  # idle keep-alive connections are dropped after this many seconds

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # the client's delayed ACK stall every keep-alive response by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def sb(self) -> SandboxServer:
        return self.server.sandbox  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch(head=True)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch(head=False)

    # -- plumbing ----------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, head: bool,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _html(self, status: int, text: str, head: bool) -> None:
        self._send(status, text.encode("utf-8"), "text/html; charset=utf-8", head)

    def _json(self, status: int, doc: Any, head: bool) -> None:
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", head)

    def _dispatch(self, head: bool) -> None:
        try:
            self._route(head)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away during %s", self.path)
        except BadRequest as exc:
            self._json(400, {"error": str(exc)}, head)
        except Exception:  # noqa: BLE001 - a bug must not kill the connection thread silently
            log.exception("sandbox error on %s", self.path)
            self._send(500, b"internal error\n", "text/plain; charset=utf-8", head)

    def _route(self, head: bool) -> None:
        # http.server decodes the request line as Latin-1; raw UTF-8 (curl) must survive too.
        try:
            target = self.path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            target = self.path
        url = urlsplit(target)
        path, query = url.path, parse_qs(url.query)
        retry_after = self.sb.throttle.arrive(target)
        if retry_after is not None:
            self._send(429, b"slow down\n", "text/plain; charset=utf-8", head,
                       {"Retry-After": f"{retry_after:g}"})
            return
        if path == "/robots.txt":
            self._send(200, self.sb.robots_txt.encode(), "text/plain; charset=utf-8", head)
            return
        fault, delay = self.sb.faults.transient(self.path)
        if delay:
            time.sleep(delay)
        if fault == "429":
            self._send(429, b"too many requests\n", "text/plain; charset=utf-8", head,
                       {"Retry-After": "1"})
            return
        if fault == "500":
            self._send(500, b"upstream error\n", "text/plain; charset=utf-8", head)
            return
        if path in ("/", "/browse"):
            self._browse(_int_param(query, "page", 1), head)
        elif path.startswith("/video/"):
            self._detail(path[len("/video/"):], head)
        elif path == "/search":
            self._html(200, pages.search_shell(_one(query, "q")), head)
        elif path == "/api/search":
            self._json(200, {"items": self.sb.search(_one(query, "q"))}, head)
        elif path == "/api/feed":
            limit = _int_param(query, "limit", FEED_DEFAULT_LIMIT)
            if not 1 <= limit <= FEED_MAX_LIMIT:
                raise BadRequest(f"limit must be within 1..{FEED_MAX_LIMIT}")
            self._json(200, self.sb.feed(_one(query, "cursor") or None, limit), head)
        elif path.startswith("/media/thumb/") and path.endswith(".jpg"):
            self._media(path[len("/media/thumb/"):-4], "thumb", head)
        elif path.startswith("/media/video/") and path.endswith(".mp4"):
            self._media(path[len("/media/video/"):-4], "video", head)
        elif path.startswith("/private/"):
            self._html(403, pages.not_found("禁止访问"), head)
        else:
            self._html(404, pages.not_found(), head)

    # -- routes ------------------------------------------------------------------------
    def _browse(self, page: int, head: bool) -> None:
        visible = self.sb.published()
        newest_first = visible[::-1]
        start = (page - 1) * pages.PAGE_SIZE
        if page < 1 or (start >= len(newest_first) and page != 1):
            self._html(404, pages.not_found("没有更多了"), head)
            return
        chunk = newest_first[start: start + pages.PAGE_SIZE]
        has_next = start + pages.PAGE_SIZE < len(newest_first)
        self._html(200, pages.browse(chunk, page, has_next, len(visible)), head)

    def _detail(self, item_id: str, head: bool) -> None:
        if not self.sb.is_published(item_id):
            self._html(404, pages.not_found("视频不存在或已删除"), head)
            return
        item = self.sb.items[self.sb.position[item_id]]
        if self.sb.faults.challenge(item_id):
            self._html(200, pages.verify_page(), head)
            return
        malformed = self.sb.faults.malformed_state(item_id)
        self._html(200, pages.detail(item, malformed), head)

    def _media(self, item_id: str, kind: str, head: bool) -> None:
        if not self.sb.is_published(item_id):
            self._html(404, pages.not_found(), head)
            return
        ctype = "image/jpeg" if kind == "thumb" else "video/mp4"
        data = self.sb.media_bytes(item_id, kind)
        if data is None:
            self._html(404, pages.not_found(), head)
            return
        if kind == "thumb" and self.sb.faults.broken_thumbnail(item_id):
            # Garbage where the JPEG header should be, and only a third of the rest.
            data = b"\x00" * 16 + data[16: len(data) // 3]
        elif kind == "video" and self.sb.faults.truncated_video(item_id):
            # Cut before the index (moov) at the end of the file: undecodable.
            data = data[: len(data) * 3 // 5]
        self._send(200, data, ctype, head, {"Cache-Control": "public, max-age=3600"})
