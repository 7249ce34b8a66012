"""Complaint notices from the desk: the fields a portrait-rights complaint needs, then the
filled notice as PDF (or text), rendered by ``alerts.notices`` like ``likewatch notice``.

What the form adds to the alert's own notice context: the rights holder's identity as
the complaint should name it, the agent and their power of attorney (an agency acts for
its roster), more infringing URLs, and evidence hashes beside the sealed capture's.
Making a notice starts the alert's takedown track at ``drafted``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from alerts.notices import NoticeError, notice_for_alert, render_pdf, render_text
from alerts.notices.platforms import PLATFORMS
from alerts.notices.render import NoticeContext, NoticeItem
from likewatch.catalog import Catalog
from webapp.accounts.roles import Principal
from webapp.alerts import alert_for
from webapp.takedowns import tracker
from webapp.web import actor, catalog, principal

router = APIRouter(tags=["notices"])


class NoticeIn(BaseModel):
    platform: str | None = Field(None, description="default: the alert's platform")
    lang: Literal["zh", "en"] = "zh"
    format: Literal["pdf", "text"] = "pdf"
    rights_holder: str = Field("", description="the depicted person's legal name / identity")
    agent: str = Field("", description="who files for them (a studio or agency)")
    power_of_attorney: str = Field("", description="the agent's authorisation: reference, date")
    urls: list[str] = Field(default_factory=list, description="more infringing URLs")
    evidence_hashes: list[str] = Field(default_factory=list,
                                       description="more SHA-256 of evidence files")


def build_notice(cat: Catalog, number: int, req: NoticeIn) -> tuple[str, bytes, str]:
    """(file name, bytes, media type) of the notice for alert ``number``."""
    try:
        ctx = notice_for_alert(cat, str(number))
    except NoticeError as exc:
        raise ValueError(str(exc)) from None
    platform = req.platform or (ctx.platform if ctx.platform in PLATFORMS else "generic")
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; one of {', '.join(PLATFORMS)}")
    agent = req.agent.strip() or ctx.agent
    if req.power_of_attorney.strip():
        poa = req.power_of_attorney.strip()
        agent = (f"{agent}（授权委托书：{poa}）" if req.lang == "zh"
                 else f"{agent} (power of attorney: {poa})")
    known = {i.url for i in ctx.items}
    items = ctx.items + [NoticeItem(url=u.strip()) for u in req.urls
                         if u.strip() and u.strip() not in known]
    evidence = ctx.evidence
    extra = [h.strip().lower() for h in req.evidence_hashes if h.strip()]
    if evidence is not None and extra:
        listed = {f.get("sha256") for f in evidence.get("files", [])}
        evidence = {**evidence, "files": [*evidence.get("files", []),
                                          *({"name": "supplied evidence", "sha256": h}
                                            for h in extra if h not in listed)]}
    ctx = NoticeContext(**{**ctx.__dict__, "rights_holder": req.rights_holder.strip()
                           or ctx.rights_holder, "agent": agent, "items": items,
                           "evidence": evidence})
    try:
        text = render_text(ctx, platform, req.lang)
        if req.format == "text":
            return f"notice-{number}-{platform}-{req.lang}.txt", text.encode("utf-8"), \
                "text/plain; charset=utf-8"
        return f"notice-{number}-{platform}-{req.lang}.pdf", render_pdf(text, req.lang), \
            "application/pdf"
    except NoticeError as exc:
        raise ValueError(str(exc)) from None


def _answer(cat: Catalog, who: Principal, alert_id: str, req: NoticeIn) -> Response:
    number, _, _ = alert_for(cat, who, alert_id, "review")
    try:
        name, data, media = build_notice(cat, number, req)
    except ValueError as exc:
        from matchers.index.base import BadQuery

        raise BadQuery(str(exc)) from None
    tracker(cat).start(number, actor(who), f"notice {name}")
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/api/alerts/{alert_id}/notice",
             responses={200: {"content": {"application/pdf": {}, "text/plain": {}}}})
def post_notice(request: Request, alert_id: str, body: NoticeIn,
                who: Annotated[Principal, Depends(principal)]) -> Response:
    """The filled complaint notice for the alert, as PDF or text; starts its takedown
    track (drafted)."""
    return _answer(catalog(request), who, alert_id, body)


@router.post("/alerts/{alert_id}/notice", include_in_schema=False)
def form_notice(request: Request, alert_id: str,
                who: Annotated[Principal, Depends(principal)],
                platform: Annotated[str, Form()] = "", lang: Annotated[str, Form()] = "zh",
                format: Annotated[str, Form()] = "pdf",  # noqa: A002
                rights_holder: Annotated[str, Form()] = "", agent: Annotated[str, Form()] = "",
                power_of_attorney: Annotated[str, Form()] = "",
                urls: Annotated[str, Form()] = "",
                evidence_hashes: Annotated[str, Form()] = "") -> Response:
    req = NoticeIn(platform=platform or None, lang="en" if lang == "en" else "zh",
                   format="text" if format == "text" else "pdf", rights_holder=rights_holder,
                   agent=agent, power_of_attorney=power_of_attorney,
                   urls=urls.split(), evidence_hashes=evidence_hashes.split())
    return _answer(catalog(request), who, alert_id, req)
