"""The review tier's operating point set for a roster (``fit_for_roster``)."""

from __future__ import annotations

import numpy as np

from matchers.calibration import (
    FaceCalibration,
    _top_stats,
    fit_for_roster,
    fit_thresholds,
    roster_review_rate,
    roster_scores,
)
from matchers.cohort import load_cohort


def test_roster_scores_leave_the_stranger_out() -> None:
    """The vectorised scores equal a direct computation: member j against person p, with
    j left out of the person's statistics and j's own reference out of its own."""
    rng = np.random.default_rng(5)
    probes = rng.normal(size=(12, 128)).astype(np.float32) * 0.05
    refs = probes + rng.normal(size=probes.shape).astype(np.float32) * 0.01
    persons = [rng.normal(size=(r, 128)).astype(np.float32) * 0.05 for r in (1, 3)]
    dist, score = roster_scores(probes, refs, persons, top_fraction=0.3)
    k = round(11 * 0.3)
    assert dist.shape == score.shape == (12, 2)
    for j in range(12):
        rest = [c for c in range(12) if c != j]
        mq, sq = _top_stats(np.linalg.norm(refs[rest] - probes[j], axis=1)[None], k)
        for p, rows in enumerate(persons):
            dp = np.linalg.norm(probes[rest][:, None] - rows[None], axis=2).min(1)
            mp, sp = _top_stats(dp[None].astype(np.float32), k)
            d = np.linalg.norm(rows - probes[j], axis=1).min()
            assert dist[j, p] == np.float32(d) or abs(dist[j, p] - d) < 1e-5
            expected = 0.5 * ((mp[0] - d) / sp[0] + (mq[0] - d) / sq[0])
            assert abs(score[j, p] - expected) < 1e-3


def test_fit_for_roster_spends_the_review_budget_and_keeps_the_alert_tier() -> None:
    """Against a roster of 30 people outside the cohort, the fitted review tier lets at most
    the target share of the cohort's faces wait, more than the per-pair default does, and
    the alert tier is the default fit's; on faces it did not see, the rate stays near."""
    probes, refs = load_cohort()
    order = np.random.default_rng(1).permutation(len(probes))
    cohort, roster, unseen = order[:250], order[250:280], order[280:]
    persons = [refs[i][None] for i in roster]
    base = fit_thresholds(probes[cohort], refs[cohort])
    fitted = fit_for_roster(probes[cohort], refs[cohort], persons, file_target=0.02)
    dist, score = roster_scores(probes[cohort], refs[cohort], persons)
    assert roster_review_rate(fitted, dist, score) <= 0.02
    assert roster_review_rate(base, dist, score) <= roster_review_rate(fitted, dist, score)
    assert fitted.alert_score == base.alert_score
    assert (fitted.review_distance, -fitted.review_score) >= (base.review_distance,
                                                              -base.review_score)
    cal = FaceCalibration(probes[cohort], refs[cohort], fitted)
    sides = cal.person_sides(persons)
    faces = cal.probe_sides(probes[unseen])
    waiting = sum(any(cal.decide(float(np.linalg.norm(refs[p] - probes[u])), side, face)
                      for p, side in zip(roster, sides, strict=True))
                  for u, face in zip(unseen, faces, strict=True))
    assert waiting / len(unseen) <= 0.06


def test_the_product_sets_the_review_tier_for_its_whole_roster(tmp_path) -> None:  # noqa: ANN001
    """The banks the matcher uses calibrate as the eval does (``fit_for_roster`` on every
    enrolled person), also when only some persons are loaded; the alert tier stays the
    committed one."""
    from likewatch.catalog import Catalog
    from matchers.banks import BankSet
    from matchers.calibration import FACE_THRESHOLDS
    from matchers.enroll import enroll
    from matchers.signals import all_signal_types
    from matchers.tiers import face_references
    from tests.matchers._signal_data import FACES

    cat = Catalog.open(home=tmp_path / "home")
    photos = sorted(FACES.glob("*_1.jpg"))[:3]
    for photo in photos:
        enroll(cat, photo.stem[:-2], [photo])
    banks = BankSet.from_catalog(cat)
    assert banks.calibration is not None and len(banks) == 3
    probes, refs = load_cohort()
    persons = face_references(banks.banks, all_signal_types()["face"])
    assert banks.calibration.thresholds == fit_for_roster(probes, refs, persons)
    assert banks.calibration.thresholds.alert_score == FACE_THRESHOLDS.alert_score
    assert banks.calibration.thresholds.review_score < FACE_THRESHOLDS.review_score
    one = BankSet.from_catalog(cat, person_ids=[banks.banks[0].person_id])
    assert len(one) == 1 and one.calibration is not None
    assert one.calibration.thresholds == banks.calibration.thresholds


def test_each_catalog_has_its_own_roster_calibration(tmp_path) -> None:  # noqa: ANN001
    """Two catalogs built alike (same person keys, as many references: the same bank
    generation) but from other photos are calibrated each on its own faces: the cache is
    per catalog, not per generation alone."""
    from likewatch.catalog import Catalog
    from matchers.banks import BankSet
    from matchers.enroll import enroll
    from matchers.signals import all_signal_types
    from matchers.tiers import face_references
    from tests.matchers._signal_data import FACES

    probes, refs = load_cohort()
    photos = sorted(FACES.glob("*_1.jpg"))
    fitted = []
    for n, chosen in enumerate((photos[:3], photos[3:6])):
        cat = Catalog.open(home=tmp_path / f"home{n}")
        for key, photo in zip(("a", "b", "c"), chosen, strict=True):
            enroll(cat, key, [photo])
        banks = BankSet.from_catalog(cat)
        assert banks.calibration is not None
        persons = face_references(banks.banks, all_signal_types()["face"])
        fitted.append(banks.generation)
        assert banks.calibration.thresholds == fit_for_roster(probes, refs, persons)
    assert fitted[0] == fitted[1]  # what made the old cache hand out the first one's
