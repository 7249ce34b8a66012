"""Evidence: capture a content page when an alert is created, seal it, export and verify it.

    from alerts.evidence import EvidenceSubject, capture_evidence
    result = capture_evidence(EvidenceSubject(alert_id="42", url=..., platform=..., ...))

See docs/evidence.md. Submodules: ``capture`` (what is kept), ``browser`` (one Chromium per
process), ``merkle`` (RFC 6962), ``keys`` (Ed25519 signed tree heads), ``log`` (the
append-only log in the catalog), ``bundle``/``verify`` (the zip for lawyers), ``tsa``
(optional RFC 3161 timestamps), ``adapter`` (from an ``Alert`` row).
"""

from __future__ import annotations

from alerts.evidence.browser import CaptureError
from alerts.evidence.capture import CaptureResult, EvidenceSubject, capture_evidence

__all__ = ["CaptureError", "CaptureResult", "EvidenceSubject", "capture_evidence"]
