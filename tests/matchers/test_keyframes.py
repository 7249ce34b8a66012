"""Keyframes: every I-frame, scene changes, the floor, streaming, bounds, broken videos
(real PyAV files)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from PIL import Image

from matchers import keyframes
from matchers.keyframes import KeyframeStream, extract_keyframes
from matchers.signals import all_signal_types
from matchers.testing import make_video
from tests.matchers._signal_data import face, face_input, framed, load, scene

FPS = 10


def _scenes() -> list[tuple[Image.Image, float]]:
    return [(scene("bridge-mods/aaa-orig.jpg"), 2.0),
            (scene("reg-test-input/labelme-subset/q2821.jpg"), 2.0),
            (framed(load(face("A000370_1")), background="misc-images/c.png"), 2.0)]


@pytest.fixture(scope="module")
def three_scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "three.mp4", _scenes(), fps=FPS,
                      pan=0)


def _short_shot(tmp_path: Path, x264_params: str) -> Path:
    """2 s of a bridge, 1 s of a face, 2 s of a street: the face's shot is one second."""
    plan = [(scene("bridge-mods/aaa-orig.jpg"), 2.0),
            (framed(load(face("A000370_1")), background="misc-images/c.png"), 1.0),
            (scene("reg-test-input/labelme-subset/q0291.jpg"), 2.0)]
    return make_video(tmp_path / f"short-{x264_params or 'default'}.mp4".replace("=", "-"),
                      plan, fps=FPS, pan=0, x264_params=x264_params)


@pytest.mark.parametrize("params", ["min-keyint=250", "scenecut=0"])
def test_a_cut_that_is_no_keyframe_is_seen(tmp_path: Path, params: str) -> None:
    """x264 codes the cuts as ordinary I-frames (min-keyint) or as P-frames (scenecut=0):
    only full keyframes were decoded before, and the face's scene was never looked at."""
    video = _short_shot(tmp_path, params)
    result = extract_keyframes(video)
    assert result.errors == []
    assert [round(f.t) for f in result.frames] == [0, 2, 3]
    assert [f.shot for f in result.frames] == [0, 1, 2]


def test_the_floor_finds_a_one_second_shot_without_cut_detection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no I-frame at the cuts and the scene-change test switched off, the floor alone
    (a look at least every 0.8 s) still looks inside the 1 s shot."""
    monkeypatch.setattr(keyframes, "CUT_LEVEL", float("inf"))
    result = extract_keyframes(_short_shot(tmp_path, "scenecut=0"))
    assert any(2.0 <= f.t < 3.0 for f in result.frames), [f.t for f in result.frames]
    assert not any(2.0 <= f.t < 3.0 for f in extract_keyframes(
        _short_shot(tmp_path, "scenecut=0"), min_rate=0.2).frames)  # at one look per 5 s


def test_frames_are_streamed_not_kept(three_scenes: Path) -> None:
    """The stream keeps no frame it has yielded: once the caller drops one, it is freed."""
    refs = []
    for kf in KeyframeStream(three_scenes):
        refs.append(weakref.ref(kf.image))
        del kf
        gc.collect()
        assert all(r() is None for r in refs[:-1])
    assert len(refs) == 3


def test_repeats_follow_a_shot(tmp_path: Path) -> None:
    """With repeats, a long shot is looked at again (for face tracks), marked as such."""
    video = make_video(tmp_path / "long.mp4", [(framed(load(face("A000370_1"))), 4.0)],
                       fps=FPS, pan=1)
    frames = list(KeyframeStream(video, repeats=True))
    assert [f.repeat for f in frames] == [False] + [True] * keyframes.TRACK_SAMPLES
    assert len({f.shot for f in frames}) == 1
    assert all(b.t - a.t >= keyframes.TRACK_SPACING for a, b in zip(frames, frames[1:]))
    assert [f.repeat for f in KeyframeStream(video)] == [False]


def test_frame_limit(three_scenes: Path) -> None:
    result = extract_keyframes(three_scenes, max_frames=2)
    assert len(result.frames) == 2
    assert any("frame limit (2) reached at t=4.00s" in e for e in result.errors)


def test_frames_too_large_are_refused_before_decoding(
        three_scenes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyframes, "MAX_VIDEO_PIXELS", 640 * 360 - 1)
    result = extract_keyframes(three_scenes)
    assert result.frames == [] and result.decoded == 0
    assert result.errors == ["video frames too large: 640x360 pixels (limit 230399)"]


def test_one_keyframe_per_scene(three_scenes: Path) -> None:
    result = extract_keyframes(three_scenes)
    assert result.errors == []
    assert result.duration == pytest.approx(6.0, abs=0.2)
    assert [round(f.t) for f in result.frames] == [0, 2, 4]
    assert [f.label for f in result.frames] == ["t=0.00s", "t=2.00s", "t=4.00s"]
    assert all(f.key for f in result.frames)
    assert [f.shot for f in result.frames] == [0, 1, 2]
    assert all(f.image.size == (640, 360) for f in result.frames)


def test_keyframes_go_through_the_image_signals(three_scenes: Path) -> None:
    """A keyframe is an ImageInput like a thumbnail: the face in scene 3 is recognised."""
    face_sig = all_signal_types()["face"]
    ref = face_sig.hash(face_input("A000370_1"))[0].value
    frames = extract_keyframes(three_scenes.read_bytes()).frames
    hits = [f.label for f in frames
            if any(face_sig.distance(ref, v.value) <= face_sig.THRESHOLD
                   for v in face_sig.hash(f.image))]
    assert hits == ["t=4.00s"]


def test_minimum_rate_fills_long_gops(tmp_path: Path) -> None:
    """One 12 s shot, an I-frame every 10 s, min_rate 0.2: a look every 5 s at least."""
    video = make_video(tmp_path / "long.mp4", [(scene("bridge-mods/aaa-orig.jpg"), 12.0)],
                       fps=FPS, pan=8, keyint=100)
    result = extract_keyframes(video, min_rate=0.2, scene_distance=-1)
    assert result.errors == []
    assert [(round(f.t), f.key) for f in result.frames] == [(0, True), (5, False), (10, True)]
    # Without a minimum rate only the I-frames (and scene changes: none here) are looked at.
    assert [round(f.t) for f in extract_keyframes(video, min_rate=0, scene_distance=-1).frames] \
        == [0, 10]


def test_same_scene_frames_are_dropped(tmp_path: Path) -> None:
    """A static shot with forced I-frames every second yields one frame, not six."""
    video = make_video(tmp_path / "static.mp4", [(scene("bridge-mods/aaa-orig.jpg"), 6.0)],
                       fps=FPS, pan=0, keyint=FPS)
    result = extract_keyframes(video)
    assert len(result.frames) == 1 and result.looked >= 6


def test_every_one_second_shot_is_kept(tmp_path: Path) -> None:
    pictures = [scene(p) for p in ("bridge-mods/aaa-orig.jpg", "misc-images/c.png",
                                   "reg-test-input/labelme-subset/q0291.jpg",
                                   "reg-test-input/labelme-subset/q2821.jpg",
                                   "reg-test-input/labelme-subset/q1050.jpg")]
    video = make_video(tmp_path / "cuts.mp4", [(p, 1.0) for p in pictures], fps=FPS)
    assert [int(f.t) for f in extract_keyframes(video).frames] == [0, 1, 2, 3, 4]


def test_truncated_video_gives_partial_frames_and_an_error(three_scenes: Path) -> None:
    data = three_scenes.read_bytes()
    result = extract_keyframes(data[: int(len(data) * 0.6)])
    assert 1 <= len(result.frames) < 3
    assert result.frames[0].t == 0
    assert any("truncated" in e for e in result.errors)


def test_garbage_is_an_error_not_an_exception() -> None:
    result = extract_keyframes(b"this is not a video" * 500)
    assert result.frames == []
    assert result.errors and "not a readable video" in result.errors[0]


def test_missing_file_and_empty_bytes(tmp_path: Path) -> None:
    assert extract_keyframes(tmp_path / "nope.mp4").errors
    assert extract_keyframes(b"").errors


def test_index_at_the_end_cut_off_is_not_a_video(tmp_path: Path) -> None:
    """Without faststart the MP4 index comes last: a cut copy is unreadable, said so."""
    data = make_video(tmp_path / "late.mp4", _scenes()[:1], fps=FPS, faststart=False).read_bytes()
    result = extract_keyframes(data[: len(data) // 2])
    assert result.frames == [] and result.errors


def test_time_budget(three_scenes: Path) -> None:
    result = extract_keyframes(three_scenes, time_budget=0.0)
    assert any("time budget" in e for e in result.errors)
    assert len(result.frames) == 1


def test_black_video_still_gives_a_frame(tmp_path: Path) -> None:
    video = make_video(tmp_path / "black.mp4", [(Image.new("RGB", (64, 36)), 1.0)], fps=FPS)
    result = extract_keyframes(video)
    assert result.errors == [] and len(result.frames) == 1
