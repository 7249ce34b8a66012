"""Takedown tracking per alert: drafted -> filed -> removed / rejected / counter-notice ->
restored, with re-uploads linked back to the alert they re-upload.

The desk uses the small interface :class:`TakedownTracker`; :class:`CatalogTracker` keeps
the steps in the ``takedown_events`` table. MERGE NOTE: notice outcomes are also being
added to ``alerts/notices`` (issue #19, ``likewatch report``); when that lands, an adapter
over it replaces :class:`CatalogTracker` in :func:`tracker` and the pages stay as they are.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Candidate
from likewatch.catalog.review import TakedownEvent

STATES = ("drafted", "filed", "removed", "rejected", "counter_notice", "restored")
#: state -> the states it may move to
TRANSITIONS: dict[str | None, tuple[str, ...]] = {
    None: ("drafted", "filed"),
    "drafted": ("filed",),
    "filed": ("removed", "rejected", "counter_notice"),
    "rejected": ("filed",),
    "counter_notice": ("restored", "removed"),
    "removed": ("counter_notice",),
    "restored": ("filed",),
}
LABELS = {"drafted": "drafted", "filed": "filed", "removed": "removed",
          "rejected": "rejected", "counter_notice": "counter-notice", "restored": "restored"}


class TransitionError(ValueError):
    """A step the current state does not allow."""


class TakedownTracker(Protocol):
    def state(self, alert_id: int) -> str | None: ...
    def history(self, alert_id: int) -> list[dict[str, Any]]: ...
    def start(self, alert_id: int, actor: str, note: str = "") -> None: ...
    def advance(self, alert_id: int, state: str, actor: str, note: str = "",
                link: str = "") -> str: ...
    def stats(self, client_ids: Collection[int] | None) -> list[dict[str, Any]]: ...


class CatalogTracker:
    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

    def _events(self, s: Any, alert_id: int) -> list[TakedownEvent]:
        return list(s.scalars(select(TakedownEvent).where(TakedownEvent.alert_id == alert_id)
                              .order_by(TakedownEvent.id)))

    def state(self, alert_id: int) -> str | None:
        with self.cat.session() as s:
            events = self._events(s, alert_id)
            return events[-1].state if events else None

    def history(self, alert_id: int) -> list[dict[str, Any]]:
        with self.cat.session() as s:
            return [{"state": e.state, "by": e.actor, "note": e.note, "link": e.link,
                     "at": e.at.isoformat().replace("+00:00", "Z")}
                    for e in self._events(s, alert_id)]

    def start(self, alert_id: int, actor: str, note: str = "") -> None:
        """Record ``drafted`` unless the takedown has already begun."""
        if self.state(alert_id) is None:
            self.advance(alert_id, "drafted", actor, note)

    def advance(self, alert_id: int, state: str, actor: str, note: str = "",
                link: str = "") -> str:
        if state not in STATES:
            raise TransitionError(f"unknown takedown state {state!r}; one of {', '.join(STATES)}")
        with self.cat.session() as s:
            events = self._events(s, alert_id)
            current = events[-1].state if events else None
            if state not in TRANSITIONS[current]:
                allowed = ", ".join(TRANSITIONS[current]) or "nothing"
                raise TransitionError(f"a takedown {LABELS.get(current or '', 'not begun')} "
                                      f"can go to {allowed}, not {state}")
            s.add(TakedownEvent(alert_id=alert_id, state=state, actor=actor, note=note,
                                link=link))
        return state

    def stats(self, client_ids: Collection[int] | None) -> list[dict[str, Any]]:
        """Per platform: takedowns begun, filed, removed (and still down), rejected,
        restored, and the success rate (removed / settled ones)."""
        per: dict[str, dict[str, Any]] = {}
        with self.cat.session() as s:
            q = (select(TakedownEvent.alert_id, TakedownEvent.state, Candidate.platform)
                 .join(Alert, Alert.id == TakedownEvent.alert_id)
                 .join(Candidate, Candidate.id == Alert.candidate_id)
                 .order_by(TakedownEvent.id))
            if client_ids is not None:
                q = q.where(Alert.client_id.in_(list(client_ids)))
            last: dict[int, tuple[str, str]] = {}
            filed: set[int] = set()
            for alert_id, state, platform in s.execute(q):
                last[alert_id] = (state, platform)
                if state == "filed":
                    filed.add(alert_id)
        for alert_id, (state, platform) in last.items():
            row = per.setdefault(platform, {"platform": platform, "takedowns": 0, "filed": 0,
                                            **{k: 0 for k in STATES}})
            row["takedowns"] += 1
            row["filed"] += alert_id in filed
            row[state] += 1
        for row in per.values():
            settled = row["removed"] + row["rejected"] + row["restored"]
            row["success_rate"] = round(row["removed"] / settled, 3) if settled else None
        return sorted(per.values(), key=lambda r: r["platform"])


def tracker(cat: Catalog) -> TakedownTracker:
    return CatalogTracker(cat)
