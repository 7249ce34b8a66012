"""`likewatch eval` on a reduced subset: real transforms, real signals, real report files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from likewatch.cli import main
from matchers.eval import load_photos, run_eval
from matchers.eval_faceswap import face_swap, similarity
from matchers.eval_transforms import TRANSFORMS, Context

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
def test_eval_subset_writes_table_chart_and_json(tmp_path: Path) -> None:
    picked = ["mirror", "crop_20%", "video_frame_h264", "another_photo",
              "face_swap_composite"]
    report = run_eval(tmp_path, limit=2, variants=1, negatives=2, scenes=2,
                      transforms=picked)
    assert [r["transform"] for r in report.rows] == picked
    for r in report.rows:
        assert r["n"] == 2 and r["found"] == 2, r  # these five are found on this data
    assert report.false_matches == 0
    # 10 positives x 1 other person + (2 unrelated x 5 transforms + 2 raw + 2 scenes) x 2
    assert report.unrelated_pairs > 20
    assert not report.passed  # far fewer than 10,000 unrelated pairs in a subset
    assert "| mirror | 2 | 100.0% |" in report.markdown_path.read_text()
    assert report.chart_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "eval.json").read_text())
    assert data["false_matches"] == 0 and data["misses"] == []


def test_eval_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--refs", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "reference folder not found" in capsys.readouterr().err
    assert main(["eval", "--transforms", "bogus", "--out", str(tmp_path)]) == 2
    with pytest.raises(FileNotFoundError):
        load_photos(tmp_path)
