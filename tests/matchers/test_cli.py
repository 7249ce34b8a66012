"""`likewatch enroll` / `scan` / `match-pending`: the stable CLI contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from likewatch.cli import main
from matchers.eval_transforms import synthetic_scene

FACES = Path(__file__).resolve().parents[2] / "sandbox" / "assets" / "faces"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "likewatch.cli", *args], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=240)


def test_enroll_then_scan_as_processes(tmp_path: Path, likewatch_home: Path) -> None:
    assert _run("client", "add", "agency-x", "--kind", "agency").returncode == 0
    r = _run("enroll", "--person", "demo-a", "--client", "agency-x", "--name", "Demo person A",
             str(FACES / "A000370_1.jpg"), str(FACES / "B001295_1.jpg"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("enrolled person=demo-a") for line in lines)
    assert (likewatch_home / "catalog.sqlite3").exists()  # LIKEWATCH_HOME honoured

    mirrored = tmp_path / "mirrored.jpg"
    ImageOps.mirror(Image.open(FACES / "A000370_1.jpg")).save(mirrored, quality=85)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((FACES / "A000370_1.jpg").read_bytes()[:300])
    r = _run("scan", "--json", str(mirrored), str(broken), str(tmp_path / "missing.png"),
             str(FACES / "T000468_1.jpg"))
    assert r.returncode == 1, r.stderr  # every file reported; two could not be read
    out = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert [o["path"] for o in out] == [str(mirrored), str(broken),
                                        str(tmp_path / "missing.png"),
                                        str(FACES / "T000468_1.jpg")]
    assert set(out[0]) == {"path", "matches", "error", "provenance"} and out[0]["error"] is None
    signals = {m["signal"] for m in out[0]["matches"]}
    assert {"pdq", "face"} <= signals
    for m in out[0]["matches"]:
        assert set(m) == {"person", "signal", "distance", "threshold", "tier"}
        assert m["person"] == "demo-a" and m["distance"] <= m["threshold"]
        assert m["tier"] == "alert"  # a mirrored copy of the enrolled photo: exact reuse
    assert out[1]["matches"] == [] and out[1]["error"]
    assert out[2]["error"] == "no such file"
    provenance = out[3].pop("provenance")  # issue #19: the file's AI-content labels
    assert provenance["ai_label"] is None and provenance["c2pa"] is None
    assert out[3] == {"path": str(FACES / "T000468_1.jpg"), "matches": [], "error": None}


def test_enroll_refusals_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene = tmp_path / "scene.png"
    synthetic_scene(np.random.default_rng(1), (320, 240)).save(scene)
    assert main(["enroll", "--client", "c1", "--person", "p", str(scene)]) == 2
    err = capsys.readouterr().err
    assert "no client named 'c1'" in err and err.count("\n") == 1  # never created by a typo
    assert main(["client", "add", "c1"]) == 0
    assert main(["enroll", "--client", "c1", "--person", "p", str(scene)]) == 2
    err = capsys.readouterr().err
    assert "no face found" in err and err.count("\n") == 1


def test_match_pending_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["match-pending", "--limit", "5"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["candidates"] == 0 and summary["errors"] == {}


def test_scan_video_and_truncated_video(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from matchers.eval_transforms import encode_video

    assert main(["client", "add", "c1"]) == 0
    assert main(["enroll", "--client", "c1", "--person", "vid-person",
                 str(FACES / "M001190_1.jpg")]) == 0
    capsys.readouterr()
    photo = Image.open(FACES / "M001190_1.jpg").convert("RGB")
    scene = synthetic_scene(np.random.default_rng(2), photo.size)
    data = encode_video([(scene, 25), (photo, 40)], crf=28)
    video = tmp_path / "clip.mp4"
    video.write_bytes(data)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    assert main(["scan", str(video), str(text), str(cut)]) == 1  # some files failed
    out = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert out[0]["error"] is None
    assert {m["person"] for m in out[0]["matches"]} == {"vid-person"}
    assert "face" in {m["signal"] for m in out[0]["matches"]}
    assert {m["tier"] for m in out[0]["matches"]} == {"alert"}
    assert out[1]["matches"] == [] and out[1]["error"]
    assert out[1]["error"] == "not an image or video"  # a text file, not a damaged video
    assert out[2]["path"] == str(cut) and out[2]["error"]  # truncated: reported, scan went on
    assert out[2]["error"] != "not an image or video"  # a video, however damaged


def test_official_accounts_and_client_threshold(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy import select

    from likewatch.catalog import Catalog
    from likewatch.catalog.models import Person

    assert main(["client", "add", "c9"]) == 0
    assert main(["enroll", "--person", "o1", "--client", "c9", "--official", "sandbox:o1_home",
                 "--official", "*:o1_everywhere", str(FACES / "T000468_1.jpg")]) == 0
    assert main(["enroll", "--person", "o1", "--client", "c9", "--official", "bad",
                 str(FACES / "T000468_1.jpg")]) == 2
    with Catalog.open() as catalog, catalog.session() as s:
        p = s.scalars(select(Person).where(Person.key == "o1")).one()
        assert p.official_accounts == [{"platform": "sandbox", "uploader": "o1_home"},
                                       {"platform": "*", "uploader": "o1_everywhere"}]
    capsys.readouterr()
    near = tmp_path / "near.jpg"
    Image.open(FACES / "T000468_2.jpg").save(near)
    assert main(["scan", str(near)]) == 0
    before = json.loads(capsys.readouterr().out)["matches"]
    assert any(m["signal"] == "face" for m in before)
    assert main(["set-threshold", "--client", "c9", "face", "0.05"]) == 0
    assert main(["scan", str(near)]) == 0
    after = json.loads(capsys.readouterr().out.splitlines()[-1])["matches"]
    assert not any(m["signal"] == "face" for m in after)
    assert main(["set-threshold", "--client", "nobody", "face", "0.5"]) == 2
    assert main(["set-threshold", "--client", "c9", "nope", "0.5"]) == 2
    assert main(["set-threshold", "--client", "c9", "face"]) == 0
