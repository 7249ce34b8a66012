"""Complaint notices from the desk: the fields a portrait-rights complaint needs, then the
filled notice as PDF (or text), or the whole complaint packet as a zip, made by
``alerts.notices`` exactly as ``likewatch notice`` and ``likewatch packet`` make them.

What the form adds to the alert's own notice context: the rights holder's identity as
the complaint should name it, the agent and their power of attorney (an agency acts for
its roster), more infringing URLs, evidence hashes beside the sealed capture's, and signs
of AI generation a reviewer saw. Making a notice or a packet drafts the alert's notice
record (its takedown, ``likewatch outcome``), whose number the documents carry.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from alerts.notices import NoticeError, render_pdf, render_text
from alerts.notices.build import prepare_notice
from alerts.notices.platforms import PLATFORMS
from alerts.notices.render import NoticeContext, NoticeItem
from likewatch.catalog import Catalog
from matchers.index.base import BadQuery
from webapp.accounts.roles import Principal
from webapp.alerts import alert_for
from webapp.web import actor, catalog, principal

router = APIRouter(tags=["notices"])
Lang = Literal["zh", "en"]


class ComplaintIn(BaseModel):
    platform: str | None = Field(None, description="default: the alert's platform")
    rights_holder: str = Field("", description="the depicted person's legal name / identity")
    agent: str = Field("", description="who files for them (a studio or agency)")
    power_of_attorney: str = Field("", description="the agent's authorisation: reference, date")
    urls: list[str] = Field(default_factory=list, description="more infringing URLs")
    evidence_hashes: list[str] = Field(default_factory=list,
                                       description="more SHA-256 of evidence files")
    ai_signs: list[str] = Field(default_factory=list, description="signs of AI generation a "
                                "reviewer saw, e.g. 'face swap visible at 0:12'")


class NoticeIn(ComplaintIn):
    lang: Lang = "zh"
    format: Literal["pdf", "text"] = "pdf"


class PacketIn(ComplaintIn):
    langs: list[Lang] = Field(["zh", "en"], description="languages of the documents")


def _platform(req: ComplaintIn) -> str | None:
    if req.platform and req.platform not in PLATFORMS:
        raise BadQuery(f"unknown platform {req.platform!r}; one of {', '.join(PLATFORMS)}")
    return req.platform or None


def _adjust(ctx: NoticeContext, req: ComplaintIn, lang: str) -> NoticeContext:
    """``ctx`` with what the form says (in ``lang``)."""
    agent = req.agent.strip() or ctx.agent
    if req.power_of_attorney.strip():
        poa = req.power_of_attorney.strip()
        agent = (f"{agent}（授权委托书：{poa}）" if lang == "zh"
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
    return NoticeContext(**{**ctx.__dict__, "rights_holder": req.rights_holder.strip()
                            or ctx.rights_holder, "agent": agent, "items": items,
                            "evidence": evidence})


def _signs(req: ComplaintIn) -> tuple[str, ...]:
    return tuple(s.strip() for s in req.ai_signs if s.strip())


def build_notice(cat: Catalog, number: int, req: NoticeIn,
                 by: str = "") -> tuple[str, bytes, str]:
    """(file name, bytes, media type) of the notice for alert ``number``."""
    try:
        ctx, platform, _ = prepare_notice(cat, str(number), _platform(req), _signs(req),
                                          actor=by)
        text = render_text(_adjust(ctx, req, req.lang), platform, req.lang)
        if req.format == "text":
            return f"notice-{number}-{platform}-{req.lang}.txt", text.encode("utf-8"), \
                "text/plain; charset=utf-8"
        return f"notice-{number}-{platform}-{req.lang}.pdf", render_pdf(text, req.lang), \
            "application/pdf"
    except NoticeError as exc:
        raise BadQuery(str(exc)) from None


def _notice(cat: Catalog, who: Principal, alert_id: str, req: NoticeIn) -> Response:
    number, _, _ = alert_for(cat, who, alert_id, "review")
    name, data, media = build_notice(cat, number, req, actor(who))
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _packet(cat: Catalog, who: Principal, alert_id: str, req: PacketIn) -> Response:
    """The packet as a zip file, answered from a private temporary folder removed after."""
    from alerts.notices.packet import PacketError, build_packet

    number, _, _ = alert_for(cat, who, alert_id, "review")
    platform = _platform(req)
    tmp = Path(tempfile.mkdtemp(prefix="lw-packet-"))
    try:
        packet = build_packet(cat, str(number), platform=platform, out=tmp,
                              langs=tuple(dict.fromkeys(req.langs)) or ("zh", "en"),
                              reviewer_signs=_signs(req), actor=actor(who),
                              adjust=lambda ctx, lang: _adjust(ctx, req, lang))
    except (PacketError, NoticeError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BadQuery(str(exc)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    assert packet.zip_path is not None
    return FileResponse(packet.zip_path, media_type="application/zip",
                        filename=packet.zip_path.name,
                        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))


@router.post("/api/alerts/{alert_id}/notice",
             responses={200: {"content": {"application/pdf": {}, "text/plain": {}}}})
def post_notice(request: Request, alert_id: str, body: NoticeIn,
                who: Annotated[Principal, Depends(principal)]) -> Response:
    """The filled complaint notice for the alert, as PDF or text; drafts its notice record
    (the takedown track) if it has none."""
    return _notice(catalog(request), who, alert_id, body)


@router.post("/api/alerts/{alert_id}/packet",
             responses={200: {"content": {"application/zip": {}}}})
def post_packet(request: Request, alert_id: str, body: PacketIn,
                who: Annotated[Principal, Depends(principal)]) -> Response:
    """The complaint packet (zip), as `likewatch packet` makes it: the notice and the
    power-of-attorney template (PDF and text, per language), the platform's checklist and
    the sealed evidence bundle, with a manifest of sha256 sums. Needs sealed evidence."""
    return _packet(catalog(request), who, alert_id, body)


def _form(platform: str, rights_holder: str, agent: str, power_of_attorney: str, urls: str,
          evidence_hashes: str, ai_signs: str) -> dict[str, object]:
    return {"platform": platform or None, "rights_holder": rights_holder, "agent": agent,
            "power_of_attorney": power_of_attorney, "urls": urls.split(),
            "evidence_hashes": evidence_hashes.split(),
            "ai_signs": [s for s in ai_signs.splitlines() if s.strip()]}


@router.post("/alerts/{alert_id}/notice", include_in_schema=False)
def form_notice(request: Request, alert_id: str,
                who: Annotated[Principal, Depends(principal)],
                platform: Annotated[str, Form()] = "", lang: Annotated[str, Form()] = "zh",
                format: Annotated[str, Form()] = "pdf",  # noqa: A002
                rights_holder: Annotated[str, Form()] = "", agent: Annotated[str, Form()] = "",
                power_of_attorney: Annotated[str, Form()] = "",
                urls: Annotated[str, Form()] = "",
                evidence_hashes: Annotated[str, Form()] = "",
                ai_signs: Annotated[str, Form()] = "") -> Response:
    req = NoticeIn.model_validate({
        "lang": "en" if lang == "en" else "zh", "format": "text" if format == "text" else "pdf",
        **_form(platform, rights_holder, agent, power_of_attorney, urls, evidence_hashes,
                ai_signs)})
    return _notice(catalog(request), who, alert_id, req)


@router.post("/alerts/{alert_id}/packet", include_in_schema=False)
def form_packet(request: Request, alert_id: str,
                who: Annotated[Principal, Depends(principal)],
                platform: Annotated[str, Form()] = "",
                rights_holder: Annotated[str, Form()] = "", agent: Annotated[str, Form()] = "",
                power_of_attorney: Annotated[str, Form()] = "",
                urls: Annotated[str, Form()] = "",
                evidence_hashes: Annotated[str, Form()] = "",
                ai_signs: Annotated[str, Form()] = "") -> Response:
    """The notice form's second button: the same fields, the packet in both languages."""
    req = PacketIn.model_validate(_form(platform, rights_holder, agent, power_of_attorney,
                                        urls, evidence_hashes, ai_signs))
    return _packet(catalog(request), who, alert_id, req)
