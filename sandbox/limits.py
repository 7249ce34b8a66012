"""The sandbox's view of its clients' pace: every request's arrival time, a rate limit
(answered 429 with ``Retry-After``, as platforms do), and 429s ordered in advance.

Tests of politeness read :attr:`Throttle.log` (arrival time, path, status) to check what
the crawlers did together: how many requests arrived in any window, and that none came
while the server had asked for a pause.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

LOG_MAX = 100_000  # arrivals kept (the oldest are dropped)


@dataclass(frozen=True)
class Arrival:
    at: float  # time.time() when the request arrived
    path: str
    status: int  # 0: served normally (the route's own status); 429: refused here
    reason: str = ""  # "rate" or "ordered" for a 429


@dataclass
class Throttle:
    """``rate``: requests per second allowed, a token bucket of ``burst`` (0: no limit);
    ``ordered``: {request number (1 = first): Retry-After seconds} answered 429 whatever
    the pace. Requests answered 429 count like any other (a real limiter counts them)."""

    rate: float = 0.0
    burst: float = 3.0
    retry_after: float = 1.0
    ordered: dict[int, float] = field(default_factory=dict)
    log: deque[Arrival] = field(default_factory=lambda: deque(maxlen=LOG_MAX))

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._last = 0.0
        self._count = 0

    def arrive(self, path: str) -> float | None:
        """Record a request; the Retry-After to answer with, or None to serve it."""
        now = time.time()
        with self._lock:
            self._count += 1
            answer: float | None = self.ordered.get(self._count)
            reason = "ordered" if answer is not None else ""
            if self.rate > 0:
                if self._last:
                    self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                elif answer is None:
                    answer, reason = self.retry_after, "rate"
            self.log.append(Arrival(now, path, 429 if answer is not None else 0, reason))
            return answer

    def arrivals(self) -> list[Arrival]:
        with self._lock:
            return list(self.log)
