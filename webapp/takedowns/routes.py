"""Takedown tracking: the steps of one alert's takedown, and success rates per platform.

The takedown is the alert's complaint notice (webapp/takedowns/__init__.py): what these
routes record, ``likewatch outcome`` shows and ``likewatch report`` counts.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from alerts.notices.outcomes import OutcomeError
from likewatch.catalog.notices import NOTICE_STATES
from matchers.index.base import BadQuery
from webapp.accounts.roles import Principal
from webapp.alerts import alert_for
from webapp.takedowns import LABELS, tracker
from webapp.web import actor, catalog, principal, render

router = APIRouter(tags=["takedowns"])


class Step(BaseModel):
    state: str
    by: str
    note: str
    link: str
    at: str


class TakedownOut(BaseModel):
    alert: str
    notice: str | None  # the notice number `likewatch outcome` and `likewatch notices` show
    state: str | None
    next: list[str]  # the states it may move to now
    history: list[Step]


class StepIn(BaseModel):
    state: str = Field(json_schema_extra={"enum": list(NOTICE_STATES)})
    note: str = ""
    link: str = ""  # e.g. the alert key of a re-upload, or the platform's case URL


class PlatformStats(BaseModel):
    platform: str
    takedowns: int
    filed: int
    drafted: int
    pending: int  # filed, no answer yet
    removed: int
    rejected: int
    counter_notice: int
    restored: int
    success_rate: float | None  # of the answered ones, the share taken down at least once
    median_hours_to_removal: float | None


class StatsOut(BaseModel):
    platforms: list[PlatformStats]


def _out(request: Request, number: int, key: str) -> TakedownOut:
    t = tracker(catalog(request)).takedown(number)
    return TakedownOut(alert=key, notice=t["notice"], state=t["state"], next=t["next"],
                       history=[Step(**h) for h in t["history"]])


@router.get("/api/alerts/{alert_id}/takedown", response_model=TakedownOut)
def get_takedown(request: Request, alert_id: str,
                 who: Annotated[Principal, Depends(principal)]) -> TakedownOut:
    """The alert's takedown: its state, the states it may move to, every step."""
    number, _, key = alert_for(catalog(request), who, alert_id)
    return _out(request, number, key)


def _advance(request: Request, who: Principal, alert_id: str, step: StepIn) -> TakedownOut:
    number, _, key = alert_for(catalog(request), who, alert_id, "review")
    link = step.link.strip()
    if link and not link.startswith(("http://", "https://")):
        # A re-upload named by its alert: it must be one this user may see.
        _, _, link = alert_for(catalog(request), who, link)
    try:
        tracker(catalog(request)).advance(number, step.state, actor(who), step.note, link)
    except OutcomeError as exc:
        raise BadQuery(str(exc)) from None
    return _out(request, number, key)


@router.post("/api/alerts/{alert_id}/takedown", response_model=TakedownOut)
def post_takedown(request: Request, alert_id: str, body: StepIn,
                  who: Annotated[Principal, Depends(principal)]) -> TakedownOut:
    """Record the next step of the alert's takedown (filed, removed, rejected, ...)."""
    return _advance(request, who, alert_id, body)


@router.post("/alerts/{alert_id}/takedown", include_in_schema=False)
def form_takedown(request: Request, alert_id: str,
                  who: Annotated[Principal, Depends(principal)],
                  state: Annotated[str, Form()], note: Annotated[str, Form()] = "",
                  link: Annotated[str, Form()] = "") -> Response:
    out = _advance(request, who, alert_id, StepIn(state=state, note=note, link=link))
    return RedirectResponse(f"/alerts/{out.alert}#takedown", status_code=303)


@router.get("/api/takedowns/stats", response_model=StatsOut)
def get_stats(request: Request, who: Annotated[Principal, Depends(principal)]) -> StatsOut:
    """Takedowns of your clients per platform, with the success rate (removed / settled)."""
    rows = tracker(catalog(request)).stats(who.client_ids("read"))
    return StatsOut(platforms=[PlatformStats(**r) for r in rows])


@router.get("/takedowns", include_in_schema=False)
def stats_page(request: Request, who: Annotated[Principal, Depends(principal)]) -> Response:
    rows = tracker(catalog(request)).stats(who.client_ids("read"))
    return render(request, "alerts/takedowns.html", rows=rows, labels=LABELS)
