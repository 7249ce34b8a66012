"""The work layer's one clock: float Unix seconds (UTC), read through a :class:`Clock`.

Every time the work layer stores or compares (when a job or a delivery is due, until when a
lease holds, when an outbox row was created, when a platform's backoff ends) is a float of
seconds since the Unix epoch, read from one ``Clock``. Floats, because the claim statements
compare them in plain SQL on SQLite and PostgreSQL alike, and because every work table
(``work_queue``, ``alert_outbox``, ``alert_deliveries``, ``watches``, ``platform_health``)
has always stored them so: existing catalogs keep working, no column changes type, no row
is rewritten.

Facts shown to people (when an alert was raised or updated, when content was found) stay
UTC datetimes in the catalog (``UTCDateTime`` columns). They are stamped from the same
clock reading through :func:`as_datetime`, so an alert and its outbox rows carry one
instant, and a test that moves a :class:`ManualClock` moves both.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Where the work layer reads the time."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    """The real time (``time.time()``)."""

    def now(self) -> float:
        return time.time()


@dataclass
class ManualClock:
    """A clock that moves only when told to: tests step through leases and backoffs with it."""

    t: float = 1_800_000_000.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


SYSTEM: Clock = SystemClock()


def as_datetime(t: float) -> dt.datetime:
    """A clock reading as an aware UTC datetime (for ``UTCDateTime`` columns and payloads)."""
    return dt.datetime.fromtimestamp(t, dt.UTC)


def as_seconds(value: dt.datetime) -> float:
    """An aware datetime as a clock reading."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: the work layer's times are UTC-aware")
    return value.timestamp()
