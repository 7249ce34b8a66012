"""The review pages: the queue per tier, one alert side by side, one-click decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from alerts import review
from alerts.notices.platforms import PLATFORMS
from alerts.views import STATUSES, TIERS, list_alerts
from webapp.accounts.roles import Principal
from webapp.alerts import alert_detail, alert_for, provenance_view
from webapp.web import actor, catalog, principal, render

router = APIRouter(include_in_schema=False)
PAGE = 50


def _back(next_url: str, fallback: str) -> str:
    return next_url if next_url.startswith("/") and not next_url.startswith("//") else fallback


@router.get("/")
def home() -> Response:
    return RedirectResponse("/alerts?tier=alert", status_code=303)


@router.get("/alerts")
def queue(request: Request, who: Annotated[Principal, Depends(principal)],
          tier: str = "alert", status: str = "new", person: str = "", platform: str = "",
          before: int | None = None) -> Response:
    tier = tier if tier in TIERS else "alert"
    rows = list_alerts(catalog(request), client_ids=who.client_ids("read"), tier=tier,
                       status=status if status in STATUSES else None, person=person or None,
                       platform=platform or None, before=before, limit=PAGE,
                       deliveries=False)
    return render(request, "alerts/queue.html", rows=rows, tier=tier, status=status,
                  person=person, platform=platform, statuses=STATUSES,
                  next_before=rows[-1]["number"] if len(rows) == PAGE else None,
                  can_review={cid for cid in who.grants if who.can("review", cid)}
                  if not who.operator else None)


@router.get("/alerts/{alert_id}")
def detail(request: Request, alert_id: str,
           who: Annotated[Principal, Depends(principal)]) -> Response:
    from webapp.evidence.routes import evidence_of
    from webapp.media.routes import crop_summary
    from webapp.takedowns import LABELS, tracker

    cat = catalog(request)
    number, client_id, key = alert_for(cat, who, alert_id)
    alert = alert_detail(cat, number)
    return render(request, "alerts/detail.html", a=alert, crops=crop_summary(cat, number),
                  provenance=provenance_view(alert["provenance"]),
                  evidence=evidence_of(cat, number, key), platforms=PLATFORMS,
                  takedown={**tracker(cat).takedown(number), "labels": LABELS},
                  may_review=who.can("review", client_id))


@router.post("/alerts/{alert_id}/review")
def decide(request: Request, alert_id: str, who: Annotated[Principal, Depends(principal)],
           decision: Annotated[str, Form()], note: Annotated[str, Form()] = "",
           next: Annotated[str, Form()] = "") -> Response:  # noqa: A002
    number, _, key = alert_for(catalog(request), who, alert_id, "review")
    if decision == "allow_list":
        review.allow_uploader(catalog(request), number, actor(who))
    else:
        review.review(catalog(request), number, decision, actor(who), note)
    return RedirectResponse(_back(next, f"/alerts/{key}"), status_code=303)
