"""H.264 MP4 clips for the sandbox, encoded with PyAV (its wheel bundles libx264).

Each scene of a video plan is one still picture shown with a slow zoom and pan, so
consecutive frames differ slightly and the cuts between scenes are hard cuts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import av
from PIL import Image

from sandbox.imaging import HEIGHT, WIDTH


def scene_frames(picture: Image.Image, n_frames: int, seed: int) -> Iterator[Image.Image]:
    """`n_frames` frames of a slow zoom (up to ~9%) and pan over `picture`."""
    rng = random.Random(seed)
    zoom_end = rng.uniform(1.04, 1.09)
    zoom_in = rng.random() < 0.5
    fx, fy = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
    for i in range(n_frames):
        t = i / max(1, n_frames - 1)
        z = 1 + (zoom_end - 1) * (t if zoom_in else 1 - t)
        w, h = WIDTH / z, HEIGHT / z
        x0, y0 = (WIDTH - w) * fx, (HEIGHT - h) * fy
        yield picture.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR,
                             box=(x0, y0, x0 + w, y0 + h))


def encode(path: Path, scenes: Sequence[tuple[Image.Image, int, int]], fps: int) -> None:
    """Write an H.264 MP4 of the scenes, each given as (picture, n_frames, seed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuv420p"
        # One thread and fixed options keep the output identical from run to run.
        stream.options = {"crf": "30", "preset": "veryfast", "threads": "1", "g": str(fps * 2)}
        for picture, n_frames, seed in scenes:
            for frame_image in scene_frames(picture, n_frames, seed):
                frame = av.VideoFrame.from_image(frame_image)  # type: ignore[no-untyped-call]
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
