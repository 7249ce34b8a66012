"""What became of each takedown notice: its state, the allowed changes, their history.

The one interface for the CLI (``likewatch outcome``), the API and the review desk:

    from alerts.notices.outcomes import draft_notice, set_state, get_notice, list_notices
    n = draft_notice(catalog, alert_id=42, platform="douyin")      # idempotent
    set_state(catalog, n.notice_no, "filed", actor="alice", reference="TS-2026-118")
    set_state(catalog, n.id, "removed", at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    get_notice(catalog, n.id).history                               # every change, in order

States (storage keys): drafted -> filed -> removed | rejected | counter_notice; rejected ->
filed (filed again with more evidence); removed -> counter_notice (the uploader objected,
Civil Code art. 1196) | restored (the platform put it back); counter_notice -> restored |
removed (the rights holder went to court or to the authorities in time, so it is or stays
down); restored -> filed (a new complaint). Anything else raises :class:`OutcomeError` with
a one-line reason. ``counter-notice`` is accepted for ``counter_notice``.

Each change is one history row (``notice_events``, never updated) and one conditional update
of the notice (``... WHERE state = <the state it was read in>``): two desks changing the same
notice at once cannot both succeed; the second gets an error saying so. ``at`` is when it
happened (default now): never before the notice's current state, never in the future.
``client_id`` (optional on every call) restricts the call to that client's notices.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.base import utcnow
from likewatch.catalog.models import Candidate
from likewatch.catalog.notices import NOTICE_STATES, Notice, NoticeEvent

TRANSITIONS: dict[str, frozenset[str]] = {
    "drafted": frozenset({"filed"}),
    "filed": frozenset({"removed", "rejected", "counter_notice"}),
    "rejected": frozenset({"filed"}),
    "removed": frozenset({"counter_notice", "restored"}),
    "counter_notice": frozenset({"restored", "removed"}),
    "restored": frozenset({"filed"}),
}
ALIASES = {"counter-notice": "counter_notice"}  # how people write it
FUTURE_SLACK = dt.timedelta(minutes=5)  # clocks of the desk and the server may differ a bit


class OutcomeError(ValueError):
    """A notice cannot change that way (unknown notice or state, forbidden change, bad date)."""


@dataclass(frozen=True)
class Event:
    from_state: str | None
    to_state: str
    at: dt.datetime
    recorded_at: dt.datetime
    actor: str
    note: str
    link: str = ""


@dataclass(frozen=True)
class NoticeState:
    id: int
    notice_no: str
    alert_id: int
    client_id: int
    person_id: int
    platform: str
    url: str
    state: str
    state_at: dt.datetime
    filed_at: dt.datetime | None
    removed_at: dt.datetime | None
    reference: str
    history: list[Event] = field(default_factory=list)

    @property
    def allowed(self) -> list[str]:
        """The states this notice may move to next."""
        return sorted(TRANSITIONS[self.state])


def _view(n: Notice, events: list[NoticeEvent]) -> NoticeState:
    return NoticeState(
        id=n.id, notice_no=n.notice_no, alert_id=n.alert_id, client_id=n.client_id,
        person_id=n.person_id, platform=n.platform, url=n.url, state=n.state,
        state_at=n.state_at, filed_at=n.filed_at, removed_at=n.removed_at,
        reference=n.reference,
        history=[Event(e.from_state, e.to_state, e.at, e.recorded_at, e.actor, e.note, e.link)
                 for e in events])


def _find(s: Session, ref: str | int, client_id: int | None) -> Notice:
    notice = None
    if isinstance(ref, int) or str(ref).isdigit():
        notice = s.get(Notice, int(ref))
    if notice is None:
        notice = s.scalars(select(Notice).where(Notice.notice_no == str(ref))).first()
    if notice is None or (client_id is not None and notice.client_id != client_id):
        raise OutcomeError(f"no notice {ref!r}")
    return notice


def _events(s: Session, notice_id: int) -> list[NoticeEvent]:
    return list(s.scalars(select(NoticeEvent).where(NoticeEvent.notice_id == notice_id)
                          .order_by(NoticeEvent.id)))


def get_notice(catalog: Catalog, ref: str | int, *, client_id: int | None = None) -> NoticeState:
    """A notice by id or notice number, with its history."""
    with catalog.session() as s:
        n = _find(s, ref, client_id)
        return _view(n, _events(s, n.id))


def list_notices(catalog: Catalog, *, client_id: int | None = None,
                 platform: str | None = None, state: str | None = None) -> list[NoticeState]:
    """Notices, newest first (without their history)."""
    with catalog.session() as s:
        q = select(Notice).order_by(Notice.id.desc())
        if client_id is not None:
            q = q.where(Notice.client_id == client_id)
        if platform:
            q = q.where(Notice.platform == platform)
        if state:
            q = q.where(Notice.state == state)
        return [_view(n, []) for n in s.scalars(q)]


def draft_notice(catalog: Catalog, alert_id: int, platform: str,
                 notice_no: str | None = None, actor: str = "",
                 at: dt.datetime | None = None) -> NoticeState:
    """The notice of alert ``alert_id`` to ``platform``, created (``drafted``) on first call;
    ``at``: when it was drafted (default now; earlier when importing past notices)."""
    with catalog.session() as s:
        existing = s.scalars(select(Notice).where(Notice.alert_id == alert_id,
                                                  Notice.platform == platform)).first()
        if existing is not None:
            return _view(existing, _events(s, existing.id))
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise OutcomeError(f"no alert {alert_id}")
        cand = s.get(Candidate, alert.candidate_id)
        now = at or utcnow()
        if now.tzinfo is None:
            raise OutcomeError("the time of a change must carry its time zone")
        n = Notice(notice_no=notice_no or f"LW-{alert_id}-{platform}", alert_id=alert_id,
                   client_id=alert.client_id, person_id=alert.person_id, platform=platform,
                   url=cand.url if cand else "", state="drafted", state_at=now)
        s.add(n)
        s.flush()
        s.add(NoticeEvent(notice_id=n.id, from_state=None, to_state="drafted", at=now,
                          actor=actor))
        s.flush()
        return _view(n, _events(s, n.id))


def set_state(catalog: Catalog, ref: str | int, state: str, *, at: dt.datetime | None = None,
              actor: str = "", note: str = "", reference: str | None = None,
              link: str = "", client_id: int | None = None) -> NoticeState:
    """Move notice ``ref`` (id or notice number) to ``state``; see the module docstring."""
    state = ALIASES.get(state, state)
    if state not in NOTICE_STATES:
        raise OutcomeError(f"unknown state {state!r}; use one of {', '.join(NOTICE_STATES)}")
    now = utcnow()
    when = at or now
    if when.tzinfo is None:
        raise OutcomeError("the time of a change must carry its time zone")
    with catalog.session() as s:
        n = _find(s, ref, client_id)
        before = n.state
        if state not in TRANSITIONS[before]:
            allowed = ", ".join(sorted(TRANSITIONS[before])) or "nothing"
            raise OutcomeError(f"notice {n.notice_no} is {before}: it can become {allowed}, "
                               f"not {state}")
        if when < n.state_at:
            raise OutcomeError(f"{state} at {when.isoformat()} is before the notice became "
                               f"{before} ({n.state_at.isoformat()})")
        if when > now + FUTURE_SLACK:
            raise OutcomeError(f"{state} at {when.isoformat()} is in the future")
        values: dict[str, object] = {"state": state, "state_at": when}
        if state == "filed" and n.filed_at is None:
            values["filed_at"] = when
        if state == "removed" and n.removed_at is None:
            values["removed_at"] = when
        if reference is not None:
            values["reference"] = reference
        done = s.execute(update(Notice).where(Notice.id == n.id, Notice.state == before,
                                              Notice.state_at == n.state_at).values(**values))
        if getattr(done, "rowcount", 1) != 1:
            raise OutcomeError(f"notice {n.notice_no} was changed meanwhile; read it again")
        s.add(NoticeEvent(notice_id=n.id, from_state=before, to_state=state, at=when,
                          actor=actor, note=note, link=link))
        s.flush()
        s.expire(n)
        return _view(s.get(Notice, n.id) or n, _events(s, n.id))
