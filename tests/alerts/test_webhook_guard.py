"""Finding 3 of issue 14: webhook delivery follows no redirect, a refused target is a
permanent failure shown by `likewatch alerts`, and `subscribe` refuses private targets.
Loopback targets only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alerts import channels, outbox, registry
from alerts.build import sync_alerts
from alerts.payload import digest_payload
from alerts.views import format_alert_line, list_alerts
from likewatch.catalog import Catalog
from likewatch.cli import main
from tests.alerts.helpers import candidate, match, world

LIKEWATCH = str(Path(sys.executable).parent / "likewatch")


class _Recorder(ThreadingHTTPServer):
    """Records every request (any method); answers 200, or a redirect to ``location``."""

    location = ""
    hits: list[tuple[str, str, dict[str, str]]]


class _Handler(BaseHTTPRequestHandler):
    server: _Recorder

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.hits.append((self.command, self.path, dict(self.headers.items())))
        if self.server.location:
            self.send_response(302)
            self.send_header("Location", self.server.location)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _any  # noqa: N815


def _serve(host: str = "127.0.0.1", port: int = 0, location: str = "") -> _Recorder:
    server = _Recorder((host, port), _Handler)
    server.hits, server.location = [], location
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers() -> Iterator[list[_Recorder]]:
    started: list[_Recorder] = []
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


def _alert_to(cat: Catalog, target: str, *chats: tuple[str, str]) -> None:
    ids = world(cat)
    registry.add_subscription(cat, "acme", "webhook", target, secret="k")
    for app, url in chats:
        registry.add_subscription(cat, "acme", app, url)
    match(cat, candidate(cat, "v1"), ids["alice"], "face", 0.3, 0.6, "t=1.00s")
    sync_alerts(cat)


def _redirecting_inside(servers: list[_Recorder], monkeypatch: pytest.MonkeyPatch
                        ) -> tuple[_Recorder, _Recorder]:
    """An internal server, and an allow-listed one whose every answer redirects to it."""
    internal = _serve()
    servers.append(internal)
    outside = _serve(location=f"http://127.0.0.1:{internal.server_address[1]}/admin")
    servers.append(outside)
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", f"127.0.0.1:{outside.server_address[1]}")
    return internal, outside


def test_a_redirect_to_an_internal_address_is_not_followed_and_fails_for_good(
        servers: list[_Recorder], monkeypatch: pytest.MonkeyPatch) -> None:
    internal, outside = _redirecting_inside(servers, monkeypatch)
    cat = Catalog.open()
    _alert_to(cat, f"http://127.0.0.1:{outside.server_address[1]}/hook")
    assert outbox.deliver_due(cat, "w") == {"dead": 1}
    assert internal.hits == []  # the signed request never reached it
    assert [h[0] for h in outside.hits] == ["POST"]
    [row] = list_alerts(cat)
    [d] = row["deliveries"]
    assert d["state"] == "dead" and d["attempts"] == 1 and d["last_status"] == "refused"
    assert "redirect" in d["last_error"] and "not followed" in d["last_error"]
    assert outbox.deliver_due(cat, "w") == {}  # not retried
    line = format_alert_line(row)
    assert "webhook:dead(1)" in line and "redirect" in line


def test_a_refused_target_is_a_permanent_failure_shown_by_the_alerts_command(
        servers: list[_Recorder], monkeypatch: pytest.MonkeyPatch) -> None:
    internal = _serve()
    servers.append(internal)
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "")
    cat = Catalog.open()
    _alert_to(cat, f"http://127.0.0.1:{internal.server_address[1]}/hook")
    assert outbox.deliver_due(cat, "w") == {"dead": 1}
    assert internal.hits == []
    proc = subprocess.run([LIKEWATCH, "alerts"], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert "webhook:dead(1)" in proc.stdout and "blocked_url" in proc.stdout


@pytest.mark.parametrize("app", ["wecom", "dingtalk", "feishu", "slack"])
def test_chat_apps_pass_the_guard_and_follow_no_redirect(
        app: str, servers: list[_Recorder], monkeypatch: pytest.MonkeyPatch) -> None:
    """The chat robots go through the same guard: a redirect inside is not followed, a
    target outside the allow-list is never reached; both fail for good."""
    internal, outside = _redirecting_inside(servers, monkeypatch)
    cat = Catalog.open()
    outside_url = f"http://127.0.0.1:{outside.server_address[1]}"
    _alert_to(cat, f"{outside_url}/hook", (app, f"{outside_url}/{app}"),
              (app, f"http://127.0.0.1:{internal.server_address[1]}/{app}"))
    assert outbox.deliver_due(cat, "w") == {"dead": 3}  # the webhook, and the two robots
    assert internal.hits == []
    assert sorted(h[1] for h in outside.hits) == sorted(["/hook", f"/{app}"])
    [row] = list_alerts(cat)
    errors = sorted(d["last_error"].split(":")[0] for d in row["deliveries"])
    assert errors == ["blocked_url", "redirect_refused", "redirect_refused"], row["deliveries"]
    assert outbox.deliver_due(cat, "w") == {}


def test_a_webhook_connects_to_the_address_it_checked(
        servers: list[_Recorder], monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the first answer is allow-listed, later ones point inside."""
    internal = _serve("127.0.0.1")
    servers.append(internal)
    port = internal.server_address[1]
    outside = _serve("127.0.0.2", port)
    servers.append(outside)
    real = socket.getaddrinfo
    answers = iter(["127.0.0.2"])
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(
        next(answers, "127.0.0.1") if host == "rebind.test" else host, *a, **k))
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.2")
    payload = digest_payload("lwd_" + "0" * 32, [])  # the smallest payload there is
    assert channels.send_webhook(f"http://rebind.test:{port}/h", "k", payload,
                                 payload.id) == "HTTP 200"
    assert internal.hits == [] and [h[1] for h in outside.hits] == ["/h"]


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:9/h", "http://localhost:9/h", "http://[::1]:9/h",
    "http://169.254.169.254/latest", "http://10.0.0.7/h", "http://[fe80::1]/h",
    "http://[::ffff:192.168.1.1]/h", "ftp://example.org/h",
])
def test_subscribe_refuses_private_targets(target: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", raising=False)
    registry.add_client(Catalog.open(), "acme")
    code = main(["subscribe", "--client", "acme", "--webhook", target, "--secret", "s"])
    err = capsys.readouterr().err
    assert code == 2
    assert "refusing to subscribe" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_subscribe_accepts_an_allow_listed_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1:9")
    registry.add_client(Catalog.open(), "acme")
    assert main(["subscribe", "--client", "acme", "--slack", "http://127.0.0.1:9/h"]) == 0
    assert main(["subscribe", "--client", "acme", "--slack", "http://127.0.0.1:10/h"]) == 2
