"""Face tracks: linking over a shot, the mean as one more value, and a real video."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from matchers import keyframes
from matchers.signals import all_signal_types
from matchers.signals.base import SignalValue
from matchers.signals.face import encode_embedding
from matchers.testing import make_video
from matchers.tracks import TRACK_LINK, TrackFrame, link_tracks
from matchers.video import hash_video
from tests.matchers._signal_data import face, face_input, framed, load

SIZE = (640, 360)


def _face(vec: np.ndarray, box: tuple[int, int, int, int]) -> SignalValue:
    return SignalValue("face", encode_embedding(vec.astype(np.float32)), box=box)


def _vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128)
    return v / np.linalg.norm(v)


def test_one_face_over_a_shot_gives_its_mean() -> None:
    a, b = _vec(1), _vec(1) + 0.01 * _vec(2)
    frames = [TrackFrame(0.0, 0, SIZE, [_face(a, (100, 50, 200, 150))]),
              TrackFrame(1.0, 0, SIZE, [_face(b, (110, 55, 210, 155))])]
    [(label, [value])] = link_tracks(frames)
    assert label == "track t=0.00-1.00s" and value.variant == "track"
    got = all_signal_types()["face"].to_array(value.value)
    np.testing.assert_allclose(got, (a + b) / 2, atol=1e-6)


def test_no_link_across_shots_places_or_faces() -> None:
    a = _vec(1)
    far = a + (TRACK_LINK + 0.1) * _vec(3)  # another face at the same place
    frames = [TrackFrame(0.0, 0, SIZE, [_face(a, (100, 50, 200, 150))]),
              TrackFrame(1.0, 1, SIZE, [_face(a, (100, 50, 200, 150))]),  # after a cut
              TrackFrame(2.0, 1, SIZE, [_face(a, (400, 50, 500, 150))]),  # elsewhere
              TrackFrame(3.0, 1, SIZE, [_face(far, (400, 50, 500, 150))])]
    assert link_tracks(frames) == []


def test_two_faces_two_tracks() -> None:
    a, b = _vec(1), _vec(2)
    frames = [TrackFrame(t, 0, SIZE, [_face(a, (10, 10, 110, 110)), _face(b, (300, 10, 400, 110))])
              for t in (0.0, 1.0, 2.0)]
    tracks = link_tracks(frames)
    assert [label for label, _ in tracks] == ["track t=0.00-2.00s"] * 2


def test_a_video_shot_of_a_face_gives_a_track(tmp_path: Path) -> None:
    """A 4 s shot of one face: one kept frame, a repeat look embedded, one track whose
    mean sits as close to the photo's own embedding as the frames do."""
    video = make_video(tmp_path / "shot.mp4", [(framed(load(face("A000370_1"))), 4.0)],
                       fps=10, pan=1)
    out = hash_video(video, all_signal_types())
    assert out.errors == [] and out.faces_tracked == keyframes.TRACK_SAMPLES
    labels = [label for label, _ in out.images]
    assert labels[0] == "t=0.00s" and labels[-1].startswith("track t=0.00-")
    sig = all_signal_types()["face"]
    ref = sig.hash(face_input("A000370_1"))[0].value
    frame_d = min(sig.distance(ref, v.value) for v in out.images[0][1] if v.signal == "face")
    track_d = sig.distance(ref, out.images[-1][1][0].value)
    assert track_d <= frame_d + 0.05
