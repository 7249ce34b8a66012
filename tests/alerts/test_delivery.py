"""The outbox delivers for real: signed webhooks, SMTP (aiosmtpd), chat-app formats."""

from __future__ import annotations

import json
import socket
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from alerts import channels, outbox, payload, registry
from alerts.build import sync_alerts
from alerts.receiver import WebhookReceiver
from alerts.views import list_alerts
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Delivery, OutboxMessage
from tests.alerts.helpers import candidate, match, world


@pytest.fixture(autouse=True)
def _loopback_allowed(monkeypatch):
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("LIKEWATCH_ALERT_RETRY_BASE", "0.2")
    monkeypatch.setenv("LIKEWATCH_ALERT_RETRY_MAX", "0.5")


def _one_alert(cat, channel, target, secret="", items=("v1",), **kw):
    ids = world(cat)
    registry.add_subscription(cat, "acme", channel, target, secret=secret, **kw)
    for item in items:
        match(cat, candidate(cat, item), ids["alice"], "face", 0.3, 0.6, "t=1.00s")
    sync_alerts(cat)


def test_webhook_is_signed_and_carries_the_alert_id():
    cat = Catalog.open()
    with WebhookReceiver("s3cret") as rx:
        _one_alert(cat, "webhook", rx.url + "/hook", "s3cret")
        assert outbox.deliver_due(cat, "w1") == {"sent": 1}
        got = rx.wait_for(1, 5)
    assert len(got) == 1 and got[0].verified
    assert got[0].alert_id == got[0].body["id"] and got[0].alert_id.startswith("lw_")
    # The body is exactly the typed payload (docs/webhooks.md's schema): nothing missing,
    # nothing extra, the same values once re-serialised.
    sent = payload.parse(got[0].raw)
    assert isinstance(sent, payload.AlertPayload) and sent.wire() == json.loads(got[0].raw)
    assert sent == _stored_payload(cat)
    sig = got[0].headers["X-Likewatch-Signature"]
    assert channels.verify("s3cret", got[0].raw, sig)
    assert not channels.verify("wrong", got[0].raw, sig)
    assert not channels.verify("s3cret", got[0].raw + b" ", sig)
    # An old timestamp is refused even with the right MAC.
    old = channels.sign("s3cret", got[0].raw, timestamp=int(time.time()) - 600)
    assert not channels.verify("s3cret", got[0].raw, old)
    assert outbox.deliver_due(cat, "w1") == {}  # nothing left: sent once


def test_receiver_down_then_up_gets_the_alert_later_under_the_same_id():
    cat = Catalog.open()
    with WebhookReceiver("k") as rx:
        rx.down = True
        _one_alert(cat, "webhook", rx.url, "k")
        assert outbox.deliver_due(cat, "w") == {"retry": 1}
        assert outbox.deliver_due(cat, "w") == {}  # backing off
        time.sleep(0.8)
        assert outbox.deliver_due(cat, "w") == {"retry": 1}
        rx.down = False
        time.sleep(0.8)
        assert outbox.deliver_due(cat, "w") == {"sent": 1}
        got = rx.wait_for(1, 5)
    assert len(got) == 1 and got[0].verified
    [row] = list_alerts(cat)
    assert row["deliveries"][0]["state"] == "sent" and row["deliveries"][0]["attempts"] == 3
    with cat.session() as s:
        assert [d.ok for d in s.scalars(select(Delivery).order_by(Delivery.id))] == [
            False, False, True]


def test_dead_letter_after_max_attempts(monkeypatch):
    monkeypatch.setenv("LIKEWATCH_ALERT_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("LIKEWATCH_ALERT_RETRY_BASE", "0.01")
    cat = Catalog.open()
    with WebhookReceiver("k") as rx:
        rx.down = True
        _one_alert(cat, "webhook", rx.url, "k")
        assert outbox.deliver_due(cat, "w") == {"retry": 1}
        time.sleep(0.1)
        assert outbox.deliver_due(cat, "w") == {"dead": 1}
    [row] = list_alerts(cat, state="dead")
    assert row["deliveries"][0]["last_error"] == "HTTP 503"


def test_an_expired_lease_is_redelivered_with_the_same_id():
    cat = Catalog.open()
    with WebhookReceiver("k") as rx:
        _one_alert(cat, "webhook", rx.url, "k")
        unit = outbox.claim(cat, "dies-after-claim", lease_seconds=0.2)
        assert unit is not None
        assert outbox.claim(cat, "other") is None
        time.sleep(0.3)
        assert outbox.deliver_due(cat, "other") == {"sent": 1}
        # The first owner wakes up and tries to finish: fenced off.
        assert outbox.deliver_unit(cat, unit) == "lost-lease"
        got = rx.wait_for(2, 5)
    assert {g.alert_id for g in got} == {got[0].body["id"]}


def _stored_payload(cat, index=0):
    from likewatch.catalog.alerts import Alert

    with cat.session() as s:
        alerts = list(s.scalars(select(Alert).order_by(Alert.id)))
        return payload.alert_payload(s, alerts[index])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _SmtpServer(Controller):
    """aiosmtpd's threaded server, stopped without leaking a connection: its stop cancels the
    tasks and closes the loop, and a session whose client had just hung up (QUIT answered,
    EOF not yet read) kept an open transport, reported later by the garbage collector as
    an unclosed socket in whichever test ran then. Each session's transport is closed
    first, on the server's own loop."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sessions = []

    def factory(self):
        session = super().factory()
        self.sessions.append(session)
        return session

    def cancel_tasks(self, stop_loop: bool = True):
        for session in self.sessions:
            if session.transport is not None:
                session.transport.close()
        super().cancel_tasks(stop_loop)


class _Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


def test_email_goes_through_a_real_smtp_server(monkeypatch):
    sink = _Sink()
    port = _free_port()
    ctl = _SmtpServer(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        monkeypatch.setenv("LIKEWATCH_SMTP_PORT", str(port))
        monkeypatch.setenv("LIKEWATCH_SMTP_FROM", "alerts@likewatch.test")
        cat = Catalog.open()
        _one_alert(cat, "email", "desk@studio.test")
        assert outbox.deliver_due(cat, "w") == {"sent": 1}
    finally:
        ctl.stop()
    [(rcpt, raw)] = sink.messages
    msg = message_from_bytes(raw, policy=policy.default)
    assert rcpt == ["desk@studio.test"] and msg["From"] == "alerts@likewatch.test"
    assert msg["X-Likewatch-Alert-Id"].startswith("lw_") and "Alice Star" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    assert "http://127.0.0.1/video/v1" in text and "face distance 0.3" in text
    [att] = [p for p in msg.iter_attachments()]
    attached = payload.parse(att.get_content())
    assert attached.id == msg["X-Likewatch-Alert-Id"] and attached == _stored_payload(cat)
    assert text.replace("\r\n", "\n") == channels.message_text(attached)[1]  # SMTP: CRLF


def test_email_to_a_closed_port_is_retried(monkeypatch):
    monkeypatch.setenv("LIKEWATCH_SMTP_PORT", "9")
    cat = Catalog.open()
    _one_alert(cat, "email", "desk@studio.test")
    assert outbox.deliver_due(cat, "w") == {"retry": 1}


APP_REPLIES = {"/wecom": b'{"errcode":0,"errmsg":"ok"}', "/dingtalk": b'{"errcode":0}',
               "/feishu": b'{"code":0,"msg":"success"}', "/slack": b"ok"}


@pytest.mark.parametrize("app", ["wecom", "dingtalk", "feishu", "slack"])
def test_chat_app_formats(app):
    cat = Catalog.open()
    with WebhookReceiver(reply=lambda path: (200, APP_REPLIES[path.split("?")[0]])) as rx:
        _one_alert(cat, app, f"{rx.url}/{app}", secret="robot" if app != "slack" else "")
        assert outbox.deliver_due(cat, "w") == {"sent": 1}
        [got] = rx.wait_for(1, 5)
    b = got.body
    title, text = channels.message_text(_stored_payload(cat))
    assert text.startswith("[HIGH] Alice Star (alice)\nWhere: sandbox http://127.0.0.1/video/v1")
    if app == "wecom":
        assert b["markdown"]["content"] == f"**{title}**\n{text}"
        assert b["msgtype"] == "markdown" and "Alice Star" in b["markdown"]["content"]
    elif app == "dingtalk":
        assert b["msgtype"] == "markdown" and set(b["markdown"]) == {"title", "text"}
        assert "timestamp=" in got.path and "sign=" in got.path
    elif app == "feishu":
        assert b["msg_type"] == "text" and b["content"]["text"] == f"{title}\n{text}"
        assert b["timestamp"].isdigit() and b["sign"]
    else:
        assert b["text"].startswith("[HIGH] Alice Star") and b["blocks"][1]["type"] == "section"


def test_chat_app_error_code_is_a_failed_delivery():
    cat = Catalog.open()
    with WebhookReceiver(reply=lambda path: (200, b'{"errcode":93000,"errmsg":"invalid"}')) as rx:
        _one_alert(cat, "wecom", rx.url)
        assert outbox.deliver_due(cat, "w") == {"retry": 1}
    [row] = list_alerts(cat)
    assert "93000" in row["deliveries"][0]["last_error"]


def test_digest_sends_one_message_for_several_alerts():
    cat = Catalog.open()
    with WebhookReceiver("k") as rx:
        _one_alert(cat, "webhook", rx.url, "k", items=("v1", "v2", "v3"), digest_minutes=1)
        assert outbox.deliver_due(cat, "w") == {}  # window not over yet
        with cat.session() as s:
            for ob in s.scalars(select(OutboxMessage)):
                ob.created_at -= 61
        assert outbox.deliver_due(cat, "w") == {"sent": 1}
        [got] = rx.wait_for(1, 5)
    assert got.verified and got.body["type"] == "likewatch.digest"
    assert got.alert_id == got.body["id"] and len(got.body["alerts"]) == 3
    digest = payload.parse(got.raw)
    assert isinstance(digest, payload.DigestPayload) and digest.wire() == got.body
    assert digest.alerts == [_stored_payload(cat, i) for i in range(3)]
    assert all(r["deliveries"][0]["state"] == "sent" for r in list_alerts(cat))


def test_an_escalated_alert_is_sent_again_a_small_update_is_not():
    cat = Catalog.open()
    with WebhookReceiver("k") as rx:
        ids = world(cat)
        registry.add_subscription(cat, "acme", "webhook", rx.url, secret="k")
        c1 = candidate(cat, "v1")
        match(cat, c1, ids["alice"], "face", 0.58, 0.6, "t=1.00s")  # near the threshold
        assert sync_alerts(cat) == {"created": 1}
        assert outbox.deliver_due(cat, "w1") == {"sent": 1}
        # one more frame at the same severity: recorded, not pushed
        match(cat, c1, ids["alice"], "face", 0.57, 0.6, "t=2.00s")
        assert sync_alerts(cat) == {"updated": 1}
        assert outbox.deliver_due(cat, "w1") == {}
        # a much closer frame: the alert is now high and goes out again under its id
        match(cat, c1, ids["alice"], "face", 0.20, 0.6, "t=3.00s")
        assert sync_alerts(cat) == {"escalated": 1}
        assert outbox.deliver_due(cat, "w1") == {"sent": 1}
        got = rx.wait_for(2, 5)
    assert [g.body["severity"] for g in got] == ["low", "high"]
    assert got[0].alert_id == got[1].alert_id
    assert got[1].body["updated_at"] > got[0].body["updated_at"]
    assert got[1].body["match"]["frame"] == "t=3.00s"
    with cat.session() as s:
        row = s.scalars(select(OutboxMessage)).one()
        assert row.state == "sent"
        assert len(list(s.scalars(select(Delivery).where(Delivery.outbox_id == row.id)))) == 2
