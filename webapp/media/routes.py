"""Images of an alert and of a person: the reference photo, the matched frame or thumbnail,
and face crops of both. Sensitive (a reference photo is biometric data): served only to
users of the owning client, ``Cache-Control: private, no-store`` (set for every
authenticated answer), never logged.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Candidate, CandidateSignal, Media, Reference
from likewatch.media import MediaStore
from webapp.accounts.roles import NotFound, Principal
from webapp.alerts import alert_for
from webapp.persons import person_for
from webapp.web import catalog, principal

router = APIRouter(tags=["media"])
CROP_SIZE = 160


def _image_response(data: bytes) -> Response:
    from PIL import Image, UnidentifiedImageError

    try:
        fmt = (Image.open(io.BytesIO(data)).format or "").lower()
    except (UnidentifiedImageError, OSError):
        raise NotFound("not an image") from None
    media = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
             "gif": "image/gif", "bmp": "image/bmp"}.get(fmt)
    if media is None:
        raise NotFound("not an image")
    return Response(data, media_type=media, headers={"X-Content-Type-Options": "nosniff"})


def reference_path(cat: Catalog, alert_number: int) -> Path | None:
    """The reference photo the alert matched (else the person's first)."""
    with cat.session() as s:
        alert = s.get(Alert, alert_number)
        if alert is None:
            return None
        ref = s.get(Reference, alert.reference_id) if alert.reference_id else None
        if ref is None:
            ref = s.scalars(select(Reference).where(Reference.person_id == alert.person_id)
                            .order_by(Reference.id)).first()
        return cat.home / ref.media_path if ref is not None else None


def candidate_path(cat: Catalog, alert_number: int) -> Path | None:
    """The matched frame when it was kept as an image, else the candidate's thumbnail."""
    store = MediaStore(cat.home)
    with cat.session() as s:
        alert = s.get(Alert, alert_number)
        if alert is None:
            return None
        cand = s.get(Candidate, alert.candidate_id)
        if cand is None:
            return None
        shas = s.scalars(select(CandidateSignal.media_sha256).where(
            CandidateSignal.candidate_id == cand.id, CandidateSignal.frame == alert.frame))
        for sha in shas:
            media = s.get(Media, sha)
            if sha != cand.video_sha256 and (media is None or media.kind != "video") \
                    and store.path(sha).exists():
                return store.path(sha)
        if cand.thumbnail_sha256 and store.path(cand.thumbnail_sha256).exists():
            return store.path(cand.thumbnail_sha256)
    return None


def face_crops(path: Path | None, reference: Path | None = None) -> list[tuple[bytes, float | None]]:
    """JPEG crops of each face in the image (aligned, as the matcher saw them), each with
    its distance to the reference photo's face when one is given; closest first."""
    if path is None or not path.exists():
        return []
    import numpy as np

    from matchers.faces import detect_faces
    from matchers.images import ImageError, ImageInput

    try:
        faces = detect_faces(ImageInput.from_path(path))
        ref_faces = detect_faces(ImageInput.from_path(reference)) if reference else []
    except ImageError:
        return []
    out: list[tuple[bytes, float | None]] = []
    for face in faces:
        dist = min((float(np.linalg.norm(face.embedding - r.embedding)) for r in ref_faces),
                   default=None)
        buf = io.BytesIO()
        face.crop.resize((CROP_SIZE, CROP_SIZE)).save(buf, format="JPEG", quality=90)
        out.append((buf.getvalue(), dist))
    out.sort(key=lambda c: (c[1] is None, c[1] or 0.0))
    return out


def crops_of(cat: Catalog, number: int, side: str) -> list[tuple[bytes, float | None]]:
    ref = reference_path(cat, number)
    if side == "reference":
        return face_crops(ref)
    return face_crops(candidate_path(cat, number), ref)


@router.get("/media/alerts/{alert_id}/{side}", include_in_schema=False)
def alert_image(request: Request, alert_id: str, side: Literal["reference", "candidate"],
                who: Annotated[Principal, Depends(principal)]) -> Response:
    number, _, _ = alert_for(catalog(request), who, alert_id)
    cat = catalog(request)
    path = reference_path(cat, number) if side == "reference" else candidate_path(cat, number)
    if path is None or not path.exists():
        raise NotFound("no image")
    return _image_response(path.read_bytes())


@router.get("/media/alerts/{alert_id}/crops/{side}/{n}", include_in_schema=False)
def alert_crop(request: Request, alert_id: str, side: Literal["reference", "candidate"],
               n: int, who: Annotated[Principal, Depends(principal)]) -> Response:
    number, _, _ = alert_for(catalog(request), who, alert_id)
    crops = crops_of(catalog(request), number, side)
    if not 0 <= n < len(crops):
        raise NotFound("no such face")
    return _image_response(crops[n][0])


@router.get("/media/references/{reference_id}", include_in_schema=False)
def reference_image(request: Request, reference_id: int,
                    who: Annotated[Principal, Depends(principal)]) -> Response:
    cat = catalog(request)
    with cat.session() as s:
        ref = s.get(Reference, reference_id)
        if ref is None:
            raise NotFound("no such reference")
        person_id, rel = ref.person_id, ref.media_path
    person_for(cat, who, person_id)
    path = cat.home / rel
    if not path.exists():
        raise NotFound("no image")
    return _image_response(path.read_bytes())


def crop_summary(cat: Catalog, number: int) -> dict[str, Any]:
    """How many face crops each side has, and the candidate faces' distances."""
    ref = crops_of(cat, number, "reference")
    cand = crops_of(cat, number, "candidate")
    return {"reference": len(ref), "candidate": [d for _, d in cand]}
