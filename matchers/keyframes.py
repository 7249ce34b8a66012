"""Frames of a video for the matchers, as a stream: every I-frame, every scene change and a
floor of frames per second, each kept only when it shows something new.

One pass over the video with PyAV, in bounded memory whatever the input:

1. Every packet is demuxed and every *reference* frame decoded (``skip_frame = "NONREF"``):
   I-frames, P-frames and the B-frames others depend on, i.e. every frame the decoder has to
   reconstruct anyway; only the disposable B-frames are skipped. Decoding only full key
   frames (``"NONKEY"``) was 4x cheaper but blind: x264 codes a scene cut that comes soon
   after a keyframe as an ordinary I-frame, or as a P-frame, and in ``likewatch eval`` and
   the issue-13 measurement the face in such a scene was never looked at.
2. A frame is *looked at* (converted to RGB, at most ``MAX_FRAME_SIDE``) when it is an
   I-frame, or a scene change (the mean change of 16x12 luma block means, read from the
   Y plane without conversion, against the previous decoded frame exceeds ``CUT_LEVEL``),
   or when ``1 / min_rate`` seconds passed since the last look (the floor: every shot of
   1 s or more is looked at, whatever the encoder did).
3. A looked-at frame is *kept* (yielded) when its pHash is more than ``scene_distance``
   from every frame kept so far, and more than ``SHOT_DRIFT`` from those of its own shot
   (the pHash is cached on the frame's ``ImageInput``, so the matchers reuse it); flat
   frames (black, fades) are not kept, except that a video of nothing but flat frames
   yields its first one. At most ``max_frames`` are kept; past that the stream stops with
   an error naming the time. With ``repeats``, a few more looks per shot are yielded,
   marked ``repeat``, for face tracks (``matchers/tracks.py``).
4. Only the current frame, the previous block means and the kept pHashes are held: the
   caller hashes each kept frame and drops it. (Issue 14: keeping every keyframe's pixels
   until the end took 3.7 MB a frame, 2.3-4 GB for a 10 MB video.) Frames larger than
   ``MAX_VIDEO_PIXELS`` are refused before the first is decoded (and the decoder is opened
   with that limit, so a stream that changes size midway cannot allocate more).
5. A corrupt or truncated video gives the frames decoded so far plus a reason in
   ``errors``; only a file that is not a video at all gives no frames. Never an exception.

Frames become ``ImageInput.from_array``, so keyframes and thumbnails take the same path
through the signals.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.video.frame import PictureType

from matchers.faces import single_view
from matchers.images import ImageError, ImageInput
from matchers.signals.phash import PhashSignal

# Two frames within this pHash distance show the same scene (the pHash match threshold).
SCENE_DISTANCE = 8
# Frames are scaled down to this longer side: enough for faces (see matchers/faces.py).
MAX_FRAME_SIDE = 1280
# 4K UHD. A decoder keeps up to 16 reference frames of this size (12 MB each in YUV 4:2:0).
MAX_VIDEO_PIXELS = 3840 * 2160
# The floor: at least this many frames a second are looked at, so no shot of 1 s or more
# is skipped (0.8 s apart at most; frames between looks are at most a few frames apart).
MIN_RATE = 1.25
# I-frames and scene changes closer than this to the previous look wait for the floor.
MIN_INTERVAL = 0.2
# Mean absolute change of the 16x12 luma block means (0-255) between decoded frames that
# counts as a scene change. Measured on generated H.264: hard cuts between Meta's photos
# and our headshots 31-77; a pan of 8 px a frame over a photo 12-17, slow zooms under 4.
# A false alarm costs a look (about 1 ms) and splits a face track.
CUT_LEVEL = 24.0
# Within one shot (no scene change between), a look is a new scene only past this pHash
# distance from the shot's kept frames: a slow pan over a fine texture moved the pHash by
# 10-20 bits in 2 s; different pictures usually differ by 22-40 (p1 and median of 18k pairs).
SHOT_DRIFT = 20
# Distinct scenes kept at most; each costs the face signals about 40 ms.
MAX_FRAMES = 64
# With ``repeats``: up to this many more looks per shot, at least TRACK_SPACING s apart, are
# yielded as ``repeat`` frames so a face can be followed over its shot (matchers/tracks.py).
TRACK_SAMPLES = 1
TRACK_SPACING = 1.0
# A stream whose packets stop this long before its announced duration was truncated.
TRUNCATION_SLACK = 1.0
DEFAULT_TIME_BUDGET = 60.0

_PHASH = PhashSignal()
_SAMPLE = (12, 16)  # rows, columns of the scene-change sample (block means)


@dataclass(frozen=True)
class Keyframe:
    t: float  # seconds from the start of the video
    image: ImageInput
    label: str  # "t=1.23s"
    key: bool = True  # an I-frame (False: a scene change or the floor)
    shot: int = 0  # scene changes seen before it: frames of one shot share it
    repeat: bool = False  # another look at a shot already kept (for face tracks only)


@dataclass
class KeyframeResult:
    frames: list[Keyframe] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duration: float | None = None  # seconds, as announced by the container
    decoded: int = 0  # frames decoded
    looked: int = 0  # frames converted and hashed


def _open(source: Path | str | bytes) -> Any:
    if isinstance(source, bytes | bytearray | memoryview):
        return av.open(io.BytesIO(bytes(source)), mode="r")
    return av.open(str(source), mode="r")


def _to_input(frame: Any, t: float) -> ImageInput:
    w, h = frame.width, frame.height
    scale = min(1.0, MAX_FRAME_SIDE / max(w, h))
    if scale < 1.0:
        w, h = max(2, round(w * scale)), max(2, round(h * scale))
        arr: npt.NDArray[np.uint8] = frame.to_ndarray(format="rgb24", width=w, height=h)
    else:
        arr = frame.to_ndarray(format="rgb24")
    return single_view(ImageInput.from_array(arr, name=f"t={t:.2f}s"))


def _luma_sample(frame: Any) -> npt.NDArray[np.float32] | None:
    """16x12 block means of a decoded frame's luma, read from its Y plane (every 4th pixel
    of every 4th row) without any conversion."""
    if not frame.format.name.startswith(("yuv", "yuvj", "nv12", "gray")):
        return None
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    pts = rows[::4, :plane.width:4]
    by, bx = _SAMPLE
    h, w = pts.shape[0] - pts.shape[0] % by, pts.shape[1] - pts.shape[1] % bx
    if not h or not w:
        return None
    blocks: npt.NDArray[np.float32] = pts[:h, :w].reshape(by, h // by, bx, w // bx).mean(
        axis=(1, 3), dtype=np.float32)
    return blocks


def _start(stream: Any) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0


class KeyframeStream:
    """The kept frames of a video, one at a time (see the module docstring).

    Iterate once; ``errors``, ``duration``, ``decoded`` and ``looked`` are complete when
    the iteration ends (a caller that stops early gets what was seen so far).
    """

    def __init__(self, source: Path | str | bytes, *, max_frames: int = MAX_FRAMES,
                 min_interval: float = MIN_INTERVAL, min_rate: float = MIN_RATE,
                 scene_distance: float = SCENE_DISTANCE,
                 time_budget: float = DEFAULT_TIME_BUDGET, repeats: bool = False) -> None:
        self.source = source
        self.repeats = repeats
        self.max_frames = max_frames
        self.min_interval = min_interval
        self.period = 1.0 / min_rate if min_rate > 0 else float("inf")
        self.scene_distance = scene_distance
        self.time_budget = time_budget
        self.result = KeyframeResult()
        self._kept: list[str] = []  # pHashes of the frames kept
        self._shot_kept: list[str] = []  # those of the current shot
        self._shot = -1
        self._shot_times: list[float] = []  # times of the shot's kept and repeat frames
        self._decode_errors = 0
        self._first_error = ""

    @property
    def errors(self) -> list[str]:
        return self.result.errors

    @property
    def duration(self) -> float | None:
        return self.result.duration

    def __iter__(self) -> Iterator[Keyframe]:
        result = self.result
        try:
            container = _open(self.source)
        except (av.error.FFmpegError, OSError, ValueError) as e:
            result.errors.append(f"not a readable video: {type(e).__name__}: {e}")
            return
        try:
            yield from self._frames(container)
        except Exception as e:  # noqa: BLE001 - a broken video must never stop a batch
            result.errors.append(f"video error: {type(e).__name__}: {e}")
        finally:
            container.close()

    def _frames(self, container: Any) -> Iterator[Keyframe]:
        result = self.result
        streams = [s for s in container.streams if s.type == "video"]
        if not streams:
            result.errors.append("no video stream")
            return
        stream = streams[0]
        ctx = stream.codec_context
        if ctx.width * ctx.height > MAX_VIDEO_PIXELS:
            result.errors.append(f"video frames too large: {ctx.width}x{ctx.height} pixels "
                                 f"(limit {MAX_VIDEO_PIXELS})")
            return
        ctx.options = {"max_pixels": str(MAX_VIDEO_PIXELS)}
        ctx.thread_count = 1  # one core per matcher; frame threads would hold more frames
        ctx.skip_frame = "NONREF"
        if stream.duration is not None:
            result.duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            result.duration = container.duration / av.time_base
        deadline = time.monotonic() + self.time_budget
        start, tb = _start(stream), stream.time_base
        last_packet_t, last_look = 0.0, -1e9
        previous: npt.NDArray[np.float32] | None = None
        shot = 0
        flat_first: Keyframe | None = None
        try:
            for packet in container.demux(stream):
                if packet.pts is not None:
                    end = float((packet.pts + (packet.duration or 0)) * tb) - start
                    last_packet_t = max(last_packet_t, end)
                try:
                    frames = packet.decode()
                except (av.error.FFmpegError, ValueError) as e:
                    self._note(e)
                    continue
                for frame in frames:
                    result.decoded += 1
                    if frame.pts is None:
                        continue
                    t = float(frame.pts * tb) - start
                    sample = _luma_sample(frame)
                    cut = (previous is not None and sample is not None
                           and sample.shape == previous.shape
                           and float(np.abs(sample - previous).mean()) > CUT_LEVEL)
                    previous = sample
                    shot += cut
                    key = bool(frame.key_frame) or frame.pict_type == PictureType.I
                    since = t - last_look
                    if not (since >= self.period - 1e-6
                            or ((key or cut) and since >= self.min_interval - 1e-6)):
                        continue
                    last_look = t
                    state, kf = self._look(frame, t, key, shot)
                    if state == "flat" and flat_first is None:
                        flat_first = kf  # kept only if nothing else is
                    if state == "repeat" and kf is not None:
                        yield kf
                    if state != "new" or kf is None:
                        continue
                    if len(self._kept) > self.max_frames:
                        result.errors.append(f"frame limit ({self.max_frames}) reached at "
                                             f"t={t:.2f}s")
                        return
                    yield kf
                    if time.monotonic() > deadline:
                        result.errors.append(f"time budget exceeded at t={t:.2f}s")
                        return
                if result.looked and time.monotonic() > deadline:
                    result.errors.append(f"time budget exceeded at t={last_packet_t:.2f}s")
                    return
        except (av.error.FFmpegError, OSError, ValueError) as e:
            self._note(e)
        finally:
            if self._decode_errors:
                result.errors.append(f"{self._decode_errors} decode error(s), first: "
                                     f"{self._first_error}")
        if not self._kept and flat_first is not None:  # only flat frames: say what it shows
            yield flat_first
        if result.duration and last_packet_t < result.duration - TRUNCATION_SLACK:
            result.errors.append(f"truncated: data ends at {last_packet_t:.2f}s of "
                                 f"{result.duration:.2f}s")
        if not result.looked and not result.errors:
            result.errors.append("no decodable frame")

    def _look(self, frame: Any, t: float, key: bool, shot: int
              ) -> tuple[str, Keyframe | None]:
        """("new", frame) for a scene not kept yet; ("repeat", frame) for another look at
        the current shot (with ``repeats``); ("flat", frame) for a frame without a pHash;
        ("seen", None) otherwise."""
        self.result.looked += 1
        try:
            image = _to_input(frame, t)
            values = _PHASH.hash(image)
        except (ImageError, ValueError) as e:
            self._note(e)
            return "seen", None
        kf = Keyframe(t, image, f"t={t:.2f}s", key, shot)
        if not values:
            return "flat", kf
        if shot != self._shot:
            self._shot, self._shot_kept, self._shot_times = shot, [], []
        h = values[0].value
        near = [_PHASH.distance(h, k) for k in self._kept]
        drift = [_PHASH.distance(h, k) for k in self._shot_kept]
        if all(d > self.scene_distance for d in near) and all(d > SHOT_DRIFT for d in drift):
            self._kept.append(h)
            self._shot_kept.append(h)
            self._shot_times.append(t)
            return "new", kf
        if (self.repeats and self._shot_kept and len(self._shot_times) <= TRACK_SAMPLES
                and t - self._shot_times[-1] >= TRACK_SPACING):
            self._shot_times.append(t)
            return "repeat", Keyframe(t, image, f"t={t:.2f}s", key, shot, repeat=True)
        return "seen", None

    def _note(self, e: Exception) -> None:
        self._decode_errors += 1
        if not self._first_error:
            self._first_error = f"{type(e).__name__}: {e}"


def extract_keyframes(source: Path | str | bytes, *, max_frames: int = 24,
                      min_interval: float = MIN_INTERVAL, min_rate: float = MIN_RATE,
                      scene_distance: float = SCENE_DISTANCE,
                      time_budget: float = DEFAULT_TIME_BUDGET) -> KeyframeResult:
    """Every kept frame of a video in one list (at most ``max_frames``, so at most that many
    frames' pixels in memory): for tests, the eval and short clips. The matcher and
    ``likewatch scan`` iterate a ``KeyframeStream`` and drop each frame once hashed."""
    stream = KeyframeStream(source, max_frames=max_frames, min_interval=min_interval,
                            min_rate=min_rate, scene_distance=scene_distance,
                            time_budget=time_budget)
    frames = list(stream)
    stream.result.frames = frames
    return stream.result
