"""Sealed evidence of an alert: its captures with their verification, and the bundle.

The verification shown is the real one: the bundle is exported and checked offline with
``alerts.evidence.verify.verify_bundle``, exactly as a lawyer receiving it would
(``likewatch evidence verify``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select

from alerts.evidence.bundle import ExportError, export_bundle
from alerts.evidence.verify import verify_bundle
from likewatch.catalog import Catalog
from likewatch.catalog.evidence import EvidenceCapture
from webapp.accounts.roles import NotFound, Principal
from webapp.alerts import alert_for
from webapp.web import catalog, principal

router = APIRouter(tags=["evidence"])


class Verification(BaseModel):
    ok: bool
    problems: list[str]
    facts: list[str]


class CaptureOut(BaseModel):
    capture_id: str
    captured_at: str
    status: str
    url: str
    manifest_sha256: str
    leaf_index: int | None


class EvidenceOut(BaseModel):
    alert: str
    captures: list[CaptureOut]
    verification: Verification | None  # of the newest sealed capture's bundle


def captures(cat: Catalog, number: int) -> list[dict[str, Any]]:
    with cat.session() as s:
        rows = s.scalars(select(EvidenceCapture).where(EvidenceCapture.alert_id == str(number))
                         .order_by(EvidenceCapture.captured_at.desc(),
                                   EvidenceCapture.id.desc()))
        return [{"capture_id": r.capture_id,
                 "captured_at": r.captured_at.isoformat().replace("+00:00", "Z"),
                 "status": r.status, "url": r.url, "manifest_sha256": r.manifest_sha256,
                 "leaf_index": r.leaf_index} for r in rows]


def bundle_bytes(cat: Catalog, number: int) -> tuple[str, bytes, dict[str, Any]]:
    """(file name, zip bytes, verification) of the alert's newest sealed capture."""
    with tempfile.TemporaryDirectory(prefix="lw-bundle-") as tmp:
        try:
            path = export_bundle(cat, str(number), Path(tmp) / "bundle.zip")
        except ExportError as exc:
            raise NotFound(str(exc)) from None
        report = verify_bundle(path)
        return f"evidence-{number}.zip", path.read_bytes(), {"ok": report.ok, "problems": report.problems,
                                          "facts": report.facts}


def evidence_of(cat: Catalog, number: int, key: str) -> dict[str, Any]:
    caps = captures(cat, number)
    verification = None
    if any(c["leaf_index"] is not None for c in caps):
        _, _, verification = bundle_bytes(cat, number)
    return {"alert": key, "captures": caps, "verification": verification}


@router.get("/api/alerts/{alert_id}/evidence", response_model=EvidenceOut)
def get_evidence(request: Request, alert_id: str,
                 who: Annotated[Principal, Depends(principal)]) -> EvidenceOut:
    """The alert's evidence captures, and the offline verification of its newest bundle."""
    number, _, key = alert_for(catalog(request), who, alert_id)
    return EvidenceOut(**evidence_of(catalog(request), number, key))


@router.get("/api/alerts/{alert_id}/evidence/bundle",
            responses={200: {"content": {"application/zip": {}}}})
def get_bundle(request: Request, alert_id: str,
               who: Annotated[Principal, Depends(principal)]) -> Response:
    """The sealed evidence bundle (zip) of the alert's newest capture: verifiable offline
    with `likewatch evidence verify`."""
    number, _, key = alert_for(catalog(request), who, alert_id)
    _, data, _ = bundle_bytes(catalog(request), number)
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="evidence-{key}.zip"'})
