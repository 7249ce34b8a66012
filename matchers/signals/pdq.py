"""PDQ: Meta's 256-bit perceptual hash, with its quality score and dihedral variants.

Computed from the image's 64x64 luma grid (``matchers/signals/pdq_grid.py``: Meta's own
filter on a full decode for small pictures; for large ones the reduced greyscale decode
shared with pHash, ``matchers/signals/grid.py``) by ``pdq_of_grid``, a numpy
transcription of PDQ's last steps (16x16 of the 64-point DCT-II, bits above the median,
gradient quality) that gives bit for bit what the ``pdqhash`` package (0.2.8) gives for
a 64x64 input (tested), at half its cost; the dihedral variants come from the same DCT by sign
changes and transposition (PDQ's own trick), also tested equal to pdqhash's.

``tests/matchers/test_signals_pdq.py`` checks pdqhash and this signal against the hashes
ThreatExchange publishes for Meta's own test images: this pdqhash build emits the bits in
the published order (no 16-bit word reversal); see there for the agreement measured.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pdqhash

from matchers.images import ImageInput
from matchers.signals.base import SignalValue
from matchers.signals.grid import GRID
from matchers.signals.hamming import HammingSignal, bits_to_hex
from matchers.signals.pdq_grid import pdq_grid

# Below this quality PDQ's hash is noise (flat or nearly uniform images): no signal.
# 50 is the cut-off Meta recommends and hasher-matcher-actioner applies.
PDQ_MIN_QUALITY = 50

# 31 bits of 256: Meta's published match threshold for PDQ. Measured on our data
# (docs/measurements.md): JPEG q30 <= 6, resize 50% <= 14, brightness +30% <= 20 bits;
# with this grid on 720p copies of Meta's and our photos (tests/, bench/): JPEG q30
# <= 26, resize 50% <= 16, brightness +30% <= 30, the 8 rotations/flips of the bridge
# photo <= 22 through the dihedral variants; different pictures never below 76 bits
# (headshots), 90 (docs/measurements.md, 18k pairs), 1st percentile 108.
PDQ_THRESHOLD = 31

# Variant names, in pdqhash.compute_dihedral's order (checked against Meta's bridge-1..8).
DIHEDRAL_VARIANTS = ("", "rotate90", "rotate180", "rotate270", "flipx", "flipy",
                     "flipplus1", "flipminus1")

_I = np.arange(16)[:, None]
_J = np.arange(GRID)[None, :]
# Rows 1..16 of the orthonormal 64-point DCT-II (PDQ skips the DC row).
_DCT = (np.sqrt(2.0 / GRID) * np.cos(np.pi / 2.0 / GRID * (_I + 1) * (2 * _J + 1))).astype(np.float32)
# (-1)^(k+1) per frequency row / column: mirroring the picture flips these signs.
_SIGN = ((-1.0) ** (np.arange(16) + 1)).astype(np.float32)
_R = _SIGN[:, None]
_C = _SIGN[None, :]


def pdq_dct(grid: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], int]:
    """(16x16 DCT coefficients, quality 0-100) of a 64x64 luma grid."""
    coeffs: npt.NDArray[np.float32] = _DCT @ grid @ _DCT.T
    dv = np.trunc((grid[:-1, :] - grid[1:, :]) * 100.0 / 255.0)
    dh = np.trunc((grid[:, :-1] - grid[:, 1:]) * 100.0 / 255.0)
    quality = min(100, int(np.abs(dv).sum() + np.abs(dh).sum()) // 90)
    return coeffs, quality


def pdq_bits(coeffs: npt.NDArray[np.float32]) -> str:
    """Hex of the 256 bits "coefficient above the median", in PDQ's published order."""
    flat = coeffs.ravel()
    median = np.partition(flat, 127)[127]
    return bits_to_hex((flat > median)[::-1])


def pdq_of_grid(grid: npt.NDArray[np.float32]) -> tuple[str, int]:
    """(hex, quality) of a 64x64 luma grid."""
    coeffs, quality = pdq_dct(grid)
    return pdq_bits(coeffs), quality


def pdq_dihedral(coeffs: npt.NDArray[np.float32]) -> list[str]:
    """The 8 hashes of the picture rotated/flipped, in ``DIHEDRAL_VARIANTS`` order."""
    b = coeffs
    return [pdq_bits(m) for m in (b, (_C * b).T, _R * _C * b, (_R * b).T, _R * b, _C * b,
                                  b.T, (_R * _C * b).T)]


def pdq_of_array(rgb: npt.NDArray[np.uint8]) -> tuple[str, int]:
    """(hex, quality) of an RGB uint8 array of any size, with the ``pdqhash`` package."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return bits_to_hex(bits), int(quality)


class PdqSignal(HammingSignal):
    """Whole-image PDQ; the reference side also stores the 7 rotations and mirrors."""

    nbits: ClassVar[int] = 256
    THRESHOLD: ClassVar[float] = PDQ_THRESHOLD
    MIN_QUALITY: ClassVar[int] = PDQ_MIN_QUALITY
    EXAMPLES: ClassVar[list[str]] = [
        # Meta's bridge-1-original.jpg as published by ThreatExchange.
        "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22",
        "0" * 64,
        "f" * 64,
    ]

    def hash(self, image: ImageInput) -> list[SignalValue]:
        def compute() -> list[SignalValue]:
            hx, quality = pdq_of_grid(pdq_grid(image))
            if quality < self.MIN_QUALITY:
                return []
            return [SignalValue(self.name, hx, quality=float(quality))]

        return image.memo("signal:pdq", compute)

    def hash_reference(self, image: ImageInput) -> list[SignalValue]:
        coeffs, quality = pdq_dct(pdq_grid(image))
        if quality < self.MIN_QUALITY:
            return []
        seen: set[str] = set()
        out: list[SignalValue] = []
        for variant, hx in zip(DIHEDRAL_VARIANTS, pdq_dihedral(coeffs), strict=True):
            if hx in seen:  # symmetric pictures repeat variants
                continue
            seen.add(hx)
            out.append(SignalValue(self.name, hx, quality=float(quality), variant=variant))
        return out
