"""Alerts on the desk: the queue per tier, one alert with the reference beside the match,
and the decisions (``api.py`` for JSON, ``pages.py`` for the browser)."""

from __future__ import annotations

from typing import Any

from alerts.refs import find_alert
from alerts.views import alert_row, alert_tiers
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
                           "threshold": float(m.get("threshold", 0.0))}
                          for m in (alert.signals or [])]
        row["decisions"] = decisions(s, alert.id)
        return row
