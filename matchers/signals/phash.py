"""pHash: 64-bit DCT perceptual hash (``imagehash.phash``'s definition).

pHash looks at a 32x32 greyscale thumbnail: 8x8 lowest DCT frequencies, bits above their
median. ``imagehash`` makes that thumbnail with a Lanczos resize of the full picture; the
signal makes it as a 2x2 mean of the 64x64 luma grid it shares with PDQ
(``matchers/signals/grid.py``: one 1/8-scale greyscale JPEG decode), which moves the hash
by at most a few bits from ``imagehash.phash`` (tested: <= 2 on committed photos) and
costs a fraction.
``phash_of_pil`` is the exact imagehash definition (bits equal, tested), kept for tools.
The DCT is a precomputed 8x32 matrix product instead of two full scipy DCTs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from matchers.images import ImageInput
from matchers.signals.base import SignalValue
from matchers.signals.grid import luma_grid
from matchers.signals.hamming import HammingSignal, bits_to_hex

# 8 bits of 64. Measured (docs/measurements.md, pHash on reduced decodes): JPEG q30 and
# resize 50% at most 2 bits, brightness +30% median 2, max 8; unrelated images never
# below 12 (18k pairs), 1st percentile 22. On our 40 look-alike studio headshots plus
# Meta's test photos (bench/ and tests/matchers/test_signals_phash.py): different
# pictures >= 12; JPEG q30 <= 2 and resize 50% <= 6, but brightness +30% moved one
# headshot by 10 bits: pHash is the cheap first signal, PDQ (<= 26 of its 31 there)
# and the face signals carry the harder cases.
PHASH_THRESHOLD = 8

# A flat picture hashes to rounding noise around the median: no signal when the grey
# standard deviation (of the 64x64 grid) is below this many grey levels (of 255). Photos
# sit at 30-95; Meta's two low-quality test images (PDQ quality 3 and 4) at 4.2 and 10.9,
# and their pHash moved 12-16 bits under JPEG q30 or brightness.
PHASH_MIN_STD = 12.0

_N = 32
_K = np.arange(8)[:, None]
_X = np.arange(_N)[None, :]
# Unnormalised DCT-II rows 0..7, as scipy.fftpack.dct(type=2) computes them.
_DCT8 = (2.0 * np.cos(np.pi * _K * (2 * _X + 1) / (2 * _N))).astype(np.float64)
# The same applied to a 64x64 grid whose 2x2 means are the thumbnail: DCT8 @ (mean rows).
_DCT8_GRID = (np.repeat(_DCT8, 2, axis=1) / 2.0).astype(np.float32)


def _bits(low: npt.NDArray[np.floating[Any]]) -> str:
    flat = low.ravel()
    mid = np.partition(flat, (31, 32))
    return bits_to_hex(flat > (mid[31] + mid[32]) / 2)  # above np.median, without its cost


def phash_of_thumbnail(pixels: npt.NDArray[np.floating[Any]]) -> tuple[str, float]:
    """(hex, grey std) of a 32x32 grey thumbnail: 8x8 DCT, bits above their median."""
    return _bits(_DCT8 @ pixels @ _DCT8.T), float(pixels.std())


def phash_of_grid(grid: npt.NDArray[np.float32]) -> tuple[str, float]:
    """(hex, grey std) from a 64x64 luma grid: its 2x2 means are the 32x32 thumbnail,
    folded into the DCT matrix (``_DCT8_GRID``), so this is two small matrix products."""
    return _bits(_DCT8_GRID @ grid @ _DCT8_GRID.T), float(grid.std())


def phash_of_pil(img: Image.Image) -> tuple[str, float]:
    """(hex, grey std) exactly as ``imagehash.phash``: 32x32 grey by Lanczos, 8x8 DCT."""
    grey = img.convert("L").resize((_N, _N), Image.Resampling.LANCZOS)
    return phash_of_thumbnail(np.asarray(grey, dtype=np.float64))


class PhashSignal(HammingSignal):
    """64-bit pHash of the whole image."""

    nbits: ClassVar[int] = 64
    THRESHOLD: ClassVar[float] = PHASH_THRESHOLD
    EXAMPLES: ClassVar[list[str]] = ["0" * 16, "f" * 16, "c3a1b2f00f5a6e91"]

    def hash(self, image: ImageInput) -> list[SignalValue]:
        def compute() -> list[SignalValue]:
            hx, std = phash_of_grid(luma_grid(image))
            if std < PHASH_MIN_STD:
                return []
            return [SignalValue(self.name, hx, quality=round(std, 3))]

        return image.memo("signal:phash", compute)
