"""Schedule windows (scheduler/watches.py): a watch's crontab expression adds crawls in the
hours re-uploads cluster, read in its time zone, on top of its plain interval."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts import registry
from alerts.registry import RegistryError
from likewatch.catalog import Catalog
from likewatch.work.clock import ManualClock
from scheduler import watches

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _ts(hour: int, minute: int, day: int = 5) -> float:
    """A time in Beijing (UTC+8), as epoch seconds."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).timestamp()


def test_a_window_crawls_every_ten_minutes_after_midnight_beijing_and_hourly_otherwise():
    cat = Catalog.open()
    registry.add_client(cat, "acme")
    clock = ManualClock()
    clock.t = _ts(23, 0, day=4)
    wid = watches.add_watch(cat, "acme", "sandbox", "http://127.0.0.1:9/browse", every=3600,
                            cron="*/10 0-5 * * *", cron_tz="Asia/Shanghai", clock=clock)
    runs = []
    while clock.t < _ts(8, 0):  # a night, minute by minute
        if watches.schedule_due(cat, clock=clock):
            runs.append(dt.datetime.fromtimestamp(clock.t, SHANGHAI).strftime("%H:%M"))
        clock.t += 60
    hourly_at_night = [r for r in runs if r < "06:00" and not r.startswith("23")]
    assert runs[:2] == ["23:00", "00:00"]
    assert len(hourly_at_night) == 36  # 00:00 .. 05:50, every ten minutes
    assert all(r.endswith("0") for r in hourly_at_night)
    # From six o'clock the plain interval is back: an hour after the last window slot.
    assert runs[36 + 1:] == ["06:50", "07:50"]
    assert watches.list_watches(cat, clock=clock)[0]["cron"] == "*/10 0-5 * * *"
    assert wid == watches.list_watches(cat, clock=clock)[0]["id"]


def test_without_a_window_the_interval_alone_counts():
    assert watches.next_slot(100.0, 60.0, 100.0) == 160.0
    assert watches.next_slot(100.0, 60.0, 500.0) == 560.0  # behind: counted from now
    t = _ts(2, 3)
    assert watches.next_slot(t, 3600.0, t, "*/10 0-5 * * *", "Asia/Shanghai") == _ts(2, 10)
    assert watches.next_slot(t, 300.0, t, "0 0-5 * * *", "Asia/Shanghai") == t + 300.0


@pytest.mark.parametrize("cron,tz", [("every night", "UTC"), ("61 * * * *", "UTC"),
                                     ("* * * * *", "Mars/Olympus")])
def test_a_bad_window_is_refused_when_the_watch_is_added(cron, tz):
    cat = Catalog.open()
    registry.add_client(cat, "acme")
    with pytest.raises(RegistryError, match="bad schedule window"):
        watches.add_watch(cat, "acme", "sandbox", "http://127.0.0.1:9/", every=60, cron=cron,
                          cron_tz=tz)
    assert watches.list_watches(cat) == []
