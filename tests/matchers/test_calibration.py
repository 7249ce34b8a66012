"""The committed cohort, the calibrated face score and the tiers it decides."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from matchers.calibration import (
    FACE_THRESHOLDS,
    FaceCalibration,
    Side,
    _top_stats,
    fit_thresholds,
    pair_scores,
)
from matchers.cohort import PROVENANCE_FILE, embed_folder, load_cohort


def test_committed_cohort_is_derived_from_the_shared_portraits(shared_data: Path,
                                                               tmp_path: Path) -> None:
    """Every row's source file is the shared one (sha256), and a few rows recomputed from
    their portraits give the committed embeddings."""
    probes, refs = load_cohort()
    assert probes.shape == refs.shape == (400, 128) and probes.dtype == np.float32
    prov = json.loads(PROVENANCE_FILE.read_text(encoding="utf-8"))
    folder = shared_data / "faces-cohort"
    assert len(prov["files"]) == 400
    for row in prov["files"]:
        assert hashlib.sha256((folder / row["file"]).read_bytes()).hexdigest() == row["sha256"]
    picked = [0, 157, 399]
    for i in picked:
        (tmp_path / prov["files"][i]["file"]).write_bytes((folder / prov["files"][i]["file"])
                                                          .read_bytes())
    p, r, _ = embed_folder(tmp_path)
    np.testing.assert_allclose(p, probes[picked], atol=1e-4)
    np.testing.assert_allclose(r, refs[picked], atol=1e-4)


def test_committed_thresholds_are_what_the_fit_gives() -> None:
    """FACE_THRESHOLDS come from fit_thresholds on the committed cohort (strangers only)."""
    assert fit_thresholds(*load_cohort()) == FACE_THRESHOLDS


def test_pair_scores_leave_both_people_out() -> None:
    """The vectorised left-out statistics equal a direct computation on a small cohort."""
    rng = np.random.default_rng(3)
    probes = rng.normal(size=(14, 128)).astype(np.float32) * 0.05
    refs = (probes + rng.normal(size=probes.shape).astype(np.float32) * 0.01)
    dist, score = pair_scores(probes, refs, top_fraction=0.3)
    n, k = 14, round(12 * 0.3)
    expected = []
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            rest = [c for c in range(n) if c not in (i, j)]
            dp = np.linalg.norm(probes[rest] - refs[i], axis=1)
            dq = np.linalg.norm(refs[rest] - probes[j], axis=1)
            mp, sp = _top_stats(dp[None].astype(np.float32), k)
            mq, sq = _top_stats(dq[None].astype(np.float32), k)
            d = np.linalg.norm(refs[i] - probes[j])
            expected.append(0.5 * ((mp[0] - d) / sp[0] + (mq[0] - d) / sq[0]))
    np.testing.assert_allclose(score, expected, rtol=1e-3, atol=1e-3)
    assert dist.shape == (n * (n - 1),)


def test_score_and_distance_at_are_inverse() -> None:
    person, probe = Side(0.7, 0.05), Side(0.68, 0.04)
    for score in (0.0, 3.0, 7.28):
        d = FaceCalibration.distance_at(score, person, probe)
        assert FaceCalibration.score(d, person, probe) == pytest.approx(score)


def test_decide_tiers() -> None:
    cal = FaceCalibration.default()
    t = cal.thresholds
    # Strangers come closer to a common face than to a rare one (sides as the cohort
    # gives them to the repository's people: means 0.60-0.75, spreads about 0.03).
    common, rare, probe = Side(0.60, 0.03), Side(0.75, 0.03), Side(0.72, 0.03)
    assert cal.decide(0.1, common, probe) == ("alert", pytest.approx(max(
        t.exact, cal.distance_at(t.alert_score, common, probe))))
    assert cal.decide(t.exact, Side(0.3, 0.05), probe) == ("alert", t.exact)  # a hub: exact
    tier, thr = cal.decide(0.45, rare, probe) or ("", 0.0)
    assert tier == "alert" and 0.45 <= thr <= t.ceiling
    tier, thr = cal.decide(0.45, common, probe) or ("", 0.0)
    assert tier == "review" and thr == pytest.approx(cal.distance_at(t.review_score, common,
                                                                     probe))
    assert cal.decide(thr + 0.001, common, probe) is None
    assert cal.decide(t.ceiling + 0.01, rare, probe) is None
    assert cal.decide(0.2, rare, probe, ceiling=0.05) is None  # a client's own threshold
    assert cal.decide(0.2, Side(float("nan"), float("nan")), probe) is None  # no face refs


def test_held_out_strangers_stay_within_the_rates() -> None:
    """Fit on half of the cohort, score the other half's pairs with it: the alert tier
    takes (nearly) no stranger, the review tier about what it was fitted to."""
    probes, refs = load_cohort()
    order = np.random.default_rng(0).permutation(len(probes))
    fit, held = order[:200], order[200:]
    cal = FaceCalibration(probes[fit], refs[fit], fit_thresholds(probes[fit], refs[fit]))
    persons = cal.person_sides([refs[i][None] for i in held])
    faces = cal.probe_sides(probes[held])
    tiers = {"alert": 0, "review": 0}
    d = np.linalg.norm(refs[held][:, None] - probes[held][None], axis=2)
    for a in range(len(held)):
        for b in np.flatnonzero(d[a] <= cal.thresholds.ceiling):
            if a != b and (got := cal.decide(float(d[a, b]), persons[a], faces[b])):
                tiers[got[0]] += 1
    pairs = len(held) * (len(held) - 1)
    assert tiers["alert"] / pairs < 1e-4
    assert tiers["review"] / pairs < 1e-3
