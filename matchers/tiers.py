"""Which matches alert and which wait for review: the tier of every match.

- ``pdq`` and ``face_pdq`` within their thresholds: the enrolled picture, or its face,
  reused: **alert** (exact reuse always alerts).
- ``face``: decided by ``matchers.calibration`` from the distance and the cohort statistics
  of the person and of the candidate face: **alert** for the same photograph or a score
  strangers do not reach; **review** for a score, or a distance, that strangers reach
  rarely (4 in 10,000 pairs); nothing past the ceiling or the client's own face threshold.
- Agreement: a face within the ceiling whose aligned crop is also within
  ``FACE_PDQ_AGREE`` bits (``face_pdq``) of the same person's reference crop: **alert**.
  That is a face swap made from an enrolled photo (its eyes, nose and mouth are the
  photo's pixels), which the embedding alone may place among look-alikes.
- ``phash`` only corroborates (``matchers.match``): it takes the best tier of the other
  signals that matched the same person in the same image.

Only alert-tier matches become alerts pushed to subscribers (``alerts/build.py``);
review-tier matches are recorded (``MatchRow.tier``) for the review desk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from matchers.calibration import F32, FaceCalibration, Side
from matchers.match import Hit, MatchPolicy
from matchers.signals.base import Match, SignalType

if TYPE_CHECKING:
    from matchers.banks import ReferenceBank

# Measured on the cohort (../shared/data/faces-cohort, 159,600 ordered pairs: a
# stranger's aligned crop against a person's reference crops, mirrored ones included):
# no pair below 62 bits; of the 2,686 pairs whose faces are within 0.62, none below 68.
# Face swaps made from an enrolled photo onto cohort heads (240, ``likewatch eval``'s
# method with masks of 1.0 and 1.15 face boxes): median 40-55 bits, 80-95% at or under 64.
FACE_PDQ_AGREE = 64
FACE = "face"
FACE_PDQ = "face_pdq"


def tiered_policy(types: Mapping[str, SignalType],
                  overrides: Mapping[str, Mapping[str, float]] | None = None,
                  calibration: FaceCalibration | None = None) -> MatchPolicy:
    """The policy with the face threshold as the calibrated ceiling (a client's own face
    threshold then lowers it) and face_pdq searched as far as ``FACE_PDQ_AGREE``."""
    policy = MatchPolicy.from_signal_types(types, overrides)
    if FACE in types and calibration is not None:
        policy.defaults[FACE] = calibration.thresholds.ceiling
    if FACE_PDQ in types and FACE in types:
        policy.evidence[FACE_PDQ] = float(FACE_PDQ_AGREE)
    return policy


def face_references(banks: Sequence[ReferenceBank], face: SignalType) -> list[F32]:
    """Each bank's face reference embeddings, ``(r, dims)`` (``(0, dims)``: none)."""
    return [np.stack([face.to_array(v) for r in b.references
                      for v in r.signals.get(FACE, [])]).astype(np.float32)
            if any(r.signals.get(FACE) for r in b.references)
            else np.zeros((0, face.dims), np.float32) for b in banks]


def person_sides(banks: Sequence[ReferenceBank], types: Mapping[str, SignalType],
                 calibration: FaceCalibration) -> list[Side]:
    """The cohort statistics of every bank's face references."""
    return calibration.person_sides(face_references(banks, types[FACE]))


_ROSTER: dict[str, FaceCalibration] = {}


def roster_calibration(key: str, roster: Callable[[], Sequence[ReferenceBank]],
                       face: SignalType) -> FaceCalibration:
    """The calibration of the whole roster (every person of the catalog, ``roster()``): its
    review operating point set by ``FaceCalibration.for_roster``, as the eval measures it.
    Computed once per ``key`` (the catalog and its bank generation: a second or so for
    hundreds of persons); ``roster`` is called only then."""
    calibration = _ROSTER.get(key)
    if calibration is None:
        banks = roster()  # building the whole roster for a subset caches its calibration
        calibration = _ROSTER.get(key) or FaceCalibration.for_roster(
            face_references(banks, face))
        _ROSTER.clear()
        _ROSTER[key] = calibration
    return calibration


def tier_face_hits(calibration: FaceCalibration, sides: Sequence[Side], policy: MatchPolicy,
                   banks: Sequence[ReferenceBank], face: SignalType, values: Sequence[str],
                   found: Sequence[list[Hit]]) -> list[list[Hit]]:
    """Each face hit with its tier and threshold; hits no tier takes are dropped.
    ``found[i]`` are the hits of face value ``values[i]``."""
    if not values:
        return []
    probes = calibration.probe_sides(np.stack([face.to_array(v) for v in values]))
    out = []
    for probe, hits in zip(probes, found, strict=True):
        kept = []
        for h in hits:
            ceiling = policy.threshold(banks[h.person].client, FACE)
            decided = calibration.decide(h.distance, sides[h.person], probe, ceiling)
            if decided is not None:
                kept.append(replace(h, tier=decided[0], threshold=decided[1]))
        out.append(kept)
    return out


def decide(hits: Sequence[Hit], banks: Sequence[ReferenceBank], policy: MatchPolicy, *,
           platform: str, uploader: str, uploader_id: str, frame: str) -> list[Match]:
    """The matches of one image from its best hits per (person, signal)."""
    by_person: dict[int, dict[str, Hit]] = {}
    for h in hits:
        bank = banks[h.person]
        if h.signal == FACE:
            ok = bool(h.tier)
        else:
            ok = policy.accepts(bank.client, h.signal, h.distance)
        agree = h.signal == FACE_PDQ and h.distance <= policy.evidence.get(FACE_PDQ, -1.0)
        if ok or agree:
            by_person.setdefault(h.person, {})[h.signal] = h
    out: list[Match] = []
    for person, found in sorted(by_person.items()):
        bank = banks[person]
        if bank.is_official(platform, uploader, uploader_id):
            continue
        tiers: dict[str, tuple[str, float]] = {}
        for sig, h in found.items():
            if sig == FACE:
                tiers[sig] = (h.tier, float(h.threshold or 0.0))
            elif policy.accepts(bank.client, sig, h.distance):
                tiers[sig] = ("alert", policy.threshold(bank.client, sig))
        agreed = FACE in tiers and FACE_PDQ in found
        if agreed and tiers[FACE][0] == "review":
            tiers[FACE] = ("alert", tiers[FACE][1])
        counted = policy.corroborated(set(tiers))
        strong = [t for s, (t, _) in tiers.items() if s in counted and s not in policy.corroborate]
        best = "alert" if "alert" in strong else "review"
        for sig in sorted(counted):
            h = found[sig]
            tier, threshold = tiers[sig]
            extra = {"client": bank.client}
            if bank.person_id is not None:
                extra["person_id"] = str(bank.person_id)
            if h.variant:
                extra["variant"] = h.variant
            if sig == FACE and agreed:
                extra["agreement"] = f"face_pdq {found[FACE_PDQ].distance:g}"
            out.append(Match(bank.key, sig, h.distance, threshold, h.reference_id, frame,
                             extra, tier=best if sig in policy.corroborate else tier))
    return out
