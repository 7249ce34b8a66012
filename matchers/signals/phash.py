"""pHash: 64-bit DCT perceptual hash (the same definition as ``imagehash.phash``).

Computed from a reduced decode (``PHASH_MIN_SIDE``): the hash only looks at a 32x32
greyscale thumbnail, so decoding the JPEG at 1/8 (or sharing PDQ's 1/4 decode) loses
nothing: 0 bits median, at most 4 of 64 against a full decode (``../shared/MEASURED.md``).
The DCT is a precomputed 8x32 matrix product instead of two full scipy DCTs; the bits
equal ``imagehash.phash`` of the same 32x32 thumbnail (tested).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

from matchers.images import ImageInput
from matchers.signals.base import SignalType, SignalValue
from matchers.signals.hamming import bits_to_hex, hamming, hex_to_array, validate_hex

# Shorter side of the greyscale reduced decode: PDQ's (1/8 of 720p), so a thumbnail is
# decoded once for both hashes.
PHASH_MIN_SIDE = 90

# 8 bits of 64. Measured (../shared/MEASURED.md, pHash on reduced decodes): JPEG q30 and
# resize 50% at most 2 bits, brightness +30% median 2, max 8; unrelated images never
# below 12 (18k pairs), 1st percentile 22. On our 40 look-alike studio headshots plus
# Meta's test photos (bench/ and tests/matchers/test_signals_phash.py): different
# pictures >= 12; JPEG q30 <= 2 and resize 50% <= 6, but brightness +30% moved one
# headshot by 10 bits: pHash is the cheap first signal, PDQ (<= 26 of its 31 there)
# and the face signals carry the harder cases.
PHASH_THRESHOLD = 8

# A flat picture hashes to rounding noise around the median: no signal when the 32x32
# grey thumbnail's standard deviation is below this many grey levels (of 255). Photos
# sit at 30-95; Meta's two low-quality test images (PDQ quality 3 and 4) at 3.6 and 10.9,
# and their pHash moved 12-16 bits under JPEG q30 or brightness.
PHASH_MIN_STD = 12.0

_N = 32
_K = np.arange(8)[:, None]
_X = np.arange(_N)[None, :]
# Unnormalised DCT-II rows 0..7, as scipy.fftpack.dct(type=2) computes them.
_DCT8 = (2.0 * np.cos(np.pi * _K * (2 * _X + 1) / (2 * _N))).astype(np.float64)


def phash_of_pil(img: Image.Image) -> tuple[str, float]:
    """(hex, grey std) of a PIL image: 32x32 grey (Lanczos), 8x8 DCT, bits above median."""
    grey = img.convert("L").resize((_N, _N), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.float64)
    low = _DCT8 @ pixels @ _DCT8.T
    bits = low > np.median(low)
    return bits_to_hex(bits), float(pixels.std())


class PhashSignal(SignalType):
    """64-bit pHash of the whole image."""

    kind: ClassVar[Literal["hamming", "euclidean"]] = "hamming"
    nbits: ClassVar[int] = 64
    THRESHOLD: ClassVar[float] = PHASH_THRESHOLD
    EXAMPLES: ClassVar[list[str]] = ["0" * 16, "f" * 16, "c3a1b2f00f5a6e91"]

    def hash(self, image: ImageInput) -> list[SignalValue]:
        def compute() -> list[SignalValue]:
            hx, std = phash_of_pil(image.reduced_grey(PHASH_MIN_SIDE))
            if std < PHASH_MIN_STD:
                return []
            return [SignalValue(self.name, hx, quality=round(std, 3))]

        return image.memo("signal:phash", compute)

    def distance(self, a: str, b: str) -> float:
        return float(hamming(self.validate(a), self.validate(b)))

    def validate(self, value: str) -> str:
        return validate_hex(value, self.nbits, self.name)

    def to_array(self, value: str) -> npt.NDArray[np.uint8]:
        return hex_to_array(self.validate(value))
