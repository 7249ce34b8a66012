"""The outbox: at-least-once delivery of alerts, with leases, backoff, dead letters.

A delivery unit is one outbox row, or for a digest subscription a batch of rows sharing a
``batch_key`` (fixed before the first attempt, so a retry re-sends the same batch under
the same id). The unit is claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite), sent, then marked sent; a process killed after sending and
before marking re-sends after the lease expires, under the same idempotency key, which is
how at-least-once looks to a receiver that de-duplicates on ``X-Likewatch-Alert-Id``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update

from alerts import channels
from alerts.build import alert_payload
from likewatch import settings
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, Delivery, OutboxMessage, Subscription
from likewatch.log import get_logger
from scheduler.db import write_session
from scheduler.queue import backoff_delay

log = get_logger("likewatch.outbox")


@dataclass(frozen=True)
class Unit:
    ids: tuple[int, ...]
    batch_key: str
    attempts: int
    owner: str


def form_digests(cat: Catalog, now: float | None = None) -> int:
    """Group waiting rows of digest subscriptions into batches once their window is due."""
    t = time.time() if now is None else now
    formed = 0
    with write_session(cat) as s:
        subs = s.scalars(select(Subscription).where(Subscription.digest_minutes > 0)).all()
        for sub in subs:
            rows = s.scalars(select(OutboxMessage).where(
                OutboxMessage.subscription_id == sub.id, OutboxMessage.state == "pending",
                OutboxMessage.batch_key == "").order_by(OutboxMessage.id)).all()
            if not rows or rows[0].created_at > t - sub.digest_minutes * 60:
                continue
            ids = ",".join(str(r.id) for r in rows)
            key = "lwd_" + hashlib.sha256(f"{sub.id}:{ids}".encode()).hexdigest()[:32]
            for r in rows:
                r.batch_key = key
            formed += 1
    return formed


def _digest_sub_ids(s: Any) -> list[int]:
    return list(s.scalars(select(Subscription.id).where(Subscription.digest_minutes > 0)))


def claim(cat: Catalog, owner: str, *, lease_seconds: float | None = None,
          now: float | None = None, due_before: float | None = None) -> Unit | None:
    """Lease the next unit due by ``due_before`` (default: now) to ``owner``."""
    lease = float(lease_seconds or settings.get("alert_lease_seconds"))
    t = time.time() if now is None else now
    due = t if due_before is None else min(t, due_before)
    with write_session(cat) as s:
        digest_subs = _digest_sub_ids(s)
        sendable = or_(OutboxMessage.batch_key != "",
                       OutboxMessage.subscription_id.not_in(digest_subs or [-1]))
        pick = (select(OutboxMessage.id)
                .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= due,
                       OutboxMessage.lease_until < t, sendable)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(1).with_for_update(skip_locked=True).scalar_subquery())
        row = s.execute(update(OutboxMessage).where(OutboxMessage.id == pick).values(
            lease_owner=owner, lease_until=t + lease, attempts=OutboxMessage.attempts + 1,
        ).returning(OutboxMessage.id, OutboxMessage.batch_key, OutboxMessage.attempts)
            .execution_options(synchronize_session=False)).first()
        if row is None:
            return None
        if row.attempts > int(settings.get("alert_max_attempts")):
            # Every alerter that took it died before finishing: a dead letter.
            s.execute(update(OutboxMessage).where(or_(
                OutboxMessage.id == row.id,
                and_(OutboxMessage.batch_key == row.batch_key, OutboxMessage.batch_key != ""),
            )).values(state="dead", last_error="lease expired on every attempt")
                .execution_options(synchronize_session=False))
            return None
        ids: tuple[int, ...] = (row.id,)
        if row.batch_key:
            s.execute(update(OutboxMessage).where(
                OutboxMessage.batch_key == row.batch_key, OutboxMessage.state == "pending",
            ).values(lease_owner=owner, lease_until=t + lease, attempts=row.attempts)
                .execution_options(synchronize_session=False))
            ids = tuple(s.scalars(select(OutboxMessage.id).where(
                OutboxMessage.batch_key == row.batch_key, OutboxMessage.lease_owner == owner,
                OutboxMessage.state == "pending").order_by(OutboxMessage.id)))
        return Unit(ids, row.batch_key, row.attempts, owner)


def _build(cat: Catalog, unit: Unit) -> tuple[Subscription, dict[str, Any], str]:
    with cat.session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(unit.ids))).all()
        sub = s.get(Subscription, rows[0].subscription_id)
        assert sub is not None
        payloads = []
        for r in sorted(rows, key=lambda r: r.id):
            alert = s.get(Alert, r.alert_id)
            assert alert is not None
            payloads.append(alert_payload(s, alert))
        s.expunge(sub)
    if unit.batch_key:
        return sub, {"id": unit.batch_key, "type": "likewatch.digest",
                     "alerts": payloads}, unit.batch_key
    return sub, payloads[0], payloads[0]["id"]


def _finish(cat: Catalog, unit: Unit, ok: bool, status: str, error: str, ms: float,
            permanent: bool = False) -> str:
    fenced = and_(OutboxMessage.id.in_(unit.ids), OutboxMessage.lease_owner == unit.owner,
                  OutboxMessage.state == "pending")
    values: dict[str, Any] = {"lease_owner": "", "lease_until": 0.0}
    if ok:
        state = "sent"
        values.update(state="sent", sent_at=time.time(), last_error="")
    elif permanent or unit.attempts >= int(settings.get("alert_max_attempts")):
        state = "dead"  # a permanent failure (refused target) is not retried
        values.update(state="dead", last_error=error[:2000])
    else:
        state = "retry"
        delay = backoff_delay(unit.attempts, float(settings.get("alert_retry_base")),
                              float(settings.get("alert_retry_max")))
        values.update(next_attempt_at=time.time() + delay, last_error=error[:2000])
    with write_session(cat) as s:
        res = s.execute(update(OutboxMessage).where(fenced).values(**values)
                        .execution_options(synchronize_session=False))
        if not getattr(res, "rowcount", 0):
            return "lost-lease"
        for oid in unit.ids:
            s.add(Delivery(outbox_id=oid, attempt=unit.attempts, ok=ok, status=status,
                           error=error[:2000], duration_ms=ms))
    return state


def deliver_unit(cat: Catalog, unit: Unit) -> str:
    """Send one claimed unit and record the outcome; returns sent | retry | dead."""
    sub, payload, key = _build(cat, unit)
    started = time.monotonic()
    try:
        status = channels.send(sub.channel, sub.target, sub.secret, payload, key)
        ok, error, permanent = True, "", False
    except channels.DeliveryError as exc:
        permanent = exc.permanent
        ok, status, error = False, "refused" if permanent else "failed", str(exc)
    ms = (time.monotonic() - started) * 1000
    state = _finish(cat, unit, ok, status, error, ms, permanent)
    log.info("alert delivery", key=key, channel=sub.channel, attempt=unit.attempts,
             outcome=state, error=error or None)
    return state


def deliver_due(cat: Catalog, owner: str, *, limit: int = 100,
                lease_seconds: float | None = None) -> dict[str, int]:
    """The alerter's tick: form due digests, then deliver up to ``limit`` units."""
    form_digests(cat)
    out: dict[str, int] = {}
    # Only what was due when the tick began: a unit that fails now waits for its backoff
    # instead of being retried within the same tick.
    tick_start = time.time()
    for _ in range(limit):
        unit = claim(cat, owner, lease_seconds=lease_seconds, due_before=tick_start)
        if unit is None:
            break
        state = deliver_unit(cat, unit)
        out[state] = out.get(state, 0) + 1
    return out
