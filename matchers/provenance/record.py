"""Record a candidate's provenance in the catalog (``candidate_provenance``).

Called by the matcher pipeline right after a candidate's media are hashed
(``matchers/pipeline.py``, one line), so every candidate that was matched has its row:

    record_candidate_provenance(catalog, cand, media_path)

Each stored file (thumbnail, video) is read with :func:`read_provenance`; the candidate's
summary takes the strongest GB 45438 label found (1 before 2 before 3) and the C2PA manifest
that declares AI generation (else any). Writing is an upsert keyed by the candidate, so a
candidate matched again (or by two matchers at once) keeps one row, and the platform's own
flag the crawler stored in it (``likewatch.catalog.provenance.set_platform_flag``) stays.
Never raises: provenance must not stop matching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from likewatch.catalog.base import utcnow
from likewatch.catalog.provenance import CandidateProvenance
from matchers.provenance import Provenance, read_provenance

if TYPE_CHECKING:
    from likewatch.catalog import Catalog
    from likewatch.catalog.models import Candidate

log = logging.getLogger(__name__)

MediaPath = Callable[["Catalog", str], Path]


def _rank(p: Provenance) -> int:
    return int(p.ai_label) if p.ai_label else 9


def summarize(per_media: dict[str, Provenance]) -> dict[str, Any]:
    """The summary columns of a ``candidate_provenance`` row from each file's provenance."""
    labelled = sorted((p for p in per_media.values() if p.ai_label), key=_rank)
    c2pas = [p.c2pa for p in per_media.values() if p.c2pa is not None]
    c2pas.sort(key=lambda c: not c.ai_generated)
    best = labelled[0].label if labelled else None
    return {"ai_label": best.valid_label if best else None,
            "producer": best.content_producer if best else "",
            "propagator": best.content_propagator if best else "",
            "c2pa_signer": c2pas[0].signer if c2pas else "",
            "c2pa_ai": bool(c2pas and c2pas[0].ai_generated),
            "media": {k: p.to_json() for k, p in per_media.items()}}


def record_candidate_provenance(catalog: Catalog, cand: Candidate,
                                media_path: MediaPath) -> CandidateProvenance | None:
    """Read ``cand``'s stored media and upsert its provenance row; None on failure."""
    try:
        per_media: dict[str, Provenance] = {}
        for kind, sha in (("thumbnail", cand.thumbnail_sha256), ("video", cand.video_sha256)):
            if sha:
                per_media[kind] = read_provenance(media_path(catalog, sha))
        values = summarize(per_media)
        try:
            return _upsert(catalog, cand.id, values)
        except IntegrityError:  # another matcher inserted the row first: update it
            return _upsert(catalog, cand.id, values)
    except Exception:  # noqa: BLE001 - provenance never stops matching
        log.exception("provenance of candidate %s could not be recorded", cand.id)
        return None


def _upsert(catalog: Catalog, candidate_id: int, values: dict[str, Any]) -> CandidateProvenance:
    with catalog.session() as s:
        row = s.get(CandidateProvenance, candidate_id)
        if row is None:
            row = CandidateProvenance(candidate_id=candidate_id)
            s.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        row.checked_at = utcnow()
    return row
