"""One alert id everywhere: the key ``likewatch alerts`` prints (``lw_…``) or the number.

Every place that takes an alert from a person (CLI, API, pages, evidence, notices) resolves
it here, so ``lw_…`` and ``42`` name the same alert wherever they are typed. Evidence rows
(``EvidenceCapture.alert_id``) store the number as text; :func:`evidence_ref` gives it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from likewatch.catalog.alerts import Alert


def find_alert(session: Session, ref: str | int) -> Alert | None:
    """The alert whose number or key is ``ref``, or None."""
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        alert = session.get(Alert, int(text))
        if alert is not None:
            return alert
    if not text:
        return None
    return session.scalars(select(Alert).where(Alert.key == text)).first()


def evidence_ref(session: Session, ref: str) -> str:
    """What evidence captures are filed under for ``ref``: the alert's number as text when
    ``ref`` names an alert, else ``ref`` itself (a capture id or a free label)."""
    alert = find_alert(session, ref)
    return str(alert.id) if alert is not None else ref
