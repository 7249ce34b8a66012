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

import datetime as dt
import hashlib
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, OutboxMessage, Subscription
from likewatch.catalog.models import Candidate, Client, MatchRow, Person, Reference
from likewatch.catalog.queue import SchedulerCursor
from likewatch.log import get_logger
from scheduler.db import write_session

log = get_logger("likewatch.alerts")

CURSOR = "alerts.matches"
WHOLE_IMAGE_SIGNALS = frozenset({"pdq", "phash"})


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


def _is_official(person: Person, cand: Candidate) -> bool:
    for acc in person.official_accounts or []:
        if acc.get("platform") in ("", None, cand.platform) and acc.get("uploader") in (
                cand.uploader_id, cand.uploader):
            return True
    return False


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


def _upsert(s: Session, person: Person, cand: Candidate, rows: list[MatchRow]) -> str:
    alert = s.scalar(select(Alert).where(Alert.person_id == person.id,
                                         Alert.candidate_id == cand.id))
    now = dt.datetime.now(dt.UTC)
    if alert is None:
        signals = _merge([], rows)
        best = signals[0]
        alert = Alert(
            key=alert_key(person.client.name, person.key, cand.platform, cand.item_id),
            client_id=person.client_id, person_id=person.id, candidate_id=cand.id,
            severity=severity(signals), signal=best["signal"], distance=best["distance"],
            threshold=best["threshold"], frame=best["frame"], reference_id=best["reference_id"],
            signals=signals, status="suppressed" if _is_official(person, cand) else "new",
            created_at=now, updated_at=now)
        s.add(alert)
        s.flush()
        if alert.status == "suppressed":
            return "suppressed"
        for sub in _subscriptions_for(s, person.client_id, person.id):
            s.add(OutboxMessage(alert_id=alert.id, subscription_id=sub.id))
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
        _resend(s, alert.id)
        return "escalated"
    return "updated"


_RANK = {"low": 0, "medium": 1, "high": 2}


def _resend(s: Session, alert_id: int) -> None:
    """An alert whose severity rose is sent again to every subscription that already had
    it, under the same id (receivers keep the copy with the latest ``updated_at``). Rows
    still pending send the new state anyway; dead letters stay dead. Smaller changes (one
    more frame, a closer distance at the same severity) are kept for ``likewatch alerts``
    and the next delivery, not pushed."""
    for row in s.scalars(select(OutboxMessage).where(OutboxMessage.alert_id == alert_id,
                                                      OutboxMessage.state == "sent")):
        row.state, row.attempts, row.batch_key, row.last_error = "pending", 0, "", ""
        row.next_attempt_at, row.lease_owner, row.lease_until = time.time(), "", 0.0


def sync_alerts(cat: Catalog, *, batch: int = 2000) -> dict[str, int]:
    """Turn new MatchRow rows into alerts and outbox rows. Idempotent; returns counts."""
    counts: dict[str, int] = defaultdict(int)
    while True:
        with write_session(cat) as s:
            cursor = SchedulerCursor.at(s, CURSOR)
            no_alert = ~exists().where(and_(Alert.person_id == MatchRow.person_id,
                                            Alert.candidate_id == MatchRow.candidate_id))
            rows = list(s.scalars(select(MatchRow).where(
                MatchRow.tier == "alert",
                or_(MatchRow.id > cursor.value, no_alert)).order_by(MatchRow.id).limit(batch)))
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
                counts[_upsert(s, person, cand, grp)] += 1
            cursor.value = max(cursor.value, max(r.id for r in rows))
        if len(rows) < batch:
            return dict(counts)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def alert_payload(s: Session, alert: Alert) -> dict[str, Any]:
    """What a channel says about an alert: who, where, when, how close, which images.

    Never carries embeddings or reference photo bytes: images are named by sha256 (and the
    platform URL for the candidate's thumbnail).
    """
    person = s.get(Person, alert.person_id)
    cand = s.get(Candidate, alert.candidate_id)
    client = s.get(Client, alert.client_id)
    ref = s.get(Reference, alert.reference_id) if alert.reference_id else None
    assert person is not None and cand is not None and client is not None
    return {
        "id": alert.key,
        "type": "likewatch.alert",
        "severity": alert.severity,
        "status": alert.status,
        "client": client.name,
        "person": {"id": person.key, "name": person.display_name or person.key},
        "where": {
            "platform": cand.platform, "item_id": cand.item_id, "url": cand.url,
            "title": cand.title, "uploader": cand.uploader, "uploader_id": cand.uploader_id,
        },
        "published_at": _iso(cand.published_at),
        "found_at": _iso(cand.found_at),
        "alerted_at": _iso(alert.created_at),
        "updated_at": _iso(alert.updated_at),
        "match": {"signal": alert.signal, "distance": round(alert.distance, 4),
                  "threshold": alert.threshold, "frame": alert.frame},
        "signals": alert.signals,
        "candidate_image": {
            "sha256": cand.thumbnail_sha256, "url": cand.thumbnail_url,
            "video_sha256": cand.video_sha256, "frame": alert.frame,
        },
        "reference": {"id": ref.id if ref else None, "sha256": ref.sha256 if ref else None},
    }
