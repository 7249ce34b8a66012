"""The matching policy: when a candidate image counts as a match for a protected person.

Rules (one place, used by the banks, the pipeline, ``likewatch scan`` and backsearch):

- A candidate image matches a person when **any** signal is within its threshold:
  ``distance <= threshold`` (inclusive). The threshold is the signal type's named
  constant (``THRESHOLD``, with the measurement it comes from in its module) or the
  policy's own where it is stricter (``POLICY_THRESHOLDS``), unless the person's
  client overrides it (``ClientThreshold`` rows, ``likewatch set-threshold``).
- The result says which signal, how close, against which threshold and which reference:
  a ``Match`` (``matchers/signals/base.py``). Only the best (smallest) distance per
  (person, signal) per image is kept.
- A person's official accounts (``Person.official_accounts``: platform + uploader) are
  allow-listed: content they post never matches, so it never alerts. Who is an official
  account is decided in ``likewatch/official.py`` (``*`` is any platform; uploaders are
  compared without case or a leading ``@``), the rule alert building applies too.
- Weak signals need a second one. pHash (64 bits) on uniform studio headshots collides:
  in ``likewatch eval`` a 10% crop of one congressman's portrait came within 8 bits of
  another's while no other signal matched. Every reuse pHash finds, PDQ (256 bits) or
  the face finds too, so a ``CORROBORATE`` signal counts only when another signal
  matched the same person in the same image (or frame).

Faces are not decided by one global distance: ``matchers.tiers`` gives every match its
tier (alert or review) and scores faces against a background cohort
(``matchers.calibration``); here the face threshold is the ceiling past which no face
matches (a client's own face threshold lowers it). A person's several references are all
searched, and the distance to the person is the smallest over them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

# The official-account rule is the core's (one rule, one place; alert building uses it too).
from likewatch.official import OfficialAccount, is_official, parse_official_accounts

__all__ = ["CORROBORATE", "POLICY_THRESHOLDS", "Hit", "MatchPolicy", "OfficialAccount",
           "best_hits", "is_official", "parse_official_accounts"]

if TYPE_CHECKING:
    from matchers.signals.base import SignalType


# Signals that never match alone (see the module docstring).
CORROBORATE: frozenset[str] = frozenset({"phash"})

# The policy's own thresholds, applied only where stricter than the signal's constant.
# Empty today. It held face 0.53 while references were single views: ``likewatch eval``
# then put transformed impostors at 0.534 (and, with ``--seed 1``, a re-encoded video
# frame of a look-alike at 0.516) against true matches up to 0.528 - no threshold
# separated them. The face signal now stores a 10-view mean embedding per reference and
# its own FACE_THRESHOLD (0.505) comes from that measurement, so it applies as is.
POLICY_THRESHOLDS: dict[str, float] = {}


@dataclass
class MatchPolicy:
    """Thresholds per signal, with per-client overrides.

    ``defaults``: {signal name: threshold} (each signal type's ``THRESHOLD``, or the
    policy's own in ``POLICY_THRESHOLDS``);
    ``overrides``: {client name: {signal name: threshold}}.
    """

    defaults: dict[str, float]
    overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    corroborate: frozenset[str] = CORROBORATE
    # Signals searched further than their threshold, for evidence that is not a match by
    # itself (face_pdq near a face: ``matchers.tiers``): {signal: radius}.
    evidence: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_signal_types(cls, types: Mapping[str, SignalType],
                          overrides: Mapping[str, Mapping[str, float]] | None = None
                          ) -> MatchPolicy:
        defaults = {name: min(float(t.THRESHOLD), POLICY_THRESHOLDS.get(name, float("inf")))
                    for name, t in types.items()}
        return cls(defaults, {c: dict(v) for c, v in (overrides or {}).items()})

    def threshold(self, client: str, signal: str) -> float:
        """The threshold that applies to ``client``'s persons on ``signal``."""
        return self.overrides.get(client, {}).get(signal, self.defaults[signal])

    def search_radius(self, signal: str) -> float:
        """The largest threshold any client uses for ``signal``: what an index must find."""
        values = [self.defaults[signal], self.evidence.get(signal, 0.0)]
        values += [o[signal] for o in self.overrides.values() if signal in o]
        return max(values)

    def accepts(self, client: str, signal: str, distance: float) -> bool:
        """The rule itself: a distance within the threshold (inclusive) is a match."""
        return distance <= self.threshold(client, signal)

    def corroborated(self, signals: set[str]) -> set[str]:
        """Of the signals that matched one person in one image, those that count."""
        strong = signals - self.corroborate
        return signals if strong else set()


@dataclass(frozen=True)
class Hit:
    """The best distance one reference bank reached on one signal for one image."""

    person: int  # index of the bank in its BankSet
    signal: str
    distance: float
    reference_id: int | None
    variant: str = ""
    # Decided for calibrated signals (face) when found: "alert" or "review", and the
    # largest distance that gets that tier for this person and this face.
    tier: str = ""
    threshold: float | None = None


TIER_RANK = {"alert": 0, "review": 1, "": 2}


def best_hits(hits: Iterable[Hit]) -> list[Hit]:
    """Keep the best hit per (person, signal): the higher tier, then the smaller distance;
    ties keep the lowest reference id."""
    best: dict[tuple[int, str], Hit] = {}
    for h in hits:
        k = (h.person, h.signal)
        cur = best.get(k)
        if cur is None or (TIER_RANK[h.tier], h.distance, h.reference_id or 0) < (
                TIER_RANK[cur.tier], cur.distance, cur.reference_id or 0):
            best[k] = h
    return sorted(best.values(), key=lambda h: (h.person, h.signal))
