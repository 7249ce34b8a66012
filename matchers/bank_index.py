"""Exact in-memory search structures behind the reference banks.

``HammingIndex``: exact Hamming-radius search over packed bit strings.

- Linear mode: the codes as ``uint64`` words, XOR with the query and ``np.bitwise_count``,
  in blocks that stay in cache. The scan is bound by memory bandwidth
  (``../shared/MEASURED.md``), so past a few thousand codes fewer bytes scanned beats
  a faster popcount, hence:
- Multi-index hashing (Norouzi et al., "Fast Search in Hamming Space with Multi-Index
  Hashing", CVPR 2012): the ``nbits`` are cut into ``m`` chunks of at most 16 bits. By
  the pigeonhole principle, if ``d(q, x) <= r`` then at least one chunk of ``x`` differs
  from the same chunk of ``q`` in at most ``s = floor(r / m)`` bits. So we look up, in
  each chunk's table, every key within ``s`` bits of the query's chunk (17 keys per
  16-bit chunk for s = 1, 137 for s = 2) and verify each candidate found with its full
  distance: the result is exact, never approximate. ``plan_mih`` picks ``m`` for the
  radius and the bank size: PDQ (256 bits) at radius 31 -> 16 chunks of 16 bits, s = 1:
  272 buckets of N / 65536 codes each (24 at 1.6 M codes = 200 k references x 8 dihedral
  variants), about 6,600 codes verified instead of 1.6 M; face_pdq at 48 -> 17 chunks of
  15-16 bits, s = 2 (16 chunks would need s = 3); pHash (64 bits) at 8 -> 4 chunks, s = 2.
  When no chunking beats a scan (small banks), the linear scan is used.

``EuclideanIndex``: exact Euclidean distances for embeddings. Rows are grouped by person;
each group keeps its centre ``c`` and radius ``R`` (the largest distance of a member from
``c``). By the triangle inequality ``|q - x| >= |q - c| - R``, so a group whose centre
is farther than ``radius + R`` cannot hold a match and is skipped without reading its
rows; the rows of the remaining groups get their exact distance. The centres are scored
with one matrix-vector product. When there are not many fewer groups than rows, it is a
plain matrix-vector product over all rows, then the exact check.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import Literal

import numpy as np
import numpy.typing as npt

CHUNK_BITS = 16
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


@dataclass(frozen=True)
class MihPlan:
    """How to cut ``nbits`` into chunks for multi-index hashing at one radius."""

    widths: tuple[int, ...]  # bits per chunk, each <= 16
    s: int  # search radius within each chunk: floor(radius / chunks)
    probes: int  # buckets looked up per query
    candidates: float  # codes expected to be verified per query (uniform codes)

    @property
    def cost(self) -> float:
        # A verified candidate is a random gather plus a popcount, a few times the cost of
        # one row of a sequential scan; a bucket lookup is about one such row too.
        return self.probes + 4.0 * self.candidates


def plan_mih(nbits: int, radius: int, n: int) -> MihPlan | None:
    """The cheapest chunking that keeps the search exact, or None if none beats a scan.

    With m chunks, a code within ``radius`` has a chunk within ``radius // m`` bits
    (pigeonhole). 16 chunks of 16 bits suit PDQ at 31 (s = 1); at 48, 16 chunks would
    need s = 3 (697 keys per chunk) while 17 chunks of 15-16 bits need only s = 2.
    """
    best: MihPlan | None = None
    for m in range(-(-nbits // CHUNK_BITS), nbits // 8 + 1):
        widths = tuple(nbits // m + (1 if i < nbits % m else 0) for i in range(m))
        s = radius // m
        if s > 3:
            continue
        keys = [sum(comb(w, k) for k in range(s + 1)) for w in widths]
        plan = MihPlan(widths, s, sum(keys), sum(k * n / (1 << w)
                                                 for k, w in zip(keys, widths, strict=True)))
        if best is None or plan.cost < best.cost:
            best = plan
    return best if best is not None and best.cost * 2 < n else None


def chunk_weights(widths: tuple[int, ...]) -> IntArray:
    """(nbits, m) matrix turning a row of bits (MSB first) into its m chunk keys."""
    w = np.zeros((sum(widths), len(widths)), dtype=np.int64)
    pos = 0
    for i, width in enumerate(widths):
        w[pos:pos + width, i] = 1 << np.arange(width - 1, -1, -1, dtype=np.int64)
        pos += width
    return w


def chunk_keys(codes: npt.NDArray[np.uint8], widths: tuple[int, ...],
               weights: IntArray | None = None) -> IntArray:
    """(n, m) integer keys of each code's chunks (bits taken in order, MSB first)."""
    n = codes.shape[0]
    if all(w == 16 for w in widths):
        return np.ascontiguousarray(codes).view(">u2").astype(np.int64)
    wm = chunk_weights(widths) if weights is None else weights
    out = np.empty((n, len(widths)), dtype=np.int64)
    for b in range(0, n, _BLOCK):
        out[b:b + _BLOCK] = np.unpackbits(codes[b:b + _BLOCK], axis=1).astype(np.int64) @ wm
    return out


def popcount_rows(words: npt.NDArray[np.uint64]) -> IntArray:
    """Bits set per row of a (n, w) uint64 array (column adds: faster than sum(axis=1))."""
    c = np.bitwise_count(words)
    total = c[:, 0].astype(np.int64)
    for j in range(1, c.shape[1]):
        total += c[:, j]
    return total


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
        plan = plan_mih(nbits, self.radius, max(self.n, 1))
        if mode == "mih" and plan is None:
            plan = plan_mih(nbits, self.radius, 1 << 62)
        if mode == "auto":
            mode = "mih" if plan is not None else "linear"
        self.mode = mode
        self.plan = plan if mode == "mih" else None
        if self.plan is not None:
            self._build_mih(codes, self.plan)

    def _build_mih(self, codes: npt.NDArray[np.uint8], plan: MihPlan) -> None:
        sizes = np.array([1 << w for w in plan.widths], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.weights = chunk_weights(plan.widths)
        local = chunk_keys(codes, plan.widths, self.weights)  # (n, m), each < 2**16
        # Chunk by chunk, rows sorted by key: numpy's stable sort of 16-bit integers is a
        # radix sort, O(n), several times faster than sorting all n * m keys at once.
        self.rows = np.concatenate(
            [np.argsort(local[:, i].astype(np.uint16), kind="stable").astype(np.int32)
             for i in range(len(plan.widths))]) if self.n else np.zeros(0, np.int32)
        counts = np.concatenate([np.bincount(local[:, i], minlength=1 << w)
                                 for i, w in enumerate(plan.widths)])
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # Every (chunk, flip mask) pair a query probes, flattened.
        chunks, masks = [], []
        for i, w in enumerate(plan.widths):
            mk = flip_masks(plan.s, w).astype(np.int64)
            chunks.append(np.full(len(mk), i, dtype=np.int64))
            masks.append(mk)
        self.probe_chunk = np.concatenate(chunks)
        self.probe_mask = np.concatenate(masks)
        self.probe_offset = self.offsets[self.probe_chunk]

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
        if self.plan is not None:
            qk = chunk_keys(qw.view(np.uint8).reshape(1, -1), self.plan.widths,
                            self.weights)[0]
            g = self.probe_offset + (qk[self.probe_chunk] ^ self.probe_mask)
            # Duplicates (a code found through several chunks) are rare for unrelated
            # codes: verify them all and de-duplicate only the few hits.
            cand = self.rows[_ranges(self.starts[g], self.starts[g + 1])]
            # np.take is several times faster than fancy indexing for row gathers.
            d = popcount_rows(np.take(self.words, cand, axis=0) ^ qw)
            keep = np.flatnonzero(d <= r)
            if keep.size == 0:  # the usual case: nothing near
                return np.zeros(0, np.int64), np.zeros(0, np.int64)
            hits, first = np.unique(cand[keep], return_index=True)
            return hits.astype(np.int64), d[keep[first]]
        out_rows, out_d = [], []
        for b in range(0, self.n, _BLOCK):
            d = popcount_rows(self.words[b:b + _BLOCK] ^ qw)
            hit = np.flatnonzero(d <= r)
            if hit.size:
                out_rows.append(hit + b)
                out_d.append(d[hit])
        if not out_rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(out_rows).astype(np.int64), np.concatenate(out_d)


def _matvec(a: npt.NDArray[np.float32], q: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``a @ q`` without BLAS: numpy's own single-threaded loop.

    A multi-threaded BLAS sgemv spends more on waking its threads than on a product this
    small, and on a busy 2-core machine it was 5x slower (16 ms vs 3 ms at 20k x 128).
    """
    out: npt.NDArray[np.float32] = np.einsum("ij,j->i", a, q)
    return out


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
        if self.n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        first = self.centres if self.mode == "grouped" else self.vecs
        return self._finish(q, _matvec(first, q), radius)

    def search_many(self, queries: npt.ArrayLike, radius: float | None = None
                    ) -> list[tuple[IntArray, FloatArray]]:
        """``search`` for several queries, the first product done as one matrix product.

        Scoring the centres is the bulk of a query (20,000 persons: 10 MB read); for a
        batch it is read once (a GEMM) instead of once per query.
        """
        qs = np.asarray(queries, dtype=np.float32).reshape(-1, self.vecs.shape[1])
        if self.n == 0 or len(qs) == 0:
            return [(np.zeros(0, np.int64), np.zeros(0, np.float64)) for _ in qs]
        first = self.centres if self.mode == "grouped" else self.vecs
        prods = first @ qs.T  # (groups or rows, batch)
        return [self._finish(qs[i], np.ascontiguousarray(prods[:, i]), radius)
                for i in range(len(qs))]

    def _finish(self, q: npt.NDArray[np.float32], prod: npt.NDArray[np.float32],
                radius: float | None) -> tuple[IntArray, FloatArray]:
        r = self.radius if radius is None else float(radius)
        qsq = float(q @ q)
        if self.mode == "grouped":
            dc = np.sqrt(np.maximum(self.csq + qsq - 2.0 * prod, 0.0))
            live = np.flatnonzero(dc - self.gradius <= r + self.SLACK)
            if live.size == 0:  # the usual case: no person's ball within reach
                return np.zeros(0, np.int64), np.zeros(0, np.float64)
            rows = _ranges(self.first[live], self.first[live] + self.counts[live])
            d2 = self.sq[rows] + qsq - 2.0 * _matvec(np.take(self.vecs, rows, axis=0), q)
        else:
            rows = np.arange(self.n, dtype=np.int64)
            d2 = self.sq + qsq - 2.0 * prod
        near = rows[d2 <= (r + self.SLACK) ** 2]
        if near.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        exact = np.linalg.norm(self.vecs[near].astype(np.float64) - q.astype(np.float64),
                               axis=1)
        keep = exact <= r
        return self.order[near[keep]].astype(np.int64), exact[keep]
