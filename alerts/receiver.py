"""A small webhook receiver: verifies signatures, records what arrived, prints if asked.

Used by `likewatch demo`, the benches and the tests as the far end of a webhook or chat
subscription. It is a real HTTP server on 127.0.0.1 (``http.server`` in a thread). It can
be told to answer 503 for a while (``down=True``) to play a receiver that is down.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from alerts.channels import ID_HEADER, SIGNATURE_HEADER, verify


@dataclass
class Received:
    path: str
    alert_id: str
    body: dict[str, Any]
    raw: bytes
    verified: bool
    at: float
    headers: dict[str, str] = field(default_factory=dict)


class WebhookReceiver:
    """``with WebhookReceiver(secret) as r: ... r.url ... r.received``."""

    def __init__(self, secret: str = "", *, host: str = "127.0.0.1", port: int = 0,
                 on_receive: Callable[[Received], None] | None = None,
                 reply: Callable[[str], tuple[int, bytes]] | None = None) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self.down = False
        self.on_receive = on_receive
        self.reply = reply
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if len(raw) != length:
                    return  # the sender died mid-request: nothing was delivered
                if receiver.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver._record(self.path, raw, dict(self.headers.items()))
                status, body = receiver.reply(self.path) if receiver.reply else (200, b"ok")
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a sender that died mid-request is not our error

        self.server = Server((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's address
        return f"http://{host}:{port}"

    def _record(self, path: str, raw: bytes, headers: dict[str, str]) -> None:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_unparsed": raw.decode("utf-8", "replace")}
        sig = headers.get(SIGNATURE_HEADER, "")
        ok = bool(self.secret) and verify(self.secret, raw, sig)
        item = Received(path, headers.get(ID_HEADER, ""), body, raw, ok, time.time(), headers)
        with self._cond:
            self.received.append(item)
            self._cond.notify_all()
        if self.on_receive:
            self.on_receive(item)

    def wait_for(self, n: int, timeout: float) -> list[Received]:
        """Wait until at least ``n`` requests arrived (or the timeout); returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self.received)

    def start(self) -> WebhookReceiver:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="webhook-receiver")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
