"""Read-only views of alerts and their deliveries, for `likewatch alerts` and the webapp."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, Delivery, OutboxMessage, Subscription
from likewatch.catalog.models import Candidate, Client, Person


def _ts(value: float | None) -> str | None:
    if value is None:
        return None
    return dt.datetime.fromtimestamp(value, dt.UTC).isoformat().replace("+00:00", "Z")


def list_alerts(cat: Catalog, *, client: str | None = None, state: str | None = None,
                limit: int = 200) -> list[dict[str, Any]]:
    """Alerts, newest first, each with its deliveries (state, attempts, last error)."""
    out = []
    with cat.session() as s:
        q = select(Alert).order_by(Alert.id.desc()).limit(limit)
        if client:
            q = q.join(Client, Client.id == Alert.client_id).where(Client.name == client)
        for a in s.scalars(q):
            person = s.get(Person, a.person_id)
            cand = s.get(Candidate, a.candidate_id)
            deliveries = []
            for ob in s.scalars(select(OutboxMessage).where(OutboxMessage.alert_id == a.id)
                                .order_by(OutboxMessage.id)):
                sub = s.get(Subscription, ob.subscription_id)
                last = s.scalar(select(Delivery).where(Delivery.outbox_id == ob.id)
                                .order_by(Delivery.id.desc()).limit(1))
                deliveries.append({
                    "subscription": ob.subscription_id,
                    "channel": sub.channel if sub else None,
                    "target": sub.target if sub else None,
                    "state": ob.state, "attempts": ob.attempts,
                    "next_attempt_at": _ts(ob.next_attempt_at) if ob.state == "pending" else None,
                    "sent_at": _ts(ob.sent_at), "last_error": ob.last_error or None,
                    "last_status": last.status if last else None,
                    "batch": ob.batch_key or None,
                })
            if state and not any(d["state"] == state for d in deliveries):
                continue
            out.append({
                "id": a.key, "severity": a.severity, "status": a.status,
                "person": person.key if person else None,
                "person_name": person.display_name if person else None,
                "platform": cand.platform if cand else None,
                "url": cand.url if cand else None,
                "uploader": cand.uploader if cand else None,
                "signal": a.signal, "distance": round(a.distance, 4), "threshold": a.threshold,
                "frame": a.frame, "signals": len(a.signals or []),
                "created_at": a.created_at.isoformat().replace("+00:00", "Z"),
                "deliveries": deliveries,
            })
    return out


def format_alert_line(a: dict[str, Any]) -> str:
    states = ",".join(f"{d['channel']}:{d['state']}({d['attempts']})"
                      + (f" [{d['last_error'][:160]}]" if d["state"] == "dead" and d["last_error"]
                         else "")
                      for d in a["deliveries"])
    return (f"{a['id']} [{a['severity']}] {a['person_name']} on {a['platform']} {a['url']} "
            f"{a['signal']}={a['distance']} (<= {a['threshold']}) "
            f"deliveries: {states or 'none'}")
