"""Read-only views of alerts, for `likewatch alerts`, the API and the review pages.

An alert is shown under its key (``"id": "lw_…"``, what every command accepts) with its
number beside it. ``client_ids`` restricts a view to some clients (the webapp passes the
clients a user may see; None means every client, as for the local operator's CLI).
Each alert carries the ``provenance`` of its candidate's media
(``likewatch.catalog.provenance.provenance_summary``: the GB 45438 AI label, its producer,
C2PA, the platform's AI flag), or None when they were not read yet.

Tiers: a match row is alert tier (pushed) or review tier (held for a person's decision);
an alert is alert tier when any of its match rows is. Match rows without a ``tier``
attribute (catalogs from before tiers) count as alert tier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, Delivery, OutboxMessage, Subscription
from likewatch.catalog.models import Candidate, Client, MatchRow, Person
from likewatch.catalog.provenance import provenance_summary
from likewatch.work.clock import as_datetime
from matchers.name_signal import NAME_SIGNAL

TIERS = ("alert", "review")
STATUSES = ("new", "confirmed", "dismissed", "suppressed")


def _ts(value: float | None) -> str | None:
    """A work-layer clock reading (outbox times) as ISO 8601 UTC."""
    if value is None:
        return None
    return as_datetime(value).isoformat().replace("+00:00", "Z")


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def alert_tiers(s: Session, alerts: Iterable[Alert]) -> dict[int, str]:
    """Each alert's tier (see the module docstring)."""
    alerts = list(alerts)
    # MERGE NOTE: the matching-tiers change adds MatchRow.tier ("alert" | "review"); until
    # it lands every match row is alert tier. With it, this reads the column.
    tier_col = getattr(MatchRow, "tier", None)
    if tier_col is None or not alerts:
        return {a.id: "alert" for a in alerts}
    pairs = {(a.person_id, a.candidate_id): a.id for a in alerts}
    found: dict[int, set[str]] = {}
    for person_id, cand_id, tier in s.execute(
            select(MatchRow.person_id, MatchRow.candidate_id, tier_col)
            .where(MatchRow.candidate_id.in_({c for _, c in pairs}))):
        aid = pairs.get((person_id, cand_id))
        if aid is not None:
            found.setdefault(aid, set()).add(tier or "alert")
    return {a.id: "alert" if "alert" in found.get(a.id, {"alert"}) else "review"
            for a in alerts}


def _deliveries(s: Session, alert_id: int) -> list[dict[str, Any]]:
    out = []
    for ob in s.scalars(select(OutboxMessage).where(OutboxMessage.alert_id == alert_id)
                        .order_by(OutboxMessage.id)):
        sub = s.get(Subscription, ob.subscription_id)
        last = s.scalar(select(Delivery).where(Delivery.outbox_id == ob.id)
                        .order_by(Delivery.id.desc()).limit(1))
        out.append({
            "subscription": ob.subscription_id,
            "channel": sub.channel if sub else None,
            "target": sub.target if sub else None,
            "state": ob.state, "attempts": ob.attempts,
            "next_attempt_at": _ts(ob.next_attempt_at) if ob.state == "pending" else None,
            "sent_at": _ts(ob.sent_at), "last_error": ob.last_error or None,
            "last_status": last.status if last else None,
            "batch": ob.batch_key or None,
        })
    return out


def alert_row(s: Session, a: Alert, tier: str, *, deliveries: bool = True) -> dict[str, Any]:
    """One alert as the CLI, the API and the pages show it."""
    person = s.get(Person, a.person_id)
    cand = s.get(Candidate, a.candidate_id)
    client = s.get(Client, a.client_id)
    row: dict[str, Any] = {
        "id": a.key, "number": a.id, "client": client.name if client else None,
        "client_id": a.client_id,
        "person": person.key if person else None,
        "person_name": person.display_name if person else None,
        "tier": tier, "status": a.status, "severity": a.severity,
        "platform": cand.platform if cand else None,
        "item_id": cand.item_id if cand else None,
        "url": cand.url if cand else None,
        "title": cand.title if cand else None,
        "uploader": cand.uploader if cand else None,
        "uploader_id": cand.uploader_id if cand else None,
        "signal": a.signal, "distance": round(a.distance, 4), "threshold": a.threshold,
        "frame": a.frame, "signals": len(a.signals or []),
        "reference_id": a.reference_id,
        # The person's name in the item's text, if it was found there (matchers/names.py):
        # {"kind": exact|alias|variant|pinyin|homophone|near_homophone, "field", "text", "name"}
        "name_match": next((dict(m["details"]) for m in a.signals or []
                            if m.get("signal") == NAME_SIGNAL and m.get("details")), None),
        # The taken-down item this one copies (matchers/reuploads.py): notice_no, platform,
        # removed_at, alert_id, item_id, url; None if it is no re-upload.
        "reupload_of": _reupload(s, a),
        "created_at": _iso(a.created_at), "updated_at": _iso(a.updated_at),
        # What the matched media say about their origin (AI labels, C2PA, the platform's
        # flag); None until the matcher has read them.
        "provenance": provenance_summary(s, a.candidate_id),
    }
    if deliveries:
        row["deliveries"] = _deliveries(s, a.id)
    return row


def list_alerts(cat: Catalog, *, client: str | None = None, state: str | None = None,
                limit: int = 200, client_ids: Collection[int] | None = None,
                tier: str | None = None, status: str | None = None,
                person: str | None = None, platform: str | None = None,
                before: int | None = None, deliveries: bool = True) -> list[dict[str, Any]]:
    """Alerts, newest first, filtered; each with its deliveries (state, attempts, error).

    ``state``: only alerts with a delivery in that state; ``before``: alerts numbered
    below it (the next page after the last one shown).
    """
    out: list[dict[str, Any]] = []
    with cat.session() as s:
        q = select(Alert).order_by(Alert.id.desc())
        if client:
            q = q.join(Client, Client.id == Alert.client_id).where(Client.name == client)
        if client_ids is not None:
            q = q.where(Alert.client_id.in_(list(client_ids)))
        if status:
            q = q.where(Alert.status == status)
        if person:
            q = q.join(Person, Person.id == Alert.person_id).where(Person.key == person)
        if platform:
            q = q.join(Candidate, Candidate.id == Alert.candidate_id).where(
                Candidate.platform == platform)
        if before is not None:
            q = q.where(Alert.id < before)
        # Tiers and delivery states are filtered here, so read in pages until enough.
        offset, page = 0, max(limit, 50)
        while len(out) < limit:
            batch = list(s.scalars(q.offset(offset).limit(page)))
            if not batch:
                break
            offset += len(batch)
            tiers = alert_tiers(s, batch)
            for a in batch:
                if tier and tiers[a.id] != tier:
                    continue
                row = alert_row(s, a, tiers[a.id], deliveries=deliveries or bool(state))
                if state and not any(d["state"] == state for d in row["deliveries"]):
                    continue
                out.append(row)
                if len(out) >= limit:
                    break
    return out


def _reupload(s: Session, a: Alert) -> dict[str, Any] | None:
    from alerts.payload import reupload_of

    found = reupload_of(s, a)
    return found.model_dump(mode="json") if found is not None else None


def reuploads_of(s: Session, alert: Alert) -> list[dict[str, Any]]:
    """The re-uploads found after ``alert``'s item was taken down (alerts whose
    ``reupload_of`` is one of its notices; the same client's only), oldest first: each
    ``{"alert_id", "item_id", "platform", "url", "notice_no", "created_at"}``."""
    from likewatch.catalog.notices import Notice

    notices = {n.id: n.notice_no for n in s.scalars(
        select(Notice).where(Notice.alert_id == alert.id))}
    if not notices:
        return []
    return [{"alert_id": copy.key, "item_id": cand.item_id, "platform": cand.platform,
             "url": cand.url, "notice_no": notices.get(copy.reupload_of or 0, ""),
             "created_at": _iso(copy.created_at)}
            for copy, cand in s.execute(
                select(Alert, Candidate).join(Candidate, Candidate.id == Alert.candidate_id)
                .where(Alert.reupload_of.in_(list(notices)),
                       Alert.client_id == alert.client_id)
                .order_by(Alert.id))]


def format_alert_line(a: dict[str, Any]) -> str:
    states = ",".join(f"{d['channel']}:{d['state']}({d['attempts']})"
                      + (f" [{d['last_error'][:160]}]" if d["state"] == "dead" and d["last_error"]
                         else "")
                      for d in a["deliveries"])
    name = a.get("name_match")
    named = f"name {name['kind']} {name['text']!r} in {name['field']} " if name else ""
    if a.get("reupload_of"):
        named += f"re-upload of {a['reupload_of']['alert_id']} (notice {a['reupload_of']['notice_no']}) "
    return (f"{a['id']} [{a['severity']}] {a['status']} {a['person_name']} on {a['platform']} "
            f"{a['url']} {a['signal']}={a['distance']} (<= {a['threshold']}) {named}"
            f"deliveries: {states or 'none'}")
