"""A video's signal values, frame by frame as they are decoded, plus its face tracks.

``hash_video`` is what the matcher (``matchers.pipeline``) and ``likewatch scan`` do with a
video: every frame ``matchers.keyframes.KeyframeStream`` keeps is hashed with every signal
and then dropped, so memory holds one frame and the values so far, however long or hostile
the video. Where a kept frame shows a face, the stream's ``repeat`` looks at the same shot
are embedded too (the face signal only) and the faces are followed over the shot
(``matchers.tracks``): each track of two or more faces adds one ``face`` value, its mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from matchers.images import ImageError
from matchers.keyframes import DEFAULT_TIME_BUDGET, KeyframeStream
from matchers.signals.base import SignalType, SignalValue
from matchers.tracks import TrackFrame, link_tracks


@dataclass
class VideoSignals:
    """``images``: (frame label, values) of each kept frame, then one per face track."""

    images: list[tuple[str, list[SignalValue]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duration: float | None = None
    looked: int = 0  # frames converted and hashed for scene selection
    faces_tracked: int = 0  # repeat looks whose faces were embedded for tracks


def hash_video(source: Path | str | bytes, types: Mapping[str, SignalType], *,
               time_budget: float = DEFAULT_TIME_BUDGET) -> VideoSignals:
    """Every signal of every kept frame of a video, and its face tracks; never raises for
    a bad video (``errors`` says what went wrong; the frames before it are kept)."""
    out = VideoSignals()
    stream = KeyframeStream(source, repeats="face" in types, time_budget=time_budget)
    track_frames: list[TrackFrame] = []
    shots_with_faces: set[int] = set()
    for kf in stream:
        try:
            if kf.repeat:
                if kf.shot in shots_with_faces:
                    faces = types["face"].hash(kf.image)
                    out.faces_tracked += 1
                    track_frames.append(TrackFrame(kf.t, kf.shot, kf.image.size, faces))
                continue
            values = [v for stype in types.values() for v in stype.hash(kf.image)]
        except ImageError as e:
            out.errors.append(f"{kf.label}: {e}")
            continue
        out.images.append((kf.label, values))
        faces = [v for v in values if v.signal == "face"]
        if faces:
            shots_with_faces.add(kf.shot)
            track_frames.append(TrackFrame(kf.t, kf.shot, kf.image.size, faces))
    out.images += link_tracks(track_frames)
    out.errors += stream.errors
    out.duration = stream.duration
    out.looked = stream.result.looked
    return out
