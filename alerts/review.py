"""Decisions on alerts: confirm, dismiss, reopen, allow-list the uploader.

Each decision is one :class:`ReviewDecision` row (who, when, the status before and after)
and sets the alert's ``status``:

    confirm -> confirmed     dismiss -> dismissed     reopen -> new
    allow_list -> suppressed, for this alert and every open alert of the same person by
                  the same uploader on the same platform (the uploader joins the person's
                  official accounts, so later uploads never alert either)

Who may decide is the caller's business (the webapp checks the user's role in the
alert's client; the CLI is the operator). These functions only record and apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.refs import find_alert
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Candidate, Person
from likewatch.catalog.review import ReviewDecision
from likewatch.work.db import write_session
from matchers.match import is_official, parse_official_accounts

DECISIONS = {"confirm": "confirmed", "dismiss": "dismissed", "reopen": "new"}
OPEN = "new"


class ReviewError(ValueError):
    """An unknown alert or decision."""


@dataclass
class Outcome:
    alert: str  # the alert's key
    status: str
    settled: list[str]  # other alerts settled with it (allow-list)


def _record(s: Session, alert: Alert, decision: str, status: str, actor: str,
            note: str = "") -> None:
    s.add(ReviewDecision(alert_id=alert.id, decision=decision, actor=actor,
                         status_before=alert.status, status_after=status, note=note))
    alert.status = status


def review(cat: Catalog, ref: str | int, decision: str, actor: str, note: str = "") -> Outcome:
    """Confirm, dismiss or reopen alert ``ref`` (number or key)."""
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    with write_session(cat) as s:
        alert = find_alert(s, ref)
        if alert is None:
            raise ReviewError(f"no alert {ref!r}")
        _record(s, alert, decision, DECISIONS[decision], actor, note)
        return Outcome(alert.key, alert.status, [])


def add_official(person: Person, platform: str, uploader: str) -> bool:
    """Add (platform, uploader) to the person's official accounts; False if already there."""
    accounts = list(person.official_accounts or [])
    if is_official(parse_official_accounts(accounts), platform, uploader):
        return False
    accounts.append({"platform": platform or "*", "uploader": uploader})
    person.official_accounts = accounts
    return True


def settle_official(s: Session, person: Person, actor: str,
                    skip: Sequence[int] = ()) -> list[str]:
    """Suppress the person's open alerts whose uploader is now an official account
    (the allow-list applies to alerts already raised, not only to later ones)."""
    accounts = parse_official_accounts(person.official_accounts)
    settled = []
    rows = s.execute(select(Alert, Candidate).join(Candidate, Candidate.id == Alert.candidate_id)
                     .where(Alert.person_id == person.id, Alert.status == OPEN)
                     .order_by(Alert.id))
    for alert, cand in rows:
        if alert.id in skip:
            continue
        if is_official(accounts, cand.platform, cand.uploader_id, cand.uploader):
            _record(s, alert, "allow_list", "suppressed", actor, "uploader allow-listed")
            settled.append(alert.key)
    return settled


def allow_uploader(cat: Catalog, ref: str | int, actor: str) -> Outcome:
    """Allow-list the uploader of alert ``ref`` for its person, and settle their open alerts."""
    with write_session(cat) as s:
        alert = find_alert(s, ref)
        if alert is None:
            raise ReviewError(f"no alert {ref!r}")
        cand = s.get(Candidate, alert.candidate_id)
        person = s.get(Person, alert.person_id)
        if cand is None or person is None:
            raise ReviewError(f"alert {ref!r} points at a missing candidate or person")
        uploader = cand.uploader_id or cand.uploader
        if not uploader:
            raise ReviewError(f"alert {alert.key} has no uploader to allow-list")
        add_official(person, cand.platform, uploader)
        _record(s, alert, "allow_list", "suppressed", actor,
                f"uploader {cand.platform}:{uploader} allow-listed")
        settled = settle_official(s, person, actor, skip=[alert.id])
        return Outcome(alert.key, alert.status, settled)


def decisions(s: Session, alert_id: int) -> list[dict[str, str]]:
    """An alert's decisions, oldest first."""
    rows = s.scalars(select(ReviewDecision).where(ReviewDecision.alert_id == alert_id)
                     .order_by(ReviewDecision.id))
    return [{"decision": d.decision, "by": d.actor, "at": d.at.isoformat().replace("+00:00", "Z"),
             "status_before": d.status_before, "status_after": d.status_after, "note": d.note}
            for d in rows]
