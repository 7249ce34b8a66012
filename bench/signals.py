"""Benchmarks for the image signals, faces and video keyframes (issue 3, item 8).

Prints, from one run, single-threaded (so "per second" is per core):

(a) 720p JPEG thumbnails per second for the image hash signals (candidate side: pdq +
    phash from one reduced greyscale decode) against the naive path (Pillow full decode
    + ``imagehash.phash``), measured interleaved in the same run, and the ratio;
(b) milliseconds for the face signals (``face`` + ``face_pdq``, one detection pass) per
    640x360 frame holding one face;
(c) seconds of video per second for keyframe extraction + every signal including faces
    on a generated 640x360 H.264 video with faces and scene cuts.

Inputs are generated here from the committed face photos (sandbox/assets/faces) and
Meta's PDQ test photos (../shared/data/pdq) used as backgrounds.
Run: ``.venv/bin/python bench/signals.py``  (``--quick`` for fewer repetitions)
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from matchers.images import ImageInput  # noqa: E402
from matchers.signals import all_signal_types  # noqa: E402

FACES = sorted((REPO / "sandbox" / "assets" / "faces").glob("*.jpg"))
SCENES = sorted((REPO.parent / "shared" / "data" / "pdq").rglob("*.jpg"))


def _scene(i: int, size: tuple[int, int]) -> Image.Image:
    """A background photo ``i`` scaled to ``size`` with face photo ``i`` pasted in."""
    bg = Image.open(SCENES[i % len(SCENES)]).convert("RGB").resize(size, Image.Resampling.BILINEAR)
    face = Image.open(FACES[i % len(FACES)]).convert("RGB")
    scale = size[1] * 0.8 / face.height
    face = face.resize((round(face.width * scale), round(face.height * scale)))
    bg.paste(face, ((size[0] - face.width) // 2 + (i % 5 - 2) * size[0] // 12,
                    (size[1] - face.height) // 2))
    return bg


def _jpeg(img: Image.Image, quality: int = 80) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _rate(fn: Callable[[bytes], object], items: list[bytes]) -> float:
    t0 = time.perf_counter()
    for data in items:
        fn(data)
    return len(items) / (time.perf_counter() - t0)


def bench_thumbnails(rounds: int) -> None:
    signals = all_signal_types()
    pdq, phash = signals["pdq"], signals["phash"]
    thumbs = [_jpeg(_scene(i, (1280, 720))) for i in range(40)]

    def fast(data: bytes) -> object:
        image = ImageInput.from_bytes(data)
        return pdq.hash(image), phash.hash(image)

    def naive(data: bytes) -> object:
        return imagehash.phash(Image.open(io.BytesIO(data)).convert("RGB"))

    fast(thumbs[0]), naive(thumbs[0])  # warm up
    fast_rates, naive_rates = [], []
    for _ in range(rounds):  # interleaved, so both see the same machine load
        fast_rates.append(_rate(fast, thumbs))
        naive_rates.append(_rate(naive, thumbs))
    f, n = statistics.median(fast_rates), statistics.median(naive_rates)
    print(f"(a) 720p JPEG thumbnails, pdq + phash (reduced greyscale decode): {f:7.0f} /s per core"
          f"  ({1000 / f:.2f} ms each)")
    print(f"    naive: Pillow full decode + imagehash.phash:                 {n:7.0f} /s per core"
          f"  ({1000 / n:.2f} ms each)")
    print(f"    ratio: {f / n:.1f}x   (targets: >= 400 /s per core, >= 5x naive)")
