"""The 64x64 luma grid both whole-image hashes are computed from, once per image.

A thumbnail is decoded reduced and greyscale (JPEG: DCT-domain 1/8 scale, luma only;
``ImageInput.reduced_grey``) to a shorter side of at least ``GRID_MIN_SIDE``, then resized
(bilinear, antialiased) to 64x64: exactly the grid PDQ decimates every picture to, and
from which pHash's 32x32 thumbnail is a 2x2 mean. One decode, one resize, two hashes.

Why not let PDQ filter the picture itself: its Jarosz filter has a 1-pixel window below
128 px, so a small decode fed straight in aliases (the same photo at 1080p and 720p
differed by up to 66 bits); through this grid at most 10 (tests/matchers, bench/).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from matchers.images import ImageInput

GRID_MIN_SIDE = 90  # 1/8 of a 720p frame
GRID = 64


def luma_grid(image: ImageInput) -> npt.NDArray[np.float32]:
    """``image``'s 64x64 float32 luma grid (0-255), computed once and cached on it."""
    def compute() -> npt.NDArray[np.float32]:
        grey = image.reduced_grey(GRID_MIN_SIDE).resize((GRID, GRID), Image.Resampling.BILINEAR)
        return np.asarray(grey, dtype=np.float32)

    return image.memo("luma_grid", compute)
