"""Face scores calibrated against a background cohort, and the two tiers they decide.

A raw embedding distance means different things for different people: a person with a
common face has strangers close by (in the cohort, 5% of people have a stranger within
0.48; the issue-13 measurement found three look-alikes of one enrolled person at
0.477-0.503), a person with a rare face has none within 0.6. So a face's distance ``d``
to a person is scored against strangers on both sides (adaptive symmetric normalisation,
"AS-norm"):

    s = ((mu_P - d) / sd_P + (mu_q - d) / sd_q) / 2

``mu_P, sd_P``: mean and spread of the closest ``TOP_FRACTION`` of the cohort to the
person (each stranger's distance to the nearest of the person's references, as matching
measures it); ``mu_q, sd_q``: the same for the candidate face against the cohort's
references. ``s`` counts how far below the strangers each side usually meets this face
sits, in their own spread. The cohort is ``matchers.cohort`` (400 portraits).

Tiers (``FaceThresholds``): a face alerts when it is the same photograph (``exact``), or
``s >= alert_score``; it waits for a person's review when ``s >= review_score`` or
``d <= review_distance``; never beyond ``ceiling`` (nor a client's own face threshold).
``distance_at`` turns a score into the distance that reaches it for one person and one
face, so every match still reports ``distance <= threshold``.

The thresholds are chosen on strangers only (``fit_thresholds``: every ordered pair of
the cohort, each pair scored with statistics that leave both of its people out, as a
stranger is not in the cohort): never on the people they are meant to find, so they
cannot be tuned to them. ``likewatch eval`` fits them on part of the cohort and reports on
the rest (``matchers/eval.py``); docs/matching.md gives the figures.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matchers.cohort import load_cohort

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

# The share of the cohort (closest first) whose distances make the statistics: 67 of 400.
# Measured on held-out halves of the cohort against face swaps and second photos of the
# repository's people: 1/8 to 1/4 of the cohort scored best at low false-match rates; all
# of it (plain S-norm) or 1/40 scored worse than the raw distance.
TOP_FRACTION = 1 / 6
# Per-pair false-match rates the tiers are fitted to. Alert: none is acceptable (27
# enrolled people x 240 strangers is 6,500 pairs: at 3e-6, 2% odds of one). A rate that
# small is past the cohort's 159,600 pairs, so it is extrapolated from the tail: the
# scores' quantiles at 1e-3 and 1e-4 (160 and 16 pairs), log-linearly (on the committed
# cohort this predicts 6.48 at 1e-5, where the 2nd-highest of the 159,600 pairs is 6.47).
# Review: at most 2% of unrelated files may wait for a person (4e-4 x 27 people = 1.1%).
ALERT_FAR = 3e-6
REVIEW_FAR = 4e-4
# Of the review budget, the share spent on the raw distance (the rest on the score): the
# raw distance alone catches second photos the score misses for people with common faces.
REVIEW_RAW_SHARE = 0.6
# ``likewatch eval`` sets the review tier for its roster (``fit_for_roster``): at most this
# share of unrelated faces may wait for review with a wrong person (the budget is 2%; the
# cohort's own faces stand for the unrelated ones, so keep a margin).
REVIEW_FILE_TARGET = 0.0125


@dataclass(frozen=True)
class FaceThresholds:
    """The face decision (see the module docstring). ``fit_thresholds`` computes them."""

    exact: float  # d <= exact: the enrolled photograph itself (always alerts)
    alert_score: float
    review_score: float
    review_distance: float
    ceiling: float  # never a face match beyond this distance


# Fitted by ``fit_thresholds`` on the committed cohort (400 people, 159,600 ordered pairs,
# TOP_FRACTION 1/6); ``tests/matchers/test_calibration.py`` checks they are what it gives.
# ``exact``: transformed copies of one photo sit at <= 0.25 from it (docs/matching.md), no
# two people of the cohort closer than 0.42. ``ceiling``: 1.5% of stranger pairs are within
# 0.62; past it even the score's review tier would let too many through.
FACE_THRESHOLDS = FaceThresholds(exact=0.30, alert_score=7.42, review_score=4.25,
                                 review_distance=0.483, ceiling=0.62)


def _top_stats(dist: F32, k: int) -> tuple[F32, F32]:
    """Mean and spread of the ``k`` smallest of each row."""
    part = np.partition(dist, k - 1, axis=1)[:, :k] if k < dist.shape[1] else dist
    return part.mean(axis=1).astype(np.float32), part.std(axis=1).astype(np.float32) + 1e-6


def _dist(a: F32, b: F32) -> F32:
    """Euclidean distances between the rows of ``a`` and of ``b`` (one matrix product)."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    out: F32 = np.sqrt(np.maximum(sq, 0.0)).astype(np.float32)
    return out


@dataclass(frozen=True)
class Side:
    """The statistics of one side of a comparison: a person, or a candidate face."""

    mu: float
    sd: float


class FaceCalibration:
    """The cohort, the statistics it gives each side, and the tier of a distance."""

    def __init__(self, probes: F32, references: F32,
                 thresholds: FaceThresholds = FACE_THRESHOLDS,
                 top_fraction: float = TOP_FRACTION) -> None:
        self.probes = np.ascontiguousarray(probes, dtype=np.float32)
        self.references = np.ascontiguousarray(references, dtype=np.float32)
        self.thresholds = thresholds
        self.k = max(2, round(len(self.probes) * top_fraction))

    @classmethod
    @functools.cache
    def default(cls) -> FaceCalibration:
        """The committed cohort with the committed thresholds."""
        probes, refs = load_cohort()
        return cls(probes, refs)

    @classmethod
    def for_roster(cls, persons: list[F32]) -> FaceCalibration:
        """The committed cohort with the review tier's operating point set for this roster
        (``fit_for_roster``: the face references of every enrolled person, ``(r, 128)``
        each), as ``likewatch eval`` measures it; the alert tier is the committed one."""
        base = cls.default()
        faces = [np.asarray(p, np.float32) for p in persons if len(p)]
        if not faces:
            return base
        return cls(base.probes, base.references,
                   fit_for_roster(base.probes, base.references, faces))

    def person_sides(self, refs: list[F32], chunk: int = 4096) -> list[Side]:
        """One Side per person, from that person's reference embeddings (``(r, 128)`` each):
        each stranger counts at its distance to the nearest reference."""
        out: list[Side] = []
        for start in range(0, len(refs), chunk):
            group = refs[start:start + chunk]
            sizes = [len(r) for r in group]
            if not sum(sizes):
                out += [Side(float("nan"), float("nan"))] * len(group)
                continue
            d = _dist(np.concatenate([r for r in group if len(r)]).astype(np.float32),
                      self.probes)
            at = 0
            nearest = []
            for n in sizes:
                if n:
                    nearest.append(d[at:at + n].min(axis=0))
                    at += n
            mu, sd = _top_stats(np.stack(nearest), self.k)
            it = iter(zip(mu.tolist(), sd.tolist(), strict=True))
            for n in sizes:
                out.append(Side(*next(it)) if n else Side(float("nan"), float("nan")))
        return out

    def probe_sides(self, faces: F32) -> list[Side]:
        """One Side per candidate face embedding (rows of ``faces``)."""
        if not len(faces):
            return []
        mu, sd = _top_stats(_dist(np.asarray(faces, np.float32), self.references), self.k)
        return [Side(m, s) for m, s in zip(mu.tolist(), sd.tolist(), strict=True)]

    @staticmethod
    def score(d: float, person: Side, probe: Side) -> float:
        return 0.5 * ((person.mu - d) / person.sd + (probe.mu - d) / probe.sd)

    @staticmethod
    def distance_at(score: float, person: Side, probe: Side) -> float:
        """The distance whose score is ``score`` for this person and face."""
        a, b = 1.0 / person.sd, 1.0 / probe.sd
        return (person.mu * a + probe.mu * b - 2.0 * score) / (a + b)

    def decide(self, d: float, person: Side, probe: Side,
               ceiling: float | None = None) -> tuple[str, float] | None:
        """``(tier, threshold)`` for a face at distance ``d``, or None: no match.

        ``threshold`` is the largest distance that gets this tier for this person and face
        (so ``d <= threshold``); ``ceiling`` a client's own face threshold, if stricter.
        """
        t = self.thresholds
        top = t.ceiling if ceiling is None else min(t.ceiling, ceiling)
        if d > top or np.isnan(person.mu):
            return None
        alert = min(top, max(t.exact, self.distance_at(t.alert_score, person, probe)))
        if d <= alert:
            return "alert", alert
        review = min(top, max(t.review_distance,
                              self.distance_at(t.review_score, person, probe)))
        if d <= review:
            return "review", review
        return None


def pair_scores(probes: F32, references: F32, top_fraction: float = TOP_FRACTION
                ) -> tuple[F64, F64]:
    """(distances, scores) of every ordered pair (person i's reference, stranger j's
    probe) of a cohort, i != j, each scored with statistics of the cohort minus i and j."""
    n = len(probes)
    k = max(2, round((n - 2) * top_fraction))
    d_pp = _dist(references, probes).astype(np.float64)  # person side: ref i vs probe j
    d_qq = _dist(probes, references).astype(np.float64)  # probe side: probe j vs ref i

    def left_out_stats(d: F64) -> tuple[F64, F64]:
        """Row r's top-k stats leaving out columns r and c, for every (r, c)."""
        order = np.argsort(d, axis=1)[:, :k + 2]
        vals = np.take_along_axis(d, order, axis=1)
        rows = np.arange(n)
        mus = np.empty((n, n))
        sds = np.empty((n, n))
        for c in range(n):
            keep = (order != rows[:, None]) & (order != c)
            rank = np.cumsum(keep, axis=1)
            use = keep & (rank <= k)
            v = np.where(use, vals, 0.0)
            mus[:, c] = v.sum(1) / k
            sds[:, c] = np.sqrt(np.maximum((v * v).sum(1) / k - mus[:, c] ** 2, 0)) + 1e-6
        return mus, sds

    mu_p, sd_p = left_out_stats(d_pp)  # [i, j]
    mu_q, sd_q = left_out_stats(d_qq)  # [j, i]
    dist = d_pp
    score = 0.5 * ((mu_p - dist) / sd_p + (mu_q.T - dist) / sd_q.T)
    off = ~np.eye(n, dtype=bool)
    return dist[off], score[off]


def fit_thresholds(probes: F32, references: F32, *, alert_far: float = ALERT_FAR,
                   review_far: float = REVIEW_FAR, raw_share: float = REVIEW_RAW_SHARE,
                   top_fraction: float = TOP_FRACTION,
                   pairs: tuple[F64, F64] | None = None) -> FaceThresholds:
    """Thresholds whose false-match rate on the cohort's stranger pairs is the target
    (``pairs``: ``pair_scores`` of the same cohort, when already computed)."""
    dist, score = pairs if pairs is not None else pair_scores(probes, references, top_fraction)
    base = FACE_THRESHOLDS
    q3, q4 = (float(np.quantile(score, 1.0 - q)) for q in (1e-3, 1e-4))
    alert = q4 + (q4 - q3) * float(np.log10(1e-4 / alert_far))
    review_distance = float(np.quantile(dist, review_far * raw_share))
    rest = score[dist > review_distance]
    allowed = max(0, int(review_far * dist.size) - int((dist <= review_distance).sum()))
    review_score = float(np.sort(rest)[::-1][min(allowed, len(rest) - 1)])
    return FaceThresholds(exact=base.exact, alert_score=round(alert, 2),
                          review_score=round(max(review_score, 0.0), 2),
                          review_distance=round(review_distance, 3), ceiling=base.ceiling)


def roster_scores(probes: F32, references: F32, persons: list[F32],
                  top_fraction: float = TOP_FRACTION) -> tuple[F64, F64]:
    """(distances, scores), each ``(n, P)``: every cohort member as an unrelated face (its
    probe) against each enrolled person (the nearest of ``persons[p]``, ``(r, 128)`` each),
    with the member left out of both sides' statistics, as a stranger is not in the cohort."""
    n = len(probes)
    k = max(2, round((n - 1) * top_fraction))
    d_q = _dist(probes, references).astype(np.float64)
    np.fill_diagonal(d_q, np.inf)  # the member's own reference
    part = np.sort(np.partition(d_q, k - 1, axis=1)[:, :k], axis=1)
    mu_q, sd_q = part.mean(1), part.std(1) + 1e-6
    d_p = np.stack([_dist(r.astype(np.float32), probes).min(0) for r in persons]
                   ).astype(np.float64)  # (P, n)
    order = np.argsort(d_p, axis=1)[:, :k + 1]
    vals = np.take_along_axis(d_p, order, axis=1)
    mu_p = np.empty_like(d_p)
    sd_p = np.empty_like(d_p)
    for j in range(n):
        keep = order != j
        use = keep & (np.cumsum(keep, axis=1) <= k)
        v = np.where(use, vals, 0.0)
        mu_p[:, j] = v.sum(1) / k
        sd_p[:, j] = np.sqrt(np.maximum((v * v).sum(1) / k - mu_p[:, j] ** 2, 0)) + 1e-6
    dist = d_p.T
    score = 0.5 * ((mu_p.T - dist) / sd_p.T + (mu_q[:, None] - dist) / sd_q[:, None])
    return dist, score


def roster_review_rate(thresholds: FaceThresholds, dist: F64, score: F64) -> float:
    """The share of the unrelated faces (rows of ``roster_scores``) that some person of the
    roster would match at either tier under ``thresholds``."""
    hit = (dist <= thresholds.ceiling) & ((dist <= thresholds.review_distance)
                                          | (score >= thresholds.review_score))
    return float(hit.any(axis=1).mean())


def fit_for_roster(probes: F32, references: F32, persons: list[F32], *,
                   file_target: float = REVIEW_FILE_TARGET,
                   top_fraction: float = TOP_FRACTION) -> FaceThresholds:
    """``fit_thresholds`` with the review tier's operating point set for one roster: the
    largest per-pair rate (``REVIEW_FAR`` up to 50 times it) at which at most
    ``file_target`` of the cohort's faces, each as an unrelated face, wait for review with
    some person of ``persons``. The alert tier is unchanged (it never depends on the
    roster). Strangers only: nothing here sees a true match."""
    pairs = pair_scores(probes, references, top_fraction)
    dist, score = roster_scores(probes, references, persons, top_fraction)
    best = fit_thresholds(probes, references, top_fraction=top_fraction, pairs=pairs)
    if roster_review_rate(best, dist, score) > file_target:
        return best  # the roster is already past the budget at the default rate
    lo, hi = np.log(REVIEW_FAR), np.log(REVIEW_FAR * 50)
    for _ in range(14):  # bisection on log(rate): the fitted thresholds grow with it
        mid = (lo + hi) / 2
        t = fit_thresholds(probes, references, review_far=float(np.exp(mid)),
                           top_fraction=top_fraction, pairs=pairs)
        if roster_review_rate(t, dist, score) <= file_target:
            best, lo = t, mid
        else:
            hi = mid
    return best
