"""Alerts on the desk: the queue per tier, one alert with the reference beside the match,
and the decisions (``api.py`` for JSON, ``pages.py`` for the browser)."""

from __future__ import annotations

from typing import Any

from alerts.refs import find_alert
from alerts.views import alert_row, alert_tiers, reuploads_of
from likewatch.catalog import Catalog
from webapp.accounts.roles import NotFound, Principal


def alert_for(cat: Catalog, who: Principal, ref: str, perm: str = "read"
              ) -> tuple[int, int, str]:
    """(number, client id, key) of alert ``ref`` if ``who`` may ``perm`` it; another
    client's alert is NotFound, a role too low Forbidden."""
    with cat.session() as s:
        alert = find_alert(s, ref)
        if alert is None:
            raise NotFound(f"no alert {ref!r}")
        who.require(perm, alert.client_id)
        return alert.id, alert.client_id, alert.key


def alert_detail(cat: Catalog, number: int) -> dict[str, Any]:
    """An alert's row with its matches and decisions (for the API and the detail page)."""
    from alerts.review import decisions
    from likewatch.catalog.alerts import Alert

    with cat.session() as s:
        alert = s.get(Alert, number)
        if alert is None:
            raise NotFound(f"no alert {number}")
        row = alert_row(s, alert, alert_tiers(s, [alert])[alert.id], deliveries=False)
        row["matches"] = [{"signal": m.get("signal", ""), "frame": m.get("frame", ""),
                           "distance": round(float(m.get("distance", 0.0)), 4),
                           "threshold": float(m.get("threshold", 0.0)),
                           "tier": m.get("tier", "alert"), "details": m.get("details")}
                          for m in (alert.signals or [])]
        row["decisions"] = decisions(s, alert.id)
        row["reuploads"] = reuploads_of(s, alert)
        return row


def provenance_view(prov: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the alert page says about the media's origin, from the alert's ``provenance``
    (the meaning of a label and of a platform flag as the notices read them)."""
    from alerts.notices.ai import LABEL_MEANING, platform_says_ai

    if prov is None:
        return None
    c2pa = prov.get("c2pa") or {}
    label = prov.get("ai_label")
    flag = prov.get("platform_flag")
    return {"ai_label": label,
            "meaning": LABEL_MEANING[label][1] if label in LABEL_MEANING else None,
            "producer": prov.get("producer"), "propagator": prov.get("propagator"),
            "c2pa": bool(c2pa), "c2pa_signer": c2pa.get("signer") or None,
            "c2pa_ai": bool(c2pa.get("ai_generated")),
            "c2pa_state": c2pa.get("validation_state") or None,
            "platform_flag": None if flag is None else str(flag),
            "platform_says_ai": platform_says_ai(flag), "checked_at": prov.get("checked_at")}
