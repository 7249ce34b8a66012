"""Face tracks: one face followed over the frames of a shot, and compared as one.

A video shows a person for seconds, and each frame's embedding is noisy (pose, expression,
blur, compression). Faces in looked-at frames of one shot (no scene change between them,
``matchers.keyframes``) are linked into a track when their boxes overlap
(``TRACK_IOU``, boxes scaled to one frame size) and their embeddings are within
``TRACK_LINK`` of the track's last face. A track of two or more faces gives one more
``face`` value: the mean of its embeddings, labelled ``track t=a-bs``, matched and stored
like a frame's. The mean is a steadier estimate of the face, as a reference's mean of ten
views is (``matchers.faces.reference_embedding``).

Pure functions over signal values: the frames were hashed already.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from matchers.signals.base import SignalValue
from matchers.signals.face import FaceSignal, encode_embedding

# Boxes of one face in two frames of a shot overlap at least this much (intersection over
# union); a person walking across the frame between looks 1 s apart may not, and starts a
# new track.
TRACK_IOU = 0.3
# The same face in frames of one shot sits 0.05-0.3 apart in dlib's space (pose, light);
# two people of one shot 0.6 and more. 0.45 links the one and never the other on the
# headshots we have (different people no closer than 0.45 in the cohort).
TRACK_LINK = 0.45

_FACE = FaceSignal()
Box = tuple[int, int, int, int]


@dataclass
class TrackFrame:
    """The face values of one looked-at frame, as the tracker needs them."""

    t: float
    shot: int
    size: tuple[int, int]  # width, height of the frame the boxes are in
    faces: list[SignalValue]  # ``face`` values, each with its box


@dataclass
class _Track:
    shot: int
    start: float
    end: float
    last_box: tuple[float, float, float, float]
    last: npt.NDArray[np.float32]
    members: list[npt.NDArray[np.float32]] = field(default_factory=list)


def _unit_box(box: Box | None, size: tuple[int, int]) -> tuple[float, float, float, float]:
    if box is None:
        return (0.0, 0.0, 0.0, 0.0)
    w, h = max(1, size[0]), max(1, size[1])
    return (box[0] / w, box[1] / h, box[2] / w, box[3] / h)


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def link_tracks(frames: list[TrackFrame]) -> list[tuple[str, list[SignalValue]]]:
    """(label, [one ``face`` value]) for every track of two or more faces, in time order."""
    tracks: list[_Track] = []
    open_: list[_Track] = []
    for frame in sorted(frames, key=lambda f: f.t):
        open_ = [tr for tr in open_ if tr.shot == frame.shot]
        taken: set[int] = set()
        for value in frame.faces:
            vec = _FACE.to_array(value.value)
            box = _unit_box(value.box, frame.size)
            best, best_d = None, TRACK_LINK
            for i, tr in enumerate(open_):
                if i in taken or _iou(box, tr.last_box) < TRACK_IOU:
                    continue
                d = float(np.linalg.norm(tr.last - vec))
                if d <= best_d:
                    best, best_d = i, d
            if best is None:
                tr = _Track(frame.shot, frame.t, frame.t, box, vec, [vec])
                tracks.append(tr)
                open_.append(tr)
                taken.add(len(open_) - 1)
                continue
            tr = open_[best]
            taken.add(best)
            tr.end, tr.last_box, tr.last = frame.t, box, vec
            tr.members.append(vec)
    out = []
    for tr in tracks:
        if len(tr.members) < 2:
            continue
        mean = np.mean(np.stack(tr.members), axis=0).astype(np.float32)
        label = f"track t={tr.start:.2f}-{tr.end:.2f}s"
        out.append((label, [SignalValue(_FACE.name, encode_embedding(mean), variant="track")]))
    return out
