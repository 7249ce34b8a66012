"""The 64x64 luma grid PDQ hashes: Meta's own filter on small pictures, the shared grid on large.

Meta's PDQ (``pdqhash``, ThreatExchange's C++ and ports) turns the full-resolution picture
into float luma (0.299 R + 0.587 G + 0.114 B), blurs it with a Jarosz filter (a centred
box of ``(n + 127) // 128`` pixels, applied twice along rows and columns, shrinking at the
edges) and keeps the pixels at ``floor((i + 0.5) * n / 64)``. On a 256-pixel picture that
window is 2 pixels: the filter aliases, and the hash of a fine texture depends on it.

- **Small pictures** (shorter side below ``PDQ_EXACT_BELOW``: Meta's 256x256 test photos,
  headshots, 640x360 frames) are decoded in full and filtered exactly as Meta does, written
  as two matrix products (``grid = rows @ luma @ cols.T``; the filter is linear). The hash
  is then pdqhash's own to float rounding (tested on every photo of ``../shared/data/pdq``).
  Decoding these at full size costs little; the shared 1/8 greyscale decode
  (``matchers/signals/grid.py``) went too far there: a 256x256 photo came out 74 bits from
  Meta's hash (q0122, a fine texture), 20-26 for the others of that size.
- **Large pictures** (720p thumbnails and up) keep the shared grid: a reduced greyscale
  decode and an antialiased resize, within 14 bits of Meta's hash on its large test photos
  and 2-4x cheaper than a full decode (``bench/signals.py`` (a)).

Measured on the committed faces and Meta's photos resized to longer sides of 150-1280 px
(JPEG q90): Meta's own algorithm moves up to 36 bits between sizes of one fine-texture
photo (the aliasing above), up to 28 on headshots; the shared grid alone at most 14. Both
stay under PDQ's match threshold of 31 on headshots; whole-image PDQ is only one of the
signals that catch a resized copy (the face signals do not depend on this filter).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from matchers.images import ImageInput
from matchers.signals.grid import GRID, luma_grid

# Pictures whose shorter side is below this are hashed from a full decode with Meta's
# filter. At 512 px Meta's window is 4-5 pixels and the shared grid agrees with Meta's hash
# within 16 bits on every test photo; below it the two part (see the module docstring).
PDQ_EXACT_BELOW = 512
# Meta's PDQ_NUM_JAROSZ_XY_PASSES.
JAROSZ_PASSES = 2

F32 = npt.NDArray[np.float32]


def jarosz_window(n: int, out: int = GRID) -> int:
    """Meta's ``computeJaroszFilterWindowSize``: the box width for ``n`` pixels to ``out``."""
    return (n + 2 * out - 1) // (2 * out)


def _box_bounds(n: int, window: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """[lo, hi) of Meta's ``box1DFloat`` window around each of ``n`` positions."""
    half = (window + 2) // 2
    i = np.arange(n)
    return np.maximum(i + half - window, 0), np.minimum(i + half, n)


@functools.lru_cache(maxsize=64)
def jarosz_matrix(n: int, out: int = GRID) -> F32:
    """``(out, n)``: the Jarosz filter along one axis composed with the decimation.

    Row ``k`` is the unit vector of sample ``floor((k + 0.5) * n / out)`` passed back
    through ``JAROSZ_PASSES`` box filters (each output of a box is the mean of its
    window, so a weight spreads evenly over that window).
    """
    lo, hi = _box_bounds(n, jarosz_window(n, out))
    rows = np.zeros((out, n), dtype=np.float64)
    rows[np.arange(out), ((np.arange(out) + 0.5) * n / out).astype(np.intp)] = 1.0
    for _ in range(JAROSZ_PASSES):
        spread = np.zeros((out, n + 1), dtype=np.float64)
        weight = rows / (hi - lo)  # each output's weight, shared over its window
        np.add.at(spread.T, lo, weight.T)
        np.subtract.at(spread.T, hi, weight.T)
        rows = np.cumsum(spread, axis=1)[:, :n]
        rows[np.abs(rows) < 1e-9] = 0.0  # cumsum leaves rounding dust outside the windows
    return rows.astype(np.float32)


@functools.lru_cache(maxsize=64)
def jarosz_taps(n: int, out: int = GRID) -> tuple[npt.NDArray[np.intp], F32]:
    """``jarosz_matrix(n)`` as taps: ``(out, k)`` positions and weights of its nonzeros.

    Each row touches only ``2 * window - 1`` neighbouring pixels, so the first product is
    done as a weighted sum of a few rows instead of a dense product (70x fewer operations
    on a 640x360 frame).
    """
    m = jarosz_matrix(n, out)
    k = int((m != 0).sum(axis=1).max())
    idx = np.zeros((out, k), dtype=np.intp)
    wts = np.zeros((out, k), dtype=np.float32)
    for r in range(out):
        nz = np.flatnonzero(m[r])
        idx[r, :len(nz)], wts[r, :len(nz)] = nz, m[r, nz]
    return idx, wts


_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def meta_grid(rgb: npt.NDArray[np.uint8]) -> F32:
    """The 64x64 grid Meta's PDQ computes from a full RGB picture (``H x W x 3`` uint8).

    The filter and the luma conversion are linear, so rows are filtered first (on the few
    rows the samples need), then converted to luma, then filtered along the columns.
    """
    h, w = rgb.shape[:2]
    ri, rw = jarosz_taps(h)
    ci, cw = jarosz_taps(w)
    picked = rgb[ri].astype(np.float32).reshape(GRID, ri.shape[1], -1)  # (64, k, w * 3)
    rows = np.matmul(rw[:, None, :], picked).reshape(GRID, w, 3)
    luma = rows @ _LUMA  # (64, w)
    grid: F32 = np.einsum("rok,ok->ro", luma[:, ci], cw)
    return grid


def pdq_grid(image: ImageInput) -> F32:
    """The 64x64 luma grid PDQ hashes for ``image`` (see the module docstring)."""
    if min(image.size) >= PDQ_EXACT_BELOW:
        return luma_grid(image)
    return image.memo("pdq_grid", lambda: meta_grid(np.asarray(image.full())))
