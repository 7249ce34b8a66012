"""Exact in-memory search structures behind the reference banks.

``HammingIndex``: exact Hamming-radius search over packed bit strings.

- Linear mode: the codes as ``uint64`` words, XOR with the query and ``np.bitwise_count``,
  in blocks that stay in cache. The scan is bound by memory bandwidth
  (``../shared/MEASURED.md``), so past a few thousand codes fewer bytes scanned beats
  a faster popcount, hence:
- Multi-index hashing (Norouzi et al., "Fast Search in Hamming Space with Multi-Index
  Hashing", CVPR 2012): the ``nbits`` are cut into ``m = nbits / 16`` chunks of 16 bits.
  By the pigeonhole principle, if ``d(q, x) <= r`` then at least one chunk of ``x``
  differs from the same chunk of ``q`` in at most ``s = floor(r / m)`` bits. So we look
  up, in each chunk's table, every 16-bit key within ``s`` bits of the query's chunk
  (``sum_{i<=s} C(16, i)`` keys: 17 for s = 1, 137 for s = 2) and verify each candidate
  found with its full distance - the result is exact, never approximate.
  PDQ (256 bits, m = 16) at radius 31 gives s = 1: 16 x 17 = 272 buckets, each holding
  N / 65536 codes on average (24 at 1.6 M codes = 200 k references x 8 dihedral
  variants), about 6,600 codes verified instead of 1.6 M. pHash (64 bits, m = 4) at
  radius <= 11 gives s <= 2. The index picks MIH when its expected work is well below a
  linear scan (large banks, s <= 2) and the linear scan otherwise.

``EuclideanIndex``: exact Euclidean distances for embeddings. Rows are grouped by person;
each group keeps its centre ``c`` and radius ``R`` (the largest distance of a member from
``c``). By the triangle inequality ``|q - x| >= |q - c| - R``, so a group whose centre
is farther than ``radius + R`` cannot hold a match and is skipped without reading its
rows; the rows of the remaining groups get their exact distance. The centres are scored
with one matrix-vector product. When there are not many fewer groups than rows, it is a
plain matrix-vector product over all rows, then the exact check.
"""

from __future__ import annotations

from itertools import combinations
from typing import Literal

import numpy as np
import numpy.typing as npt

CHUNK_BITS = 16
_BUCKETS = 1 << CHUNK_BITS
_BLOCK = 32768  # rows per block in linear scans: a few MB, stays in cache

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def flip_masks(max_bits: int, width: int = CHUNK_BITS) -> npt.NDArray[np.uint16]:
    """Every ``width``-bit mask with at most ``max_bits`` bits set (0 first)."""
    masks = [0]
    for k in range(1, max_bits + 1):
        for pos in combinations(range(width), k):
            masks.append(sum(1 << p for p in pos))
    return np.array(masks, dtype=np.uint16)


def _ranges(lo: IntArray, hi: IntArray) -> IntArray:
    """Concatenation of ``arange(lo[i], hi[i])`` for all i, vectorised."""
    lens = hi - lo
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(lens) - lens
    return np.repeat(lo - starts, lens) + np.arange(total, dtype=np.int64)


class HammingIndex:
    """Exact search for all codes within ``radius`` bits of a query."""

    def __init__(self, nbits: int, codes: npt.NDArray[np.uint8], radius: int,
                 mode: Literal["auto", "linear", "mih"] = "auto") -> None:
        if nbits % 64:
            raise ValueError(f"nbits must be a multiple of 64, got {nbits}")
        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, nbits // 8)
        self.nbits = nbits
        self.radius = int(radius)
        self.n = codes.shape[0]
        self.words = codes.view(np.uint64)  # (n, nbits / 64)
        self.m = nbits // CHUNK_BITS
        self.s = self.radius // self.m
        n_masks = sum(len(list(combinations(range(CHUNK_BITS), k))) for k in range(self.s + 1))
        expected = self.m * n_masks * (1 + self.n / _BUCKETS)
        if mode == "auto":
            mode = "mih" if self.s <= 2 and expected * 8 < self.n else "linear"
        self.mode = mode
        if mode == "mih":
            self._build_mih(codes)

    def _build_mih(self, codes: npt.NDArray[np.uint8]) -> None:
        self.masks = flip_masks(self.s).astype(np.int64)
        chunks = codes.view(np.uint16).astype(np.int64)  # (n, m)
        keys = (chunks + np.arange(self.m, dtype=np.int64) * _BUCKETS).T.ravel()  # chunk-major
        order = np.argsort(keys, kind="stable")
        self.rows = (order % max(self.n, 1)).astype(np.int32)
        counts = np.bincount(keys, minlength=self.m * _BUCKETS)
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def _query_words(self, query: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
        q = np.ascontiguousarray(query, dtype=np.uint8).reshape(self.nbits // 8)
        return q.view(np.uint64)

    def search(self, query: npt.NDArray[np.uint8],
               radius: int | None = None) -> tuple[IntArray, IntArray]:
        """Rows within ``radius`` (default: the index's) of ``query``, with their distances."""
        r = self.radius if radius is None else int(radius)
        if r > self.radius and self.mode == "mih":
            raise ValueError(f"radius {r} exceeds the index radius {self.radius}")
        if self.n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        qw = self._query_words(query)
        if self.mode == "mih":
            qc = qw.view(np.uint16).astype(np.int64)
            g = ((qc[:, None] ^ self.masks[None, :])
                 + np.arange(self.m, dtype=np.int64)[:, None] * _BUCKETS).ravel()
            cand = np.unique(self.rows[_ranges(self.starts[g], self.starts[g + 1])])
            d = np.bitwise_count(self.words[cand] ^ qw).sum(axis=1, dtype=np.int64)
            keep = d <= r
            return cand[keep].astype(np.int64), d[keep]
        out_rows, out_d = [], []
        for b in range(0, self.n, _BLOCK):
            d = np.bitwise_count(self.words[b:b + _BLOCK] ^ qw).sum(axis=1, dtype=np.int64)
            hit = np.flatnonzero(d <= r)
            if hit.size:
                out_rows.append(hit + b)
                out_d.append(d[hit])
        if not out_rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(out_rows).astype(np.int64), np.concatenate(out_d)


class EuclideanIndex:
    """Exact search for all vectors within ``radius`` (Euclidean) of a query."""

    # Float32 dot products carry rounding error; bounds are widened by this much and
    # every survivor's distance is recomputed directly, so nothing within radius is lost.
    SLACK = 1e-3

    def __init__(self, vecs: npt.NDArray[np.float32], groups: npt.ArrayLike,
                 radius: float) -> None:
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        g = np.asarray(groups, dtype=np.int64).reshape(-1)
        if vecs.ndim != 2 or vecs.shape[0] != g.shape[0]:
            raise ValueError("vecs must be (n, dims) with one group per row")
        self.radius = float(radius)
        self.n = vecs.shape[0]
        order = np.argsort(g, kind="stable")  # rows of a group contiguous
        self.order = order
        self.vecs = vecs[order]
        self.sq = np.einsum("ij,ij->i", self.vecs, self.vecs)
        ug, first, counts = np.unique(g[order], return_index=True, return_counts=True)
        self.first = first.astype(np.int64)
        self.counts = counts.astype(np.int64)
        self.mode = "grouped" if 0 < len(ug) * 2 <= self.n else "flat"
        if self.mode == "grouped":
            sums = np.add.reduceat(self.vecs.astype(np.float64), self.first, axis=0)
            centres = sums / self.counts[:, None]
            member_c = np.repeat(centres, self.counts, axis=0)
            dist = np.linalg.norm(self.vecs - member_c, axis=1)
            self.gradius = np.maximum.reduceat(dist, self.first)
            self.centres = centres.astype(np.float32)
            self.csq = np.einsum("ij,ij->i", self.centres, self.centres)

    def search(self, query: npt.ArrayLike,
               radius: float | None = None) -> tuple[IntArray, FloatArray]:
        """Original row numbers within ``radius`` of ``query``, with exact distances."""
        r = self.radius if radius is None else float(radius)
        if self.n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        qsq = float(q @ q)
        if self.mode == "grouped":
            dc = np.sqrt(np.maximum(self.csq + qsq - 2.0 * (self.centres @ q), 0.0))
            live = np.flatnonzero(dc - self.gradius <= r + self.SLACK)
            rows = _ranges(self.first[live], self.first[live] + self.counts[live])
            d2 = self.sq[rows] + qsq - 2.0 * (self.vecs[rows] @ q)
        else:
            rows = np.arange(self.n, dtype=np.int64)
            d2 = self.sq + qsq - 2.0 * (self.vecs @ q)
        near = rows[d2 <= (r + self.SLACK) ** 2]
        exact = np.linalg.norm(self.vecs[near].astype(np.float64) - q.astype(np.float64),
                               axis=1)
        keep = exact <= r
        return self.order[near[keep]].astype(np.int64), exact[keep]
