"""The review desk's takedown tracker, over the notice outcomes (alerts/notices/outcomes.py).

The desk (webapp/takedowns, issue #15) tracks one takedown per alert: :class:`NoticeTracker`
(``state``, ``history``, ``takedown``, ``start``, ``advance``, ``stats``) keeps it in the
``notices`` tables, so the desk, the CLI (``likewatch outcome``) and ``likewatch report``
read and write one record. The allowed changes are those of ``outcomes.TRANSITIONS``; a
takedown not begun may be drafted, or filed at once (drafted on the way).

An alert's takedown is its notice to the alert's own platform; if it has none, its first
notice to another platform (the desk or ``likewatch notice --platform`` may address one).
A wrong step raises :class:`~alerts.notices.outcomes.OutcomeError` (a ValueError).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select

from alerts.notices.outcomes import (
    ALIASES,
    TRANSITIONS,
    NoticeState,
    OutcomeError,
    draft_notice,
    get_notice,
    set_state,
)
from alerts.notices.platforms import PLATFORMS
from alerts.notices.report import outcome_report
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Candidate
from likewatch.catalog.notices import NOTICE_STATES, Notice


def next_states(state: str | None) -> list[str]:
    """The states a takedown in ``state`` (None: not begun) may move to, in track order."""
    allowed = {"drafted", *TRANSITIONS["drafted"]} if state is None else TRANSITIONS[state]
    return [s for s in NOTICE_STATES if s in allowed]


class NoticeTracker:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def _platform(self, alert_id: int) -> str:
        with self.catalog.session() as s:
            alert = s.get(Alert, alert_id)
            cand = s.get(Candidate, alert.candidate_id) if alert is not None else None
        if cand is None:
            raise OutcomeError(f"no alert {alert_id}")
        return cand.platform if cand.platform in PLATFORMS else "generic"

    def _notice(self, alert_id: int) -> NoticeState | None:
        platform = self._platform(alert_id)
        with self.catalog.session() as s:
            ids = list(s.execute(select(Notice.id, Notice.platform)
                                 .where(Notice.alert_id == alert_id).order_by(Notice.id)))
        own = [nid for nid, p in ids if p == platform]
        nid = own[0] if own else (ids[0][0] if ids else None)
        return get_notice(self.catalog, nid) if nid is not None else None

    def state(self, alert_id: int) -> str | None:
        notice = self._notice(alert_id)
        return notice.state if notice else None

    def history(self, alert_id: int) -> list[dict[str, Any]]:
        history: list[dict[str, Any]] = self.takedown(alert_id)["history"]
        return history

    def takedown(self, alert_id: int) -> dict[str, Any]:
        """The alert's takedown at once: its notice number (what ``likewatch outcome``
        takes), state, the states it may move to now, and every step."""
        n = self._notice(alert_id)
        return {"notice": n.notice_no if n else None, "state": n.state if n else None,
                "next": next_states(n.state if n else None),
                "history": [{"state": e.to_state, "by": e.actor, "note": e.note,
                             "link": e.link, "at": e.at.isoformat().replace("+00:00", "Z")}
                            for e in (n.history if n else [])]}

    def start(self, alert_id: int, actor: str, note: str = "") -> None:
        """Record ``drafted`` unless the takedown has already begun."""
        if self._notice(alert_id) is None:
            draft_notice(self.catalog, alert_id, self._platform(alert_id), actor=actor)

    def advance(self, alert_id: int, state: str, actor: str, note: str = "",
                link: str = "") -> str:
        state = ALIASES.get(state, state)
        if state not in NOTICE_STATES:
            raise OutcomeError(f"unknown state {state!r}; use one of {', '.join(NOTICE_STATES)}")
        notice = self._notice(alert_id)
        if notice is None:
            if state not in next_states(None):
                raise OutcomeError(f"a takedown not begun can become "
                                   f"{' or '.join(next_states(None))}, not {state}")
            notice = draft_notice(self.catalog, alert_id, self._platform(alert_id), actor=actor)
            if state == "drafted":
                return notice.state
        return set_state(self.catalog, notice.id, state, actor=actor, note=note,
                         link=link).state

    def stats(self, client_ids: Collection[int] | None) -> list[dict[str, Any]]:
        """Per platform: takedowns begun, filed, each state's count, the success rate and
        the median hours to removal (alerts/notices/report.py says how they are counted)."""
        rows = outcome_report(self.catalog, client_ids=client_ids)["by_platform"]
        return [{"platform": r["group"], "takedowns": r["notices"], "filed": r["filed"],
                 "drafted": r["notices"] - r["filed"], "pending": r["pending"],
                 "removed": r["removed"], "rejected": r["rejected"],
                 "counter_notice": r["counter_notice"], "restored": r["restored"],
                 "success_rate": r["success_rate"],
                 "median_hours_to_removal": r["median_hours_to_removal"]} for r in rows]
