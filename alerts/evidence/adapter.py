"""Build an :class:`EvidenceSubject` from an ``Alert`` row (likewatch/catalog/alerts.py).

    from alerts.evidence.adapter import subject_for_alert, capture_for_alert
    capture_for_alert(catalog, alert_id)     # e.g. right after the alert is created

The rights holder is the protected person (the portrait right is theirs); the client
(studio or agency) is the agent acting for them and is named as such in notices.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from alerts.evidence.browser import BrowserWorker, CaptureError
from alerts.evidence.capture import CaptureResult, EvidenceSubject, capture_evidence
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.evidence import EvidenceCapture
from likewatch.catalog.models import Candidate, CandidateSignal, Client, Person
from likewatch.log import get_logger
from likewatch.media import MediaStore
from likewatch.netguard import BlockedURL

log = get_logger(__name__)


class AlertNotFound(LookupError):
    """No alert with that id or key."""


def _find_alert(session: Any, ref: str | int) -> Alert:
    from alerts.refs import find_alert

    alert = find_alert(session, ref)
    if alert is None:
        raise AlertNotFound(f"no alert {ref!r}")
    return alert


def subject_for_alert(catalog: Catalog, ref: str | int) -> EvidenceSubject:
    """The plain evidence input for alert ``ref`` (its numeric id or its key)."""
    store = MediaStore(catalog.home)
    with catalog.session() as s:
        alert = _find_alert(s, ref)
        cand = s.get(Candidate, alert.candidate_id)
        person = s.get(Person, alert.person_id)
        client = s.get(Client, alert.client_id)
        if cand is None or person is None:
            raise AlertNotFound(f"alert {ref!r} points at a missing candidate or person")
        frames = {str(m.get("frame", "")) for m in (alert.signals or [])} | {alert.frame}
        shas: list[str] = []
        if cand.thumbnail_sha256:
            shas.append(cand.thumbnail_sha256)
        rows = s.scalars(select(CandidateSignal.media_sha256)
                         .where(CandidateSignal.candidate_id == cand.id,
                                CandidateSignal.frame.in_(frames))).all()
        for sha in rows:
            # Keyframes stored as images; a frame signal pointing at the video is kept as
            # the video itself.
            if sha != cand.video_sha256 and sha not in shas and store.path(sha).exists():
                shas.append(sha)
        label = person.display_name or person.key
        return EvidenceSubject(
            alert_id=str(alert.id), url=cand.url, platform=cand.platform, person_label=label,
            rights_holder=label, agent=client.name if client else "",
            uploader=cand.uploader, title=cand.title, published_at=cand.published_at,
            found_at=cand.found_at, signal=alert.signal, distance=alert.distance,
            threshold=alert.threshold, media_sha256s=shas, thumbnail_url=cand.thumbnail_url,
            video_url=cand.video_url, video_sha256=cand.video_sha256)


def capture_for_alert(catalog: Catalog, ref: str | int,
                      browser: BrowserWorker | None = None) -> CaptureResult:
    """Capture and seal the evidence of alert ``ref`` (call when the alert is created)."""
    return capture_evidence(subject_for_alert(catalog, ref), catalog=catalog, browser=browser)


def capture_missing(catalog: Catalog, limit: int = 20,
                    browser: BrowserWorker | None = None) -> dict[str, int]:
    """Capture evidence for alerts that have none yet (newest first; dismissed ones skipped).

    A plain function for the alerter role's job: one failing page is logged and counted,
    the others go on; it is tried again on the next run.
    """
    with catalog.session() as s:
        done = select(EvidenceCapture.alert_id)
        ids = s.scalars(select(Alert.id).where(Alert.status != "dismissed")
                        .where(Alert.id.cast(EvidenceCapture.alert_id.type).not_in(done))
                        .order_by(Alert.created_at.desc()).limit(limit)).all()
    counts = {"captured": 0, "failed": 0}
    for alert_id in ids:
        try:
            capture_for_alert(catalog, alert_id, browser)
            counts["captured"] += 1
        except (CaptureError, BlockedURL, AlertNotFound, OSError) as exc:
            counts["failed"] += 1
            log.warning("evidence capture failed", alert_id=alert_id, error=str(exc))
    return counts
