"""Keyframes from a video with PyAV: scene-change selection over I-frames plus a minimum rate.

1. Every packet is demuxed, but only key frames are decoded (``skip_frame = "NONKEY"``):
   encoders put an I-frame at each scene cut, and decoding only those runs at 300-1000x
   real time (``docs/measurements.md``).
2. Where I-frames are further apart than ``1 / min_rate`` seconds (long GOPs, slow
   scenes), frames are added at that rate by seeking and decoding forward.
3. A frame is kept only if it differs perceptually from every frame kept so far (pHash
   distance above ``scene_distance``; the pHash is cached on the frame's ``ImageInput``,
   so the matchers reuse it) and is at least ``min_interval`` after the previous one; flat
   frames (black, fades: no pHash) are dropped. At most ``max_frames`` are kept, spread
   evenly over the video if there were more.
4. A corrupt or truncated video gives the frames decoded so far plus a reason in
   ``errors``; only a file that is not a video at all gives no frames. Never an exception.

Frames become ``ImageInput.from_array`` (longer side at most ``MAX_FRAME_SIDE``), so
keyframes and thumbnails take the same path through the signals.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from matchers.images import ImageError, ImageInput
from matchers.signals.phash import PhashSignal

# Two frames within this pHash distance show the same scene (the pHash match threshold).
SCENE_DISTANCE = 8
# Frames are scaled down to this longer side: enough for faces (see matchers/faces.py).
MAX_FRAME_SIDE = 1280
# A stream whose packets stop this long before its announced duration was truncated.
TRUNCATION_SLACK = 1.0
# Decode forward instead of seeking again when the next wanted time is this close.
REDECODE_SPAN = 3.0
DEFAULT_TIME_BUDGET = 60.0

_PHASH = PhashSignal()


@dataclass(frozen=True)
class Keyframe:
    t: float  # seconds from the start of the video
    image: ImageInput
    label: str  # "t=1.23s"
    key: bool = True  # an I-frame (False: added for the minimum rate)


@dataclass
class KeyframeResult:
    frames: list[Keyframe] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duration: float | None = None  # seconds, as announced by the container
    decoded: int = 0  # frames decoded (key frames and rate frames)


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
    return ImageInput.from_array(arr, name=f"t={t:.2f}s")


def _frame_time(frame: Any, stream: Any) -> float | None:
    if frame.pts is None:
        return None
    return float(frame.pts * stream.time_base) - _start(stream)


def _start(stream: Any) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0


class _Extractor:
    def __init__(self, container: Any, stream: Any, *, min_interval: float, min_rate: float,
                 deadline: float, result: KeyframeResult) -> None:
        self.container = container
        self.stream = stream
        self.min_interval = min_interval
        self.min_rate = min_rate
        self.deadline = deadline
        self.result = result
        self.candidates: list[Keyframe] = []
        self.last_packet_t = 0.0
        self.decode_errors = 0
        self.first_error = ""

    def _over_budget(self, where: float) -> bool:
        if time.monotonic() > self.deadline:
            self.result.errors.append(f"time budget exceeded at t={where:.2f}s")
            return True
        return False

    def _note(self, e: Exception) -> None:
        self.decode_errors += 1
        if not self.first_error:
            self.first_error = f"{type(e).__name__}: {e}"

    def key_frames(self) -> bool:
        """Pass 1: decode I-frames only. False if the time budget ran out."""
        self.stream.codec_context.skip_frame = "NONKEY"
        last_kept = -1e9
        start = _start(self.stream)
        try:
            for packet in self.container.demux(self.stream):
                if packet.pts is not None:
                    end = float((packet.pts + (packet.duration or 0)) * self.stream.time_base)
                    self.last_packet_t = max(self.last_packet_t, end - start)
                try:
                    frames = packet.decode()
                except (av.error.FFmpegError, ValueError) as e:
                    self._note(e)
                    continue
                for frame in frames:
                    self.result.decoded += 1
                    t = _frame_time(frame, self.stream)
                    if t is None or t - last_kept < self.min_interval:
                        continue
                    last_kept = t
                    self.candidates.append(Keyframe(t, _to_input(frame, t), f"t={t:.2f}s"))
                    if self._over_budget(t):
                        return False
        except (av.error.FFmpegError, OSError, ValueError) as e:
            self._note(e)
        return True

    def fill_times(self) -> list[float]:
        """Times to sample so that no gap between looked-at frames exceeds ``1 / min_rate``."""
        if self.min_rate <= 0:
            return []
        period = 1.0 / self.min_rate
        end = self.last_packet_t
        wanted: list[float] = []
        last: float | None = None
        for t in [*sorted(c.t for c in self.candidates), end]:
            if last is None:
                if t <= period:
                    last = t
                    continue
                wanted.append(0.0)
                last = 0.0
            while t - last > period:
                last += period
                if last >= t - self.min_interval:
                    break
                wanted.append(last)
            last = max(last, t)
        return [w for w in wanted if w < end]

    def rate_frames(self, wanted: list[float]) -> None:
        """Pass 2: seek to each wanted time and decode forward to it."""
        self.stream.codec_context.skip_frame = "DEFAULT"
        tb = self.stream.time_base
        start = _start(self.stream)
        i = 0
        while i < len(wanted):
            if self._over_budget(wanted[i]):
                return
            try:
                self.container.seek(int((wanted[i] + start) / tb), stream=self.stream,
                                    backward=True, any_frame=False)
                progressed = False
                for frame in self.container.decode(self.stream):
                    self.result.decoded += 1
                    t = _frame_time(frame, self.stream)
                    if t is None or t < wanted[i] - 1e-3:
                        continue
                    progressed = True
                    self.candidates.append(
                        Keyframe(t, _to_input(frame, t), f"t={t:.2f}s", key=False))
                    while i < len(wanted) and wanted[i] <= t + 1e-3:
                        i += 1
                    if i >= len(wanted) or wanted[i] - t > REDECODE_SPAN:
                        break
                if not progressed:
                    i += 1  # nothing decodable at or after that time
            except (av.error.FFmpegError, OSError, ValueError) as e:
                self._note(e)
                i += 1


def _select(candidates: list[Keyframe], *, scene_distance: float, min_interval: float,
            max_frames: int) -> list[Keyframe]:
    kept: list[Keyframe] = []
    hashes: list[str] = []
    for c in sorted(candidates, key=lambda k: k.t):
        if kept and c.t - kept[-1].t < min_interval:
            continue
        try:
            values = _PHASH.hash(c.image)
        except ImageError:
            continue
        if not values:  # flat frame
            continue
        h = values[0].value
        if any(_PHASH.distance(h, k) <= scene_distance for k in hashes):
            continue
        kept.append(c)
        hashes.append(h)
    if not kept and candidates:  # only flat frames (a black video): still say what it shows
        kept = [min(candidates, key=lambda k: k.t)]
    if len(kept) > max_frames:
        idx = np.linspace(0, len(kept) - 1, max_frames).round().astype(int)
        kept = [kept[i] for i in sorted(set(idx.tolist()))]
    return kept


def extract_keyframes(source: Path | str | bytes, *, max_frames: int = 24,
                      min_interval: float = 0.5, min_rate: float = 0.2,
                      scene_distance: float = SCENE_DISTANCE,
                      time_budget: float = DEFAULT_TIME_BUDGET) -> KeyframeResult:
    """Representative frames of a video (a path or the file's bytes); never raises.

    ``min_rate``: at least this many frames a second are looked at (0.2: one every 5 s)
    even without I-frames; ``min_interval``: kept frames are at least this far apart;
    ``scene_distance``: pHash distance a frame must exceed from every kept frame (-1 keeps
    all candidates); ``time_budget``: seconds of work before giving up with an error.
    """
    result = KeyframeResult()
    try:
        container = _open(source)
    except (av.error.FFmpegError, OSError, ValueError) as e:
        result.errors.append(f"not a readable video: {type(e).__name__}: {e}")
        return result
    try:
        streams = [s for s in container.streams if s.type == "video"]
        if not streams:
            result.errors.append("no video stream")
            return result
        stream = streams[0]
        if stream.duration is not None:
            result.duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            result.duration = container.duration / av.time_base
        ex = _Extractor(container, stream, min_interval=min_interval, min_rate=min_rate,
                        deadline=time.monotonic() + time_budget, result=result)
        if ex.key_frames():
            ex.rate_frames(ex.fill_times())
        if ex.decode_errors:
            result.errors.append(f"{ex.decode_errors} decode error(s), first: {ex.first_error}")
        if result.duration and ex.last_packet_t < result.duration - TRUNCATION_SLACK:
            result.errors.append(f"truncated: data ends at {ex.last_packet_t:.2f}s of "
                                 f"{result.duration:.2f}s")
        if not ex.candidates and not result.errors:
            result.errors.append("no decodable frame")
        result.frames = _select(ex.candidates, scene_distance=scene_distance,
                                min_interval=min_interval, max_frames=max_frames)
    except Exception as e:  # noqa: BLE001 - a broken video must never stop a batch
        result.errors.append(f"video error: {type(e).__name__}: {e}")
    finally:
        container.close()
    return result
