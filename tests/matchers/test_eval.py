"""`likewatch eval` on a reduced subset: real transforms, real signals, real report files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from likewatch.cli import main
from matchers import calibration
from matchers.cohort import load_cohort
from matchers.eval import load_photos, run_eval
from matchers.eval_faceswap import face_swap, similarity
from matchers.eval_transforms import TRANSFORMS, Context
from tests.conftest import SHARED_DATA as SHARED

FACES = Path(__file__).resolve().parents[2] / "sandbox" / "assets" / "faces"


def test_similarity_recovers_a_known_transform() -> None:
    src = np.array([[10, 10], [50, 12], [30, 40], [20, 60], [45, 55]], dtype=np.float64)
    ang, scale, t = 0.3, 1.7, np.array([5.0, -3.0])
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    dst = src @ (scale * rot).T + t
    m = similarity(src, dst)
    np.testing.assert_allclose(m[:, :2], scale * rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], t, atol=1e-9)


def test_every_transform_produces_images() -> None:
    photo = Image.open(FACES / "A000370_1.jpg").convert("RGB")
    other = Image.open(FACES / "A000370_2.jpg").convert("RGB")
    target = Image.open(FACES / "B001229_1.jpg").convert("RGB")
    for t in TRANSFORMS:
        out = t.fn(photo, Context(np.random.default_rng(0), [target], other))
        assert out, t.name
        for img in out:
            assert min(img.full().size) >= 8, t.name
    assert face_swap(photo, Image.new("RGB", (200, 200))) is None  # no face to land on


@pytest.mark.slow
def test_eval_subset_reports_held_out_folds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    """A reduced run: real transforms, real signals; the thresholds of each fold are fitted
    on cohort people that are never among that fold's strangers."""
    import matchers.eval as ev

    fitted: list[np.ndarray] = []
    real_fit = calibration.fit_for_roster

    def spy(probes: np.ndarray, refs: np.ndarray, roster: list[np.ndarray]) -> object:
        fitted.append(probes)
        assert len(roster) == 30  # every enrolled person's face references
        return real_fit(probes, refs, roster)

    monkeypatch.setattr("matchers.eval.fit_for_roster", spy)
    strangers: list[list[str]] = []
    real_strangers = ev._strangers
    monkeypatch.setattr(ev, "_strangers", lambda f, files, rng, types: strangers.append(
        [p.name for p in files]) or real_strangers(f, files, rng, types))
    picked = ["mirror", "crop_20%", "video_frame_h264", "another_photo"]
    report = run_eval(tmp_path, folds=2, limit=2, variants=1, strangers=3, scenes=2,
                      transforms=picked)
    assert [r["transform"] for r in report.rows] == picked
    for r in report.rows[:3]:  # exact reuse: found at alert tier
        assert r["n"] == 2 and r["alert"] == 2 and r["pass"], r
    assert report.rows[3]["either"] == 2  # another photo: found, at one tier or the other
    assert report.unrelated["false_alert_files"] == 0
    assert report.unrelated["files"] == 2 * 3 * 5 + 8 + 2  # strangers x (raw + 4), skimage, scenes
    assert len(report.folds) == 2 and len(fitted) == 2
    probes, _ = load_cohort()
    files = sorted((SHARED / "faces-cohort").glob("*.jpg"))
    for f, used in enumerate(fitted):
        held = {files.index(SHARED / "faces-cohort" / name) for name in strangers[f]}
        fit_rows = {int(np.flatnonzero((probes == row).all(axis=1))[0]) for row in used}
        assert len(fit_rows) == 200 and not fit_rows & held
        assert report.folds[f]["cohort_pairs"]["pairs"] == 200 * 199
    text = report.markdown_path.read_text()
    assert "| mirror | 2 | 100.0% | 100.0% |" in text and "| fold |" in text
    for chart in report.charts:
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "eval.json").read_text())
    assert data["unrelated"]["false_alert_files"] == 0 and len(data["folds"]) == 2


def test_eval_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--refs", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "reference folder not found" in capsys.readouterr().err
    assert main(["eval", "--transforms", "bogus", "--out", str(tmp_path)]) == 2
    assert main(["eval", "--folds", "1", "--out", str(tmp_path)]) == 2
    assert main(["eval", "--cohort", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "cohort folder not found" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError):
        load_photos(tmp_path)


def test_a_partial_mosaic_pixelates_only_its_part_of_the_face() -> None:
    from matchers.eval_faceswap import landmarks
    from matchers.eval_transforms import MOSAIC_REGIONS, mosaic

    photo = Image.open(FACES / "A000370_1.jpg").convert("RGB")
    found = landmarks(photo)
    assert found is not None
    x0, y0, x1, y1 = found[1]
    before = np.asarray(photo).astype(int)
    for region in MOSAIC_REGIONS:
        out = mosaic(photo, region)
        assert out is not None and out.size == photo.size
        changed = np.argwhere(np.abs(np.asarray(out).astype(int) - before).sum(axis=2) > 0)
        assert len(changed), region
        ys, xs = changed[:, 0], changed[:, 1]
        assert xs.min() >= max(0, x0) and xs.max() < x1 and ys.min() >= max(0, y0) \
            and ys.max() < y1, region  # inside the face box, nowhere else
        face_area = (x1 - x0) * (y1 - y0)
        assert 0.2 * face_area < len(changed) <= 0.6 * face_area, region  # a part of it
    assert mosaic(Image.new("RGB", (200, 200)), "eyes") is None  # no face to hide
