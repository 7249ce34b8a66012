"""What became of each notice: states, allowed changes, history, the removal report."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from alerts.notices.outcomes import (
    TRANSITIONS,
    OutcomeError,
    draft_notice,
    get_notice,
    list_notices,
    set_state,
)
from alerts.notices.report import outcome_report
from likewatch.catalog import Catalog
from likewatch.catalog.notices import NOTICE_STATES
from likewatch.cli import main
from tests.alerts.notice_world import make_alert

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


def hours(h: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=h)


def test_a_notice_through_its_life() -> None:
    cat = Catalog.open()
    alert = make_alert(cat, "v1")
    n = draft_notice(cat, alert, "douyin", notice_no="LW-1-douyin", at=hours(-1))
    assert draft_notice(cat, alert, "douyin").id == n.id  # idempotent
    assert (n.state, n.allowed) == ("drafted", ["filed"])
    set_state(cat, n.id, "filed", at=hours(0), actor="alice", reference="TS-118")
    set_state(cat, "LW-1-douyin", "removed", at=hours(5), note="平台已删除")
    set_state(cat, n.id, "counter-notice", at=hours(30))  # either spelling
    set_state(cat, n.id, "restored", at=hours(300))
    final = set_state(cat, n.id, "filed", at=hours(301), note="filed again with a court order")
    assert final.state == "filed" and final.reference == "TS-118"
    assert (final.filed_at, final.removed_at) == (hours(0), hours(5))  # first of each
    assert [(e.from_state, e.to_state) for e in final.history] == [
        (None, "drafted"), ("drafted", "filed"), ("filed", "removed"),
        ("removed", "counter_notice"), ("counter_notice", "restored"), ("restored", "filed")]
    assert final.history[1].actor == "alice" and final.history[2].note == "平台已删除"
    assert get_notice(cat, n.id).history == final.history


def test_forbidden_changes_and_dates() -> None:
    cat = Catalog.open()
    n = draft_notice(cat, make_alert(cat, "v2"), "kuaishou",
                     at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3))
    with pytest.raises(OutcomeError, match="is drafted: it can become filed, not removed"):
        set_state(cat, n.id, "removed")
    with pytest.raises(OutcomeError, match="unknown state 'deleted'"):
        set_state(cat, n.id, "deleted")
    with pytest.raises(OutcomeError, match="in the future"):
        set_state(cat, n.id, "filed", at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    with pytest.raises(OutcomeError, match="time zone"):
        set_state(cat, n.id, "filed", at=dt.datetime(2026, 11, 2, 8))
    set_state(cat, n.id, "filed", at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    with pytest.raises(OutcomeError, match="is before the notice became filed"):
        set_state(cat, n.id, "removed", at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    with pytest.raises(OutcomeError, match="no notice 'LW-nope'"):
        set_state(cat, "LW-nope", "filed")
    assert get_notice(cat, n.id).state == "filed"  # nothing half-done
    assert len(get_notice(cat, n.id).history) == 2
    assert set(TRANSITIONS) == set(NOTICE_STATES)
    assert all(set(v) <= set(NOTICE_STATES) for v in TRANSITIONS.values())


def test_a_client_sees_and_changes_only_its_own_notices() -> None:
    cat = Catalog.open()
    mine = draft_notice(cat, make_alert(cat, "m1", client="studio-a"), "bilibili")
    theirs = draft_notice(cat, make_alert(cat, "t1", client="agency-b"), "bilibili")
    assert [n.id for n in list_notices(cat, client_id=mine.client_id)] == [mine.id]
    with pytest.raises(OutcomeError, match="no notice"):
        set_state(cat, theirs.id, "filed", client_id=mine.client_id)
    with pytest.raises(OutcomeError, match="no notice"):
        get_notice(cat, theirs.notice_no, client_id=mine.client_id)
    assert get_notice(cat, theirs.id).state == "drafted"


def _notice(cat: Catalog, item: str, platform: str, client: str,
            steps: list[tuple[str, float]]) -> None:
    n = draft_notice(cat, make_alert(cat, item, client=client, platform=platform), platform,
                     at=hours(-1))
    for state, h in steps:
        set_state(cat, n.id, state, at=hours(h))


def _world(cat: Catalog) -> None:
    _notice(cat, "d1", "douyin", "studio-a", [("filed", 0), ("removed", 2)])
    _notice(cat, "d2", "douyin", "studio-a", [("filed", 0), ("removed", 4)])
    _notice(cat, "d3", "douyin", "agency-b", [("filed", 1), ("removed", 11), ("restored", 50)])
    _notice(cat, "d4", "douyin", "agency-b", [("filed", 0), ("rejected", 24)])
    _notice(cat, "d5", "douyin", "agency-b", [("filed", 0)])
    _notice(cat, "k1", "kuaishou", "studio-a", [("filed", 0), ("rejected", 3)])
    _notice(cat, "k2", "kuaishou", "studio-a", [])


def test_report_success_rate_and_median_time_to_removal() -> None:
    cat = Catalog.open()
    _world(cat)
    report = outcome_report(cat)
    by_platform = {r["group"]: r for r in report["by_platform"]}
    douyin = by_platform["douyin"]
    assert (douyin["notices"], douyin["filed"], douyin["pending"]) == (5, 5, 1)
    assert (douyin["removed"], douyin["rejected"], douyin["restored"]) == (2, 1, 1)
    assert douyin["success_rate"] == 0.75  # 3 of the 4 answered were taken down
    assert douyin["median_hours_to_removal"] == 4.0  # 2, 4 and 10 hours
    kuaishou = by_platform["kuaishou"]
    assert (kuaishou["notices"], kuaishou["filed"], kuaishou["success_rate"]) == (2, 1, 0.0)
    assert kuaishou["median_hours_to_removal"] is None
    by_client = {r["group"]: r for r in report["by_client"]}
    assert by_client["studio-a"]["success_rate"] == round(2 / 3, 4)
    assert by_client["studio-a"]["median_hours_to_removal"] == 3.0
    assert by_client["agency-b"]["success_rate"] == 0.5
    assert report["overall"]["notices"] == 7 and report["overall"]["filed"] == 6
    only_a = outcome_report(cat, client_ids=[get_notice(cat, 1).client_id])
    assert [r["group"] for r in only_a["by_client"]] == ["studio-a"]


def test_cli_outcome_notices_and_report(capsys: pytest.CaptureFixture[str]) -> None:
    cat = Catalog.open()
    n = draft_notice(cat, make_alert(cat, "c1", client="studio-a"), "tiktok", at=hours(-1))
    assert main(["outcome", n.notice_no, "filed", "--at", "2026-11-02T16:00+08:00",
                 "--reference", "CASE-9", "--by", "bob"]) == 0
    assert main(["outcome", n.notice_no, "removed", "--at", "2026-11-03", "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    shown = json.loads(out[-1])
    assert shown["state"] == "removed" and shown["filed_at"] == "2026-11-02T08:00:00Z"
    assert shown["removed_at"] == "2026-11-03T00:00:00Z" and shown["reference"] == "CASE-9"
    assert shown["next"] == ["counter_notice", "restored"]
    assert main(["outcome", n.notice_no, "rejected"]) == 2
    assert "is removed: it can become counter_notice, restored, not rejected" in \
        capsys.readouterr().err
    assert main(["outcome", n.notice_no]) == 0
    assert "filed -> removed" in capsys.readouterr().out
    assert main(["notices", "--client", "studio-a", "--json"]) == 0
    [listed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed["notice"] == n.notice_no
    assert main(["report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["by_platform"][0]["group"] == "tiktok"
    assert report["by_platform"][0]["median_hours_to_removal"] == 16.0
    assert main(["report"]) == 0
    text = capsys.readouterr().out
    assert "by platform" in text and "tiktok" in text and "100%" in text
    assert main(["report", "--client", "nobody"]) == 2


def test_the_desk_tracker_is_the_same_record() -> None:
    """The review desk's takedown interface (state/history/start/advance/stats) writes the
    notice outcomes that `likewatch outcome` and `likewatch report` read."""
    from alerts.notices.tracker import NoticeTracker

    cat = Catalog.open()
    tracker = NoticeTracker(cat)
    mine = make_alert(cat, "desk1", client="studio-a", platform="kuaishou")
    other = make_alert(cat, "desk2", client="agency-b", platform="douyin")
    assert tracker.state(mine) is None and tracker.history(mine) == []
    tracker.start(mine, "desk:alice")
    tracker.start(mine, "desk:alice")  # once only
    assert tracker.advance(mine, "filed", "desk:alice", note="web form") == "filed"
    assert tracker.advance(mine, "counter_notice", "desk:bob") == "counter_notice"
    assert tracker.advance(mine, "restored", "desk:bob", link="lw_reupload") == "restored"
    with pytest.raises(ValueError, match="is restored: it can become filed, not removed"):
        tracker.advance(mine, "removed", "desk:bob")
    assert tracker.advance(other, "filed", "desk:carol") == "filed"  # drafted on the way
    assert [h["state"] for h in tracker.history(mine)] == [
        "drafted", "filed", "counter_notice", "restored"]
    assert tracker.history(mine)[-1]["link"] == "lw_reupload"
    [notice] = list_notices(cat, platform="kuaishou")
    assert notice.state == "restored" and notice.alert_id == mine
    assert get_notice(cat, notice.id).history[1].note == "web form"
    stats = tracker.stats([notice.client_id])
    assert [s["platform"] for s in stats] == ["kuaishou"]
    assert (stats[0]["takedowns"], stats[0]["restored"], stats[0]["success_rate"]) == (1, 1, 0.0)
    both = {s["platform"]: s for s in tracker.stats(None)}
    assert both["douyin"]["pending"] == 1 and both["douyin"]["success_rate"] is None
    with pytest.raises(ValueError, match="no alert 999"):
        tracker.state(999)


def test_the_desk_tracks_the_notice_to_the_alerts_own_platform_first() -> None:
    """An alert noticed to another platform only is tracked through that notice; once it has
    one to its own platform, that one is its takedown. The steps allowed are outcomes'."""
    from alerts.notices.tracker import NoticeTracker, next_states

    cat = Catalog.open()
    tracker = NoticeTracker(cat)
    alert = make_alert(cat, "elsewhere", platform="kuaishou")
    assert tracker.takedown(alert) == {"notice": None, "state": None,
                                       "next": ["drafted", "filed"], "history": []}
    other = draft_notice(cat, alert, "douyin", actor="cli")
    assert tracker.takedown(alert)["notice"] == other.notice_no
    own = draft_notice(cat, alert, "kuaishou")
    assert tracker.advance(alert, "filed", "desk:alice") == "filed"
    assert tracker.takedown(alert)["notice"] == own.notice_no
    assert get_notice(cat, other.id).state == "drafted"
    for state in NOTICE_STATES:
        assert set(next_states(state)) == TRANSITIONS[state]
