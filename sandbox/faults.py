"""Deliberate misbehaviour of the sandbox, deterministic for a seed.

Transient faults (429 with ``Retry-After: 1``, 500, slow responses) are decided from
(seed, request target, attempt number), where the attempt number counts the requests
for that exact target (path and query) since the server started; a target never fails
more than twice in a row, so a client that retries gets through. Permanent faults
(broken thumbnail bytes, truncated MP4, malformed JSON state) are fixed per item for a
seed and rate.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, fields

MAX_FAILURES_IN_A_ROW = 2


@dataclass(frozen=True)
class FaultConfig:
    """Rates (0..1) of each kind of misbehaviour. The defaults are small but nonzero."""

    rate_429: float = 0.03
    rate_500: float = 0.03
    rate_slow: float = 0.02
    slow_seconds: float = 1.5
    rate_broken_thumbnail: float = 0.02
    rate_truncated_video: float = 0.05
    rate_malformed_state: float = 0.02
    # Detail pages answered 200 with a "security check" page instead of the video (how
    # platforms challenge a crawler without an error status). Off unless asked for.
    rate_challenge: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "slow_seconds":
                if value < 0:
                    raise ValueError("slow_seconds must be >= 0")
            elif not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} must be within 0..1, got {value}")

    @classmethod
    def none(cls) -> FaultConfig:
        """No misbehaviour at all."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def unit(seed: int, *parts: object) -> float:
    """A deterministic number in [0, 1) from the seed and the parts."""
    text = "\x1f".join([str(seed), *map(str, parts)]).encode("utf-8")
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") / 2**64


class FaultPlan:
    """Decides, request by request, which fault (if any) the server commits."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.config = config
        self.seed = seed
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self._streak: dict[str, int] = {}
        self.counts: dict[str, int] = {"429": 0, "500": 0, "slow": 0}

    def transient(self, target: str) -> tuple[str | None, float]:
        """(``"429"``, ``"500"`` or None, seconds to delay) for this request of `target`."""
        with self._lock:
            attempt = self._attempts.get(target, 0)
            self._attempts[target] = attempt + 1
            fault: str | None = None
            if self._streak.get(target, 0) < MAX_FAILURES_IN_A_ROW:
                u = unit(self.seed, "transient", target, attempt)
                if u < self.config.rate_429:
                    fault = "429"
                elif u < self.config.rate_429 + self.config.rate_500:
                    fault = "500"
            self._streak[target] = self._streak.get(target, 0) + 1 if fault else 0
            delay = 0.0
            if fault is None and unit(self.seed, "slow", target, attempt) < self.config.rate_slow:
                delay = self.config.slow_seconds
                self.counts["slow"] += 1
            if fault:
                self.counts[fault] += 1
            return fault, delay

    def broken_thumbnail(self, item_id: str) -> bool:
        """Whether this item's thumbnail is served as broken JPEG bytes."""
        return unit(self.seed, "thumb", item_id) < self.config.rate_broken_thumbnail

    def truncated_video(self, item_id: str) -> bool:
        """Whether this item's video is served truncated (no index: undecodable)."""
        return unit(self.seed, "video", item_id) < self.config.rate_truncated_video

    def malformed_state(self, item_id: str) -> bool:
        """Whether this item's detail page carries malformed `__NEXT_DATA__` JSON."""
        return unit(self.seed, "state", item_id) < self.config.rate_malformed_state

    def challenged(self, item_id: str, attempt: int) -> bool:
        """Whether request number ``attempt`` (0, 1 ...) of the item's detail page gets a
        200 verify page."""
        return unit(self.seed, "challenge", item_id, attempt) < self.config.rate_challenge

    def challenge(self, item_id: str) -> bool:
        """``challenged`` for this request of the item's detail page (counted here)."""
        key = "challenge:" + item_id  # apart from transient()'s targets, which are paths
        with self._lock:
            attempt = self._attempts.get(key, 0)
            self._attempts[key] = attempt + 1
        return self.challenged(item_id, attempt)
