"""Gather what a notice says about an alert: its sealed evidence (else the alert itself), what
its media say about AI generation, and the notice's number in the outcome records."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from alerts.notices.ai import finding_for
from alerts.notices.outcomes import NoticeState, draft_notice
from alerts.notices.platforms import PLATFORMS
from alerts.notices.render import (
    NoticeContext,
    NoticeError,
    context_from_manifest,
    context_from_subject,
)
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert

if TYPE_CHECKING:
    from likewatch.catalog.evidence import EvidenceCapture

# alerts.evidence (the browser, the log) is imported inside the functions: `likewatch`
# registers this package's commands at start-up and should not load it for every command.


def alert_pk(catalog: Catalog, ref: str) -> int | None:
    """The id of alert ``ref`` (its id or key); None when there is no such alert."""
    from alerts.evidence.adapter import AlertNotFound, subject_for_alert

    try:
        return int(subject_for_alert(catalog, ref).alert_id)
    except (AlertNotFound, ValueError):
        return None


def find_evidence(catalog: Catalog, ref: str) -> EvidenceCapture | None:
    """The newest sealed capture of alert ``ref`` (id or key) or capture ``ref``."""
    from alerts.evidence.bundle import ExportError, find_capture

    pk = alert_pk(catalog, ref)
    for key in ([str(pk)] if pk is not None else []) + [ref]:
        try:
            return find_capture(catalog, key)
        except ExportError:
            continue
    return None


def notice_for_alert(catalog: Catalog, ref: str,
                     reviewer_signs: tuple[str, ...] = ()) -> NoticeContext:
    """The notice context of alert ``ref`` (alert id/key or evidence capture id).

    Uses the newest sealed capture of the alert (so the notice cites its hashes and tree
    head); an alert without evidence yet gets a notice without the evidence section's hashes.
    ``reviewer_signs``: signs of AI generation a reviewer saw (e.g. "face swap at 0:12").
    """
    from alerts.evidence.adapter import AlertNotFound, subject_for_alert
    from alerts.evidence.log import TransparencyLog

    cap = find_evidence(catalog, ref)
    if cap is not None and cap.leaf_index is not None:
        manifest = json.loads((catalog.home / cap.dir / "manifest.json").read_bytes())
        head = TransparencyLog(catalog).tree_head(cap.leaf_index + 1).to_dict()
        ctx = context_from_manifest(manifest, head, cap.manifest_sha256, cap.leaf_index)
    else:
        try:
            ctx = context_from_subject(subject_for_alert(catalog, ref))
        except AlertNotFound:
            raise NoticeError(f"no alert or evidence capture {ref!r}") from None
    pk = alert_pk(catalog, ctx.alert_id) if ctx.alert_id.isdigit() else None
    if pk is not None:
        with catalog.session() as s:
            alert = s.get(Alert, pk)
            ctx.ai = finding_for(s, alert, reviewer_signs) if alert is not None else None
    return ctx


def prepare_notice(catalog: Catalog, ref: str, platform: str | None = None,
                   reviewer_signs: tuple[str, ...] = (),
                   actor: str = "") -> tuple[NoticeContext, str, NoticeState | None]:
    """(context, platform, outcome record) of the notice of alert ``ref`` to ``platform``
    (default: the alert's own). A real alert's notice is recorded as ``drafted`` on first use
    (alerts/notices/outcomes.py) and keeps its number on every later rendering."""
    ctx = notice_for_alert(catalog, ref, reviewer_signs)
    platform = platform or (ctx.platform if ctx.platform in PLATFORMS else "generic")
    state = None
    pk = alert_pk(catalog, ctx.alert_id) if ctx.alert_id.isdigit() else None
    if pk is not None:
        state = draft_notice(catalog, pk, platform, notice_no=f"{ctx.notice_id}-{platform}",
                             actor=actor)
        ctx.notice_id = state.notice_no
    return ctx, platform, state
