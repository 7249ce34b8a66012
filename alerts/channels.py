"""Channels: how an alert (or a digest of alerts) leaves Likewatch.

- ``webhook``: JSON POST signed with HMAC-SHA256 (see docs/webhooks.md).
- ``email``: a plain-text message over SMTP (settings smtp_*).
- ``wecom``, ``dingtalk``, ``feishu``, ``slack``: those apps' incoming-webhook JSON formats.

Each sender takes the typed payload (``alerts/payload.py``: an alert or a digest; the
webhook body and the e-mail attachment are its JSON, chat messages are written from it),
raises :class:`DeliveryError` on failure and returns a short status on success. They are
plain functions: the outbox calls them, tests call them directly.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.parse
from email.message import EmailMessage
from typing import Any

from alerts.payload import AlertPayload, DigestPayload
from likewatch import netguard, nethttp, settings

Payload = AlertPayload | DigestPayload

CHANNELS = ("webhook", "email", "wecom", "dingtalk", "feishu", "slack")
SIGNATURE_HEADER = "X-Likewatch-Signature"
ID_HEADER = "X-Likewatch-Alert-Id"


class DeliveryError(Exception):
    """A delivery attempt failed. The outbox retries it, unless ``permanent``: a target the
    address guard refuses, or one that redirects, fails the same way every time, so the
    delivery becomes a dead letter at once (``likewatch alerts`` shows why)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def check_target(channel: str, target: str) -> None:
    """Refuse (BlockedURL) an HTTP channel target the address guard would refuse: private,
    loopback, link-local, not http(s), unless ``allow_private_hosts`` lists it. Checked
    when subscribing; the guard checks again at every delivery's connection."""
    if channel != "email":
        netguard.check_url(target)


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The X-Likewatch-Signature value: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance: float = 300.0,
           now: float | None = None) -> bool:
    """Check a signature header as a receiver would (docs/webhooks.md shows the same)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _post_json(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST through the address guard (checked at connection). Redirects are not followed:
    a signed alert goes to the subscribed URL or nowhere."""
    try:
        with nethttp.urlopen(url, data=body, method="POST", follow_redirects=False,
                             timeout=float(settings.get("alert_timeout")), headers={
                                 "Content-Type": "application/json; charset=utf-8",
                                 "User-Agent": "Likewatch-Alerts/0.1", **headers}) as resp:
            return int(resp.status), resp.read(65536)
    except netguard.BlockedURL as exc:
        raise DeliveryError(f"blocked_url: {exc}", permanent=True) from exc
    except nethttp.RedirectRefused as exc:
        raise DeliveryError(f"redirect_refused: HTTP {exc.code} to {exc.location or '?'}; "
                            "redirects are not followed (subscribe the final URL)",
                            permanent=True) from exc
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DeliveryError(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from exc


def message_text(payload: Payload) -> tuple[str, str]:
    """(title, plain/markdown-ish body) for human channels; a digest lists its alerts."""
    alerts = payload.alerts if isinstance(payload, DigestPayload) else [payload]
    if isinstance(payload, DigestPayload):
        title = f"Likewatch digest: {len(alerts)} alert(s)"
    else:
        title = (f"[{payload.severity.upper()}] {payload.person.name} "
                 f"found on {payload.where.platform}")
    lines = []
    for a in alerts:
        w, m = a.where, a.match
        frame = f", frame {m.frame}" if m.frame else ""
        lines += [
            f"[{a.severity.upper()}] {a.person.name} ({a.person.id})",
            f"Where: {w.platform} {w.url}",
            f"Title: {w.title}",
            f"Uploader: {w.uploader} ({w.uploader_id})",
            f"Published: {_when(a.published_at)}  Found: {_when(a.found_at)}",
            f"Signal: {m.signal} distance {m.distance} (threshold {m.threshold}){frame}",
            f"Candidate image sha256: {a.candidate_image.sha256}",
            f"Reference sha256: {a.reference.sha256}",
            f"Alert id: {a.id}",
            "",
        ]
    return title, "\n".join(lines).rstrip() + "\n"


def _when(value: dt.datetime | None) -> str | None:
    """A time as the JSON payload writes it (ISO 8601, UTC, Z), for message texts."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def body_bytes(payload: Payload) -> bytes:
    """The JSON body of a webhook (and of an e-mail's attachment, indented there)."""
    return json.dumps(payload.wire(), ensure_ascii=False, sort_keys=True).encode("utf-8")


def send_webhook(target: str, secret: str, payload: Payload, key: str) -> str:
    body = body_bytes(payload)
    status, _ = _post_json(target, body, {SIGNATURE_HEADER: sign(secret, body), ID_HEADER: key})
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")
    return f"HTTP {status}"


def _check_app_reply(status: int, raw: bytes, app: str) -> str:
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")
    if app == "slack":
        if raw.strip() not in (b"ok", b""):
            raise DeliveryError(f"slack replied {raw[:200]!r}")
        return f"HTTP {status}"
    try:
        reply = json.loads(raw or b"{}")
    except ValueError as exc:
        raise DeliveryError(f"{app} replied non-JSON") from exc
    code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
    if code not in (0, None):
        raise DeliveryError(f"{app} error {code}: {reply.get('errmsg') or reply.get('msg')}")
    return f"HTTP {status}"


def chat_body(app: str, payload: Payload, secret: str = "",
              timestamp: int | None = None) -> dict[str, Any]:
    """The JSON an app's incoming webhook expects."""
    title, text = message_text(payload)
    if app == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"}}
    if app == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n\n{text}"}}
    if app == "feishu":
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": f"{title}\n{text}"}}
        if secret:
            t = int(time.time()) if timestamp is None else timestamp
            key = f"{t}\n{secret}".encode()
            body["timestamp"] = str(t)
            body["sign"] = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return body
    if app == "slack":
        return {"text": title, "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]}
    raise ValueError(f"unknown chat app {app!r}")


def dingtalk_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    """DingTalk's signed URL (when the robot has a secret): &timestamp=..&sign=.."""
    if not secret:
        return url
    t = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    mac = hmac.new(secret.encode(), f"{t}\n{secret}".encode(), hashlib.sha256).digest()
    sig = urllib.parse.quote_plus(base64.b64encode(mac))
    return f"{url}{'&' if '?' in url else '?'}timestamp={t}&sign={sig}"


def send_chat(app: str, target: str, secret: str, payload: Payload, key: str) -> str:
    body = json.dumps(chat_body(app, payload, secret), ensure_ascii=False).encode("utf-8")
    url = dingtalk_url(target, secret) if app == "dingtalk" else target
    status, raw = _post_json(url, body, {ID_HEADER: key})
    return _check_app_reply(status, raw, app)


def send_email(target: str, payload: Payload, key: str) -> str:
    title, text = message_text(payload)
    msg = EmailMessage()
    msg["Subject"] = f"[Likewatch] {title}"
    msg["From"] = settings.get("smtp_from")
    msg["To"] = target
    msg["Message-ID"] = f"<{key}@likewatch>"
    msg[ID_HEADER] = key
    msg.set_content(text)
    msg.add_attachment(json.dumps(payload.wire(), ensure_ascii=False, indent=2).encode("utf-8"),
                       maintype="application", subtype="json", filename=f"{key}.json")
    try:
        with smtplib.SMTP(settings.get("smtp_host"), int(settings.get("smtp_port")),
                          timeout=float(settings.get("alert_timeout"))) as smtp:
            if settings.get("smtp_starttls"):
                smtp.starttls()
            if settings.get("smtp_username"):
                smtp.login(settings.get("smtp_username"), settings.get("smtp_password"))
            refused = smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP: {exc}") from exc
    if refused:
        raise DeliveryError(f"SMTP refused {sorted(refused)}")
    return "SMTP 250"


def send(channel: str, target: str, secret: str, payload: Payload, key: str) -> str:
    """Deliver ``payload`` on ``channel``; raises DeliveryError on failure."""
    if channel == "webhook":
        return send_webhook(target, secret, payload, key)
    if channel == "email":
        return send_email(target, payload, key)
    if channel in ("wecom", "dingtalk", "feishu", "slack"):
        return send_chat(channel, target, secret, payload, key)
    raise DeliveryError(f"unknown channel {channel!r}")
