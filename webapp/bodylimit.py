"""A limit on the size of every request body, before anything reads it.

Starlette spools an uploaded file to disk past 1 MB, but nothing bounds a whole body: a
form or JSON body is held in memory by whoever parses it (``asgi-csrf`` replays a
cookie-authenticated form from memory, FastAPI reads JSON whole), and an endless upload
fills the disk. :class:`BodyLimit` wraps the application:

- a ``Content-Length`` over the limit is answered ``413`` with a JSON error at once, the
  body unread (the server discards what the client still sends);
- a body without one (``Transfer-Encoding: chunked``) is counted as it is received; the
  message that passes the limit is never handed to the application, which gets
  :class:`BodyTooLarge` from ``receive()`` instead, and the client gets the ``413``
  (whatever the application made of the broken body is not sent).

The limit is the setting ``webapp_max_body_bytes``, lower for paths named in ``limits``
(the photo search takes one image: ``webapp.search.core.MAX_UPLOAD`` and its multipart
envelope).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from likewatch import settings

log = logging.getLogger(__name__)


def _setting() -> int:
    return int(settings.get("webapp_max_body_bytes"))


class BodyTooLarge(Exception):
    """Raised from ``receive()`` once the body passed its limit."""


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses a malformed one itself
    return None


class BodyLimit:
    """ASGI middleware: request bodies of at most ``limits[path]`` bytes, else ``default()``
    (by default the setting ``webapp_max_body_bytes``, read per request)."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int] | None = None,
                 default: Callable[[], int] | None = None) -> None:
        self.app = app
        self.limits = dict(limits or {})
        self.default = default or _setting

    def limit_for(self, path: str) -> int:
        return self.limits.get(path, self.default())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        received = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                raise BodyTooLarge(f"request body larger than {limit} bytes")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise BodyTooLarge(f"request body larger than {limit} bytes")
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # the application's answer to a cut-off body: the 413 replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLarge:
            if not refused:
                raise
        if refused:
            if started:  # an answer already under way cannot become a 413
                log.warning("request body over %d bytes after the answer started", limit)
                return
            await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"error": f"request body larger than {limit} bytes"}).encode()
    headers: list[Any] = [(b"content-type", b"application/json"),
                          (b"content-length", str(len(body)).encode()),
                          (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
