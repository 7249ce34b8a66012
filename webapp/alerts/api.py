"""``/api/alerts``: the alerts of the caller's clients, one alert, and decisions on it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from alerts import review
from alerts.views import STATUSES, TIERS, list_alerts
from webapp.accounts.roles import Principal
from webapp.alerts import alert_detail, alert_for
from webapp.web import actor, catalog, principal

router = APIRouter(tags=["alerts"])


class ProvenanceOut(BaseModel):
    """What the matched media say about their origin (as `likewatch scan --json`)."""

    ai_label: str | None  # GB 45438 implicit label: "1" generated, "2" possibly, "3" suspected
    producer: str | None  # the label's ContentProducer
    propagator: str | None  # the label's ContentPropagator
    c2pa: dict[str, Any] | None  # signer, claim_generator, ai_generated, validation_state, ...
    platform_flag: Any  # the platform's own AI-content flag, "<key>=<value>"
    label: dict[str, Any] | None  # the implicit label's fields, and where it was found
    checked_at: str


class AlertOut(BaseModel):
    id: str  # the key `likewatch alerts` prints (lw_...); the number works too
    number: int
    client: str | None
    person: str | None
    person_name: str | None
    tier: str
    status: str
    severity: str
    platform: str | None
    item_id: str | None
    url: str | None
    title: str | None
    uploader: str | None
    uploader_id: str | None
    signal: str
    distance: float
    threshold: float
    frame: str
    signals: int
    reference_id: int | None
    created_at: str | None
    updated_at: str | None
    provenance: ProvenanceOut | None  # None until the matcher has read the media
    # The person's name in the item's text: {"kind", "field", "text", "name"} (review tier
    # alone; matchers/name_signal.py), or None.
    name_match: dict[str, Any] | None = None
    # The taken-down item this one copies: {"notice_no", "platform", "removed_at",
    # "alert_id", "item_id", "url"} (matchers/reuploads.py), or None.
    reupload_of: dict[str, Any] | None = None


class AlertList(BaseModel):
    alerts: list[AlertOut]
    next_before: int | None  # pass as ?before= for the next (older) page


class MatchOut(BaseModel):
    signal: str
    frame: str
    distance: float
    threshold: float
    tier: str = "alert"
    details: dict[str, Any] | None = None  # a name's kind and text, a removed item


class DecisionOut(BaseModel):
    decision: str
    by: str
    at: str
    status_before: str
    status_after: str
    note: str


class ReuploadOut(BaseModel):
    alert_id: str
    item_id: str
    platform: str
    url: str
    notice_no: str  # the notice that took the original down
    created_at: str | None


class AlertDetail(AlertOut):
    matches: list[MatchOut]
    decisions: list[DecisionOut]
    # Copies of this item found after its takedown (each a re-upload alert of its own).
    reuploads: list[ReuploadOut] = []


class ReviewIn(BaseModel):
    decision: Literal["confirm", "dismiss", "reopen"]
    note: str = ""


class ReviewOut(BaseModel):
    id: str
    status: str
    settled: list[str]  # other alerts settled with it (allow-listing an uploader)


@router.get("/api/alerts", response_model=AlertList)
def get_alerts(request: Request, who: Annotated[Principal, Depends(principal)],
               tier: Annotated[Literal["alert", "review"] | None, Query()] = None,
               status: Annotated[str | None, Query(description=", ".join(STATUSES))] = None,
               person: str | None = None, platform: str | None = None,
               client: str | None = None, before: int | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> AlertList:
    """Alerts of your clients, newest first, filtered by tier (alert or review), status,
    person key, platform or client name."""
    assert tier is None or tier in TIERS
    rows = list_alerts(catalog(request), client_ids=who.client_ids("read"), tier=tier,
                       status=status, person=person, platform=platform, client=client,
                       before=before, limit=limit, deliveries=False)
    return AlertList(alerts=[AlertOut(**r) for r in rows],
                     next_before=rows[-1]["number"] if len(rows) == limit else None)


@router.get("/api/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(request: Request, alert_id: str,
              who: Annotated[Principal, Depends(principal)]) -> AlertDetail:
    """One alert (by key or number) with every match behind it and its decisions."""
    number, _, _ = alert_for(catalog(request), who, alert_id)
    return AlertDetail(**alert_detail(catalog(request), number))


@router.post("/api/alerts/{alert_id}/review", response_model=ReviewOut)
def review_alert(request: Request, alert_id: str, body: ReviewIn,
                 who: Annotated[Principal, Depends(principal)]) -> ReviewOut:
    """Confirm or dismiss (or reopen) an alert; recorded with who and when."""
    number, _, _ = alert_for(catalog(request), who, alert_id, "review")
    out = review.review(catalog(request), number, body.decision, actor(who), body.note)
    return ReviewOut(id=out.alert, status=out.status, settled=out.settled)


@router.post("/api/alerts/{alert_id}/allow-uploader", response_model=ReviewOut)
def allow_uploader(request: Request, alert_id: str,
                   who: Annotated[Principal, Depends(principal)]) -> ReviewOut:
    """Allow-list the alert's uploader for its person (an official account): this alert
    and the person's other open alerts by that uploader are settled, later uploads never
    alert."""
    number, _, _ = alert_for(catalog(request), who, alert_id, "review")
    out = review.allow_uploader(catalog(request), number, actor(who))
    return ReviewOut(id=out.alert, status=out.status, settled=out.settled)
