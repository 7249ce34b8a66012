"""PDQ: Meta's 256-bit perceptual hash, with its quality score and dihedral variants.

Computed with the ``pdqhash`` package (0.2.8) on a reduced decode (``pdq_input``): PDQ's
cost grows steeply with size (0.35 ms at 320x180, 14 ms at 1280x720,
``../shared/MEASURED.md``) while its output hardly moves. Checked in ``tests/matchers/test_signals_pdq.py`` against the
hashes ThreatExchange publishes for Meta's own test images: this pdqhash build emits the
bits in the published order (no 16-bit word reversal), and our hashes agree within
ThreatExchange's tolerance of 16 bits.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from matchers.images import ImageInput
from matchers.signals.base import SignalType, SignalValue
from matchers.signals.hamming import bits_to_hex, hamming, hex_to_array, validate_hex

# How PDQ sees an image (measured on 720p copies of Meta's and our test images, see
# tests/matchers/test_signals_pdq.py and bench/signals.py):
# - pictures whose shorter side is below PDQ_DIRECT_BELOW are hashed as they are, full
#   RGB decode, exactly as Meta's reference does (0-6 bits from the published hashes);
# - larger ones are decoded reduced, greyscale (JPEG: DCT-domain 1/8, luma only), to a
#   shorter side of at least PDQ_MIN_SIDE, then resized (bilinear, antialiased) to
#   64x64, the grid PDQ decimates to. PDQ's own Jarosz filter has a window of 1 pixel
#   below 128 px, so feeding it a small decode directly aliases: the same photo at
#   1080p and 720p then differed by up to 66 bits; through the 64x64 resize at most 10.
#   Meta's bridge images stay within 12 bits of the published hashes this way.
PDQ_DIRECT_BELOW = 0
PDQ_MIN_SIDE = 90
PDQ_GRID = 64

# Below this quality PDQ's hash is noise (flat or nearly uniform images): no signal.
# 50 is the cut-off Meta recommends and hasher-matcher-actioner applies.
PDQ_MIN_QUALITY = 50

# 31 bits of 256: Meta's published match threshold for PDQ. Measured on our data
# (../shared/MEASURED.md): JPEG q30 <= 6, resize 50% <= 14, brightness +30% <= 20 bits,
# the 8 dihedral variants of the bridge photo against the files <= 22 bits; unrelated
# images never below 90 bits (18k pairs), 1st percentile 108.
PDQ_THRESHOLD = 31

# Order in which pdqhash.compute_dihedral returns the variants (checked against the
# bridge-1..8 files of Meta's test set).
DIHEDRAL_VARIANTS = ("", "rotate90", "rotate180", "rotate270", "flipx", "flipy",
                     "flipplus1", "flipminus1")


def pdq_input(image: ImageInput) -> npt.NDArray[np.uint8]:
    """The ``H x W x 3`` array PDQ hashes for ``image`` (see PDQ_DIRECT_BELOW)."""
    if min(image.size) < PDQ_DIRECT_BELOW:
        return np.asarray(image.full())
    grey = image.reduced_grey(PDQ_MIN_SIDE).resize((PDQ_GRID, PDQ_GRID),
                                                  Image.Resampling.BILINEAR)
    return np.repeat(np.asarray(grey)[:, :, None], 3, axis=2)


def pdq_of_array(rgb: npt.NDArray[np.uint8]) -> tuple[str, int]:
    """(hex, quality) of an RGB uint8 array."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return bits_to_hex(bits), int(quality)


class PdqSignal(SignalType):
    """Whole-image PDQ; the reference side also stores the 7 rotations and mirrors."""

    kind: ClassVar[Literal["hamming", "euclidean"]] = "hamming"
    nbits: ClassVar[int] = 256
    THRESHOLD: ClassVar[float] = PDQ_THRESHOLD
    MIN_QUALITY: ClassVar[int] = PDQ_MIN_QUALITY
    EXAMPLES: ClassVar[list[str]] = [
        # Meta's bridge-1-original.jpg as published by ThreatExchange.
        "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22",
        "0" * 64,
        "f" * 64,
    ]

    def _array(self, image: ImageInput) -> npt.NDArray[np.uint8]:
        return pdq_input(image)

    def hash(self, image: ImageInput) -> list[SignalValue]:
        def compute() -> list[SignalValue]:
            hx, quality = pdq_of_array(self._array(image))
            if quality < self.MIN_QUALITY:
                return []
            return [SignalValue(self.name, hx, quality=float(quality))]

        return image.memo("signal:pdq", compute)

    def hash_reference(self, image: ImageInput) -> list[SignalValue]:
        bits_list, quality = pdqhash.compute_dihedral(np.ascontiguousarray(self._array(image)))
        if quality < self.MIN_QUALITY:
            return []
        seen: set[str] = set()
        out: list[SignalValue] = []
        for variant, bits in zip(DIHEDRAL_VARIANTS, bits_list, strict=True):
            hx = bits_to_hex(bits)
            if hx in seen:  # symmetric images give repeated variants
                continue
            seen.add(hx)
            out.append(SignalValue(self.name, hx, quality=float(quality), variant=variant))
        return out

    def distance(self, a: str, b: str) -> float:
        return float(hamming(self.validate(a), self.validate(b)))

    def validate(self, value: str) -> str:
        return validate_hex(value, self.nbits, self.name)

    def to_array(self, value: str) -> npt.NDArray[np.uint8]:
        return hex_to_array(self.validate(value))
