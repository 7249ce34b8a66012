"""From matches to alerts: one alert per (person, content item), and its outbox rows.

Only alert-tier matches (``MatchRow.tier == "alert"``, ``matchers/tiers.py``) become
alerts; review-tier ones stay recorded in the catalog for a person's decision.

:func:`sync_alerts` reads MatchRow rows past a cursor (and, as a safety net, any match whose
(person, candidate) has no alert yet, which covers rows committed out of id order on
PostgreSQL), creates or updates the alert, and in the same transaction adds one outbox row
per subscription that covers the person. Running it twice changes nothing: it is the
idempotent hand-off from the matcher role to the alerter role. An update that raises the
alert's severity ("escalated") sends it again to subscriptions that already had it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, OutboxMessage, Subscription
from likewatch.catalog.models import Candidate, MatchRow, Person
from likewatch.log import get_logger
from likewatch.official import is_official_upload
from likewatch.work import cursor
from likewatch.work.clock import SYSTEM, Clock, as_datetime
from likewatch.work.db import write_session

log = get_logger("likewatch.alerts")

CURSOR = "alerts.matches"


def alert_key(client: str, person_key: str, platform: str, item_id: str) -> str:
    """The alert's idempotency key: stable for (client, person, content item) forever."""
    digest = hashlib.sha256(f"{client}\x1f{person_key}\x1f{platform}\x1f{item_id}".encode())
    return "lw_" + digest.hexdigest()[:32]


def severity(signals: list[dict[str, Any]]) -> str:
    """high: very close (<= half the threshold) or confirmed by two signal types;
    medium: within 80% of the threshold; low: a match near the threshold."""
    if not signals:
        return "low"
    ratio = min(float(m["distance"]) / float(m["threshold"]) if float(m["threshold"]) > 0
                else 0.0 for m in signals)
    if ratio <= 0.5 or len({m["signal"] for m in signals}) >= 2:
        return "high"
    return "medium" if ratio <= 0.8 else "low"


def _ratio(m: dict[str, Any]) -> float:
    t = float(m["threshold"])
    return float(m["distance"]) / t if t > 0 else 0.0


def _merge(existing: list[dict[str, Any]], rows: list[MatchRow]) -> list[dict[str, Any]]:
    seen = {(m["signal"], m.get("frame", ""), m.get("reference_id")): m for m in existing}
    for r in rows:
        k = (r.signal, r.frame or "", r.reference_id)
        cur = seen.get(k)
        if cur is None or float(r.distance) < float(cur["distance"]):
            seen[k] = {"signal": r.signal, "frame": r.frame or "", "distance": float(r.distance),
                       "threshold": float(r.threshold), "reference_id": r.reference_id}
    return sorted(seen.values(), key=lambda m: (_ratio(m), m["signal"], m["frame"]))


def _subscriptions_for(s: Session, client_id: int, person_id: int) -> list[Subscription]:
    return list(s.scalars(select(Subscription).where(
        Subscription.client_id == client_id, Subscription.enabled.is_(True),
        or_(Subscription.person_id.is_(None), Subscription.person_id == person_id))))


def _upsert(s: Session, person: Person, cand: Candidate, rows: list[MatchRow], t: float
            ) -> str:
    """Create or update the alert for (person, candidate); ``t`` stamps the alert and its
    outbox rows alike (one clock reading)."""
    alert = s.scalar(select(Alert).where(Alert.person_id == person.id,
                                         Alert.candidate_id == cand.id))
    now = as_datetime(t)
    if alert is None:
        signals = _merge([], rows)
        best = signals[0]
        alert = Alert(
            key=alert_key(person.client.name, person.key, cand.platform, cand.item_id),
            client_id=person.client_id, person_id=person.id, candidate_id=cand.id,
            severity=severity(signals), signal=best["signal"], distance=best["distance"],
            threshold=best["threshold"], frame=best["frame"], reference_id=best["reference_id"],
            signals=signals, status="suppressed" if is_official_upload(
                person.official_accounts, cand.platform, cand.uploader, cand.uploader_id)
            else "new",
            created_at=now, updated_at=now)
        s.add(alert)
        s.flush()
        if alert.status == "suppressed":
            return "suppressed"
        for sub in _subscriptions_for(s, person.client_id, person.id):
            s.add(OutboxMessage(alert_id=alert.id, subscription_id=sub.id, created_at=t,
                                next_attempt_at=t))
        return "created"
    signals = _merge(list(alert.signals or []), rows)
    if signals == list(alert.signals or []):
        return "unchanged"
    best = signals[0]
    before = alert.severity
    alert.signals = signals
    alert.severity = severity(signals)
    alert.signal, alert.distance, alert.threshold = best["signal"], best["distance"], best["threshold"]
    alert.frame, alert.reference_id = best["frame"], best["reference_id"]
    alert.updated_at = now
    if alert.status != "suppressed" and _RANK[alert.severity] > _RANK[before]:
        _resend(s, alert.id, t)
        return "escalated"
    return "updated"


_RANK = {"low": 0, "medium": 1, "high": 2}


def _resend(s: Session, alert_id: int, t: float) -> None:
    """An alert whose severity rose is sent again to every subscription that already had
    it, under the same id (receivers keep the copy with the latest ``updated_at``). Rows
    still pending send the new state anyway; dead letters stay dead. Smaller changes (one
    more frame, a closer distance at the same severity) are kept for ``likewatch alerts``
    and the next delivery, not pushed."""
    for row in s.scalars(select(OutboxMessage).where(OutboxMessage.alert_id == alert_id,
                                                      OutboxMessage.state == "sent")):
        row.state, row.attempts, row.batch_key, row.last_error = "pending", 0, "", ""
        row.next_attempt_at, row.lease_owner, row.lease_until = t, "", 0.0


def sync_alerts(cat: Catalog, *, batch: int = 2000, clock: Clock = SYSTEM) -> dict[str, int]:
    """Turn new MatchRow rows into alerts and outbox rows. Idempotent; returns counts."""
    counts: dict[str, int] = defaultdict(int)
    while True:
        with write_session(cat) as s:
            mark = cursor.at(s, CURSOR)
            no_alert = ~exists().where(and_(Alert.person_id == MatchRow.person_id,
                                            Alert.candidate_id == MatchRow.candidate_id))
            rows = list(s.scalars(select(MatchRow).where(
                MatchRow.tier == "alert",
                or_(MatchRow.id > mark.value, no_alert)).order_by(MatchRow.id).limit(batch)))
            if not rows:
                return dict(counts)
            groups: dict[tuple[int, int], list[MatchRow]] = defaultdict(list)
            for r in rows:
                groups[(r.person_id, r.candidate_id)].append(r)
            for (person_id, cand_id), grp in groups.items():
                person = s.get(Person, person_id)
                cand = s.get(Candidate, cand_id)
                if person is None or cand is None:
                    continue
                counts[_upsert(s, person, cand, grp, clock.now())] += 1
            mark.value = max(mark.value, max(r.id for r in rows))
        if len(rows) < batch:
            return dict(counts)
