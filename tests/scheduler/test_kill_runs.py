"""kill -9 of the daemon while it crawls, matches and delivers, 20 times; then nothing is
lost, nothing arrives under two ids, a receiver that was down gets its alerts later."""

from __future__ import annotations

import pytest

from demo import chaos


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_twenty_kills_lose_nothing_and_never_change_an_alert_id(sandbox_data, capsys):
    report = chaos.run(20, sandbox_data, rng_seed=20)
    with capsys.disabled():
        print("\nkill runs:", report.summary())
    assert report.kills == 20
    # Kills landed in each phase (the harness waits for each phase to be under way).
    assert report.phases["crawl"] >= 3 and report.phases["match"] >= 3
    assert report.phases["deliver"] >= 3
    assert report.alerts > 0 and report.delivered == report.alerts
    assert report.lost == [] and report.multi_id == [] and report.unknown_ids == []
    assert report.unverified == 0 and report.dead == 0
    assert report.not_crawled == [] and report.pending_left == 0
    assert report.matches_without_alert == 0
    assert report.ok
