"""The outbox: at-least-once delivery of alerts, with leases, backoff, dead letters.

A delivery unit is one outbox row, or for a digest subscription a batch of rows sharing a
``batch_key`` (fixed before the first attempt, so a retry re-sends the same batch under
the same id). ``alert_outbox`` is a lease table of the work layer
(:mod:`likewatch.work.lease`: claims with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and
``BEGIN IMMEDIATE`` on SQLite, fencing, backoff, dead letters); a digest's rows are leased
together. A unit is claimed, sent, then marked sent; a process killed after sending and
before marking re-sends after the lease expires, under the same idempotency key, which is
how at-least-once looks to a receiver that de-duplicates on ``X-Likewatch-Alert-Id``. Only
the current lease holder can finish a unit: a sender whose lease expired records nothing.

Rows keep their released vocabulary: ``pending`` (waiting, or held under a lease: then
``lease_until`` is in the future), ``sent``, ``dead``. Times are the work layer's clock
(float seconds).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from alerts import channels
from alerts.payload import alert_payload, digest_payload
from likewatch import metrics, settings
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, Delivery, OutboxMessage, Subscription
from likewatch.log import get_logger
from likewatch.work import lease as leases
from likewatch.work.clock import SYSTEM, Clock
from likewatch.work.db import write_session

log = get_logger("likewatch.outbox")

OUTBOX = leases.LeaseTable(OutboxMessage, waiting="pending", held="pending",
                           due="next_attempt_at", group_column="batch_key")


@dataclass(frozen=True)
class Unit:
    ids: tuple[int, ...]
    batch_key: str
    attempts: int
    owner: str
    lease: leases.Lease


def form_digests(cat: Catalog, *, clock: Clock = SYSTEM) -> int:
    """Group waiting rows of digest subscriptions into batches once their window is due."""
    t = clock.now()
    formed = 0
    with write_session(cat) as s:
        subs = s.scalars(select(Subscription).where(Subscription.digest_minutes > 0)).all()
        for sub in subs:
            # Locked: an alerter process forming the same digest at once waits, then finds
            # these rows batched (PostgreSQL re-checks the condition on locked rows).
            rows = s.scalars(select(OutboxMessage).where(
                OutboxMessage.subscription_id == sub.id, OutboxMessage.state == "pending",
                OutboxMessage.batch_key == "").order_by(OutboxMessage.id)
                .with_for_update()).all()
            if not rows or rows[0].created_at > t - sub.digest_minutes * 60:
                continue
            ids = ",".join(str(r.id) for r in rows)
            key = "lwd_" + hashlib.sha256(f"{sub.id}:{ids}".encode()).hexdigest()[:32]
            for r in rows:
                r.batch_key = key
            formed += 1
    return formed


def claim(cat: Catalog, owner: str, *, lease_seconds: float | None = None,
          due_before: float | None = None, clock: Clock = SYSTEM) -> Unit | None:
    """Lease the next unit due by ``due_before`` (default: now) to ``owner``.

    A row of a digest subscription waits until :func:`form_digests` put it in a batch."""
    with cat.session() as s:
        digest_subs = list(s.scalars(select(Subscription.id)
                                     .where(Subscription.digest_minutes > 0)))
    sendable = or_(OutboxMessage.batch_key != "",
                   OutboxMessage.subscription_id.not_in(digest_subs or [-1]))
    lease = leases.claim(cat, OUTBOX, owner,
                         lease_seconds=float(lease_seconds or settings.get("alert_lease_seconds")),
                         max_attempts=int(settings.get("alert_max_attempts")),
                         where=[sendable], due_before=due_before, clock=clock)
    if lease is None:
        return None
    return Unit(lease.ids, lease.group, lease.token, owner, lease)


def _build(cat: Catalog, unit: Unit) -> tuple[Subscription, channels.Payload, str]:
    """The subscription, the payload (an alert, or a digest of alerts) and its id."""
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
        return sub, digest_payload(unit.batch_key, payloads), unit.batch_key
    return sub, payloads[0], payloads[0].id


def _finish(cat: Catalog, unit: Unit, ok: bool, status: str, error: str, ms: float, *,
            permanent: bool = False, clock: Clock = SYSTEM) -> str:
    """Record a unit's outcome if this sender still holds its lease: sent, retry or dead
    (``lost-lease`` when another sender holds it now); every attempt is logged. A
    ``permanent`` failure (a refused target) is dead at once, not retried."""
    if ok:
        outcome, state = "sent", "sent"
        values: dict[str, Any] = {"sent_at": clock.now(), "last_error": ""}
    else:
        state, values = leases.after_failure(
            OUTBOX, unit.lease, error, max_attempts=int(settings.get("alert_max_attempts")),
            retry_base=float(settings.get("alert_retry_base")),
            retry_max=float(settings.get("alert_retry_max")), retry=not permanent,
            clock=clock)
        outcome = "dead" if state == OUTBOX.dead else "retry"
    with write_session(cat) as s:
        if not leases.settle(s, OUTBOX, unit.lease, state, **values):
            return "lost-lease"
        for oid in unit.ids:
            s.add(Delivery(outbox_id=oid, attempt=unit.attempts, ok=ok, status=status,
                           error=error[:2000], duration_ms=ms, at=clock.now()))
    return outcome


def deliver_unit(cat: Catalog, unit: Unit, *, clock: Clock = SYSTEM) -> str:
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
    state = _finish(cat, unit, ok, status, error, ms, permanent=permanent, clock=clock)
    log.info("alert delivery", key=key, channel=sub.channel, attempt=unit.attempts,
             outcome=state, error=error or None)
    metrics.count_delivery(sub.channel, state, ok, ms / 1000)
    return state


def deliver_due(cat: Catalog, owner: str, *, limit: int = 100,
                lease_seconds: float | None = None, clock: Clock = SYSTEM) -> dict[str, int]:
    """The alerter's tick: form due digests, then deliver up to ``limit`` units."""
    form_digests(cat, clock=clock)
    out: dict[str, int] = {}
    # Only what was due when the tick began: a unit that fails now waits for its backoff
    # instead of being retried within the same tick.
    tick_start = clock.now()
    for _ in range(limit):
        unit = claim(cat, owner, lease_seconds=lease_seconds, due_before=tick_start, clock=clock)
        if unit is None:
            break
        state = deliver_unit(cat, unit, clock=clock)
        out[state] = out.get(state, 0) + 1
    return out
