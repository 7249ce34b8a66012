"""Gather what a notice says about an alert: its sealed evidence, else the alert itself."""

from __future__ import annotations

import json

from alerts.notices.render import NoticeContext, NoticeError, context_from_manifest
from likewatch.catalog import Catalog


def notice_for_alert(catalog: Catalog, ref: str) -> NoticeContext:
    """The notice context of alert ``ref`` (alert id/key or evidence capture id).

    Uses the newest sealed capture of the alert (so the notice cites its hashes and tree
    head); an alert without evidence yet gets a notice without the evidence section's hashes.
    """
    from alerts.evidence.bundle import ExportError, find_capture
    from alerts.evidence.log import TransparencyLog

    try:
        cap = find_capture(catalog, ref)
    except ExportError:
        cap = None
    if cap is not None and cap.leaf_index is not None:
        manifest = json.loads((catalog.home / cap.dir / "manifest.json").read_bytes())
        head = TransparencyLog(catalog).tree_head(cap.leaf_index + 1).to_dict()
        return context_from_manifest(manifest, head, cap.manifest_sha256, cap.leaf_index)
    from alerts.evidence.adapter import AlertNotFound, subject_for_alert
    from alerts.notices.render import context_from_subject

    try:
        return context_from_subject(subject_for_alert(catalog, ref))
    except AlertNotFound:
        raise NoticeError(f"no alert or evidence capture {ref!r}") from None
