"""Exact in-memory search structures behind the reference banks.

``HammingIndex``: exact Hamming-radius search over packed bit strings.

- Linear mode: the codes as ``uint64`` words, XOR with the query and ``np.bitwise_count``,
  in blocks that stay in cache. The scan is bound by memory bandwidth
  (``docs/measurements.md``), so past a few thousand codes fewer bytes scanned beats
  a faster popcount, hence:
- Multi-index hashing (Norouzi et al., "Fast Search in Hamming Space with Multi-Index
  Hashing", CVPR 2012): the ``nbits`` are cut into ``m`` chunks of at most 16 bits, and
  chunk ``i`` is searched within ``s_i`` bits, where ``sum(s_i + 1) > radius``.
  Pigeonhole: the chunk distances of a code within ``radius`` sum to at most ``radius``,
  so they cannot all exceed their ``s_i``: at least one chunk of the code is within
  ``s_i`` bits of the query's chunk, and is found by looking up, in that chunk's table,
  every key within ``s_i`` bits (17 keys of 16 bits for 1 bit, 137 for 2, 697 for 3;
  ``s_i = -1``: the chunk is not probed). Every code found is verified by its full
  distance: the result is exact, never approximate. With ``s = radius // m``,
  ``radius - m * s + 1`` chunks need ``s`` and the others only ``s - 1`` (the paper's
  uniform ``s`` is looser). ``plan_mih`` picks ``m`` and the ``s_i`` for the radius and
  the bank size: PDQ (256 bits) at 31 with 1.6 M codes (200 k references x 8 dihedral
  variants) -> 16 chunks of 16 bits within 1 bit each: 272 buckets of ~24 codes, about
  6,600 codes checked instead of 1.6 M; face_pdq at 48 with 200 k -> 16 chunks, one
  within 3 bits and 15 within 2 (2,752 buckets, ~8,400 codes; 17 chunks within 2 bits
  probe fewer buckets but check 30 % more codes); pHash (64 bits) at 8 -> 4 chunks, one
  within 2 bits and three within 1 (188 buckets instead of 548). When no chunking beats
  a scan (small banks), the linear scan is used.
- The search is bound by cache misses (the tables of all signals together are far larger
  than the CPU cache), so the layout is about touching few cache lines: one ``rows``
  array holds every chunk's row numbers sorted by key, ``starts`` (int32) the bucket
  bounds; a query computes every probed bucket, the bounds and the positions of their
  codes each as one numpy operation over flat arrays. Candidates are first checked on
  their first ``PREFIX_WORDS`` (128 bits, a lower bound on the distance: at radius 31 or
  48 of 256 bits, nearly no random code passes), read from a half-size copy of the
  codes; where it fits in ``INLINE_BYTES`` (face_pdq, pHash) the prefixes are also
  stored in bucket order, so a probe reads one contiguous run instead of gathering
  random rows. The few codes left get their full distance, de-duplicated first.
- The compiled kernel (``matchers/_kernels.c``, through ``matchers.kernels``) runs the
  same search - the same buckets, prefixes and full distances - as three loops per query
  that prefetch their next random reads, and a batch of queries in one call
  (``search_many``). It is used when it is built (``make venv``); the numpy code below is
  the reference the tests hold it to, and the fallback. With ``INLINE_BYTES`` at 512 MB,
  PDQ's 1.6 M codes (200 k references) are stored inline too: 410 MB for the prefixes in
  bucket order, for a search 2-3x faster than gathering them from random rows.

``EuclideanIndex``, the exact search for embeddings, is in ``matchers/euclidean_index.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from matchers import kernels

CHUNK_BITS = 16
_BLOCK = 32768  # rows per block in linear scans: a few MB, stays in cache

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# What a search that finds nothing returns (read-only: shared by every such search).
_NO_ROWS: IntArray = np.zeros(0, np.int64)
_NO_DIST: IntArray = np.zeros(0, np.int64)
_NO_FDIST: FloatArray = np.zeros(0, np.float64)
for _a in (_NO_ROWS, _NO_DIST, _NO_FDIST):
    _a.flags.writeable = False


def flip_masks(max_bits: int, width: int = CHUNK_BITS) -> npt.NDArray[np.uint16]:
    """Every ``width``-bit mask with at most ``max_bits`` bits set (0 first; none if < 0)."""
    masks = [0] if max_bits >= 0 else []
    for k in range(1, max_bits + 1):
        for pos in combinations(range(width), k):
            masks.append(sum(1 << p for p in pos))
    return np.array(masks, dtype=np.uint16)


def _ranges(lo: npt.NDArray[np.integer], hi: npt.NDArray[np.integer]) -> IntArray:
    """Concatenation of ``arange(lo[i], hi[i])`` for all i, vectorised (int64)."""
    lens = hi - lo
    ends = lens.cumsum(dtype=np.int64)
    total = int(ends[-1]) if len(ends) else 0
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    out: IntArray = (hi - ends).repeat(lens) + np.arange(total, dtype=np.int64)
    return out


def split_by_query(qi: IntArray, nq: int, rows: IntArray, dists: npt.NDArray[Any],
                   empty: tuple[IntArray, npt.NDArray[Any]]
                   ) -> list[tuple[IntArray, npt.NDArray[Any]]]:
    """``(rows, dists)`` of each query ``0 .. nq - 1`` from results sorted by query
    (``qi``); ``empty`` (read-only) for a query with none."""
    if nq == 1:
        return [(rows, dists) if rows.size else empty]
    cuts = qi.searchsorted(np.arange(1, nq)).tolist()
    return [(a, b) if a.size else empty
            for a, b in zip(np.split(rows, cuts), np.split(dists, cuts), strict=True)]


def _keys_within(width: int, s: int) -> int:
    """How many ``width``-bit keys lie within ``s`` bits of one key (0 if s < 0)."""
    return sum(comb(width, k) for k in range(s + 1))


@dataclass(frozen=True)
class MihPlan:
    """How to cut ``nbits`` into chunks for multi-index hashing at one radius."""

    widths: tuple[int, ...]  # bits per chunk, each <= 16
    radii: tuple[int, ...]  # search radius within each chunk; -1: chunk never probed
    probes: int  # buckets looked up per query
    candidates: float  # codes expected to be verified per query (uniform codes)

    @property
    def s(self) -> int:
        """The largest radius within a chunk."""
        return max(self.radii)

    @property
    def cost(self) -> float:
        # Measured on 256-bit codes (bench/banks.py): a bucket lookup (offset, bounds, its
        # share of the range expansion) costs about 20 ns, a verified candidate (row id,
        # gather, XOR and popcount of 4 words) about 10 ns.
        return self.probes * 2.0 + self.candidates


def _plan_for(nbits: int, radius: int, n: int, m: int) -> MihPlan | None:
    widths = tuple(nbits // m + (1 if i < nbits % m else 0) for i in range(m))
    s = radius // m
    if s > 3:
        return None
    # sum(s_i + 1) > radius with s_i in {s, s - 1}: a = radius - m * s + 1 chunks at s.
    a = radius - m * s + 1

    def chunk_cost(w: int, t: int) -> float:
        k = _keys_within(w, t)
        return 2.0 * k + k * n / (1 << w)

    # Give the larger radius to the chunks where it costs least (widths differ by <= 1).
    extra = sorted(range(m), key=lambda i: (chunk_cost(widths[i], s)
                                            - chunk_cost(widths[i], s - 1), i))[:a]
    radii = tuple(s if i in extra else s - 1 for i in range(m))
    keys = [_keys_within(w, t) for w, t in zip(widths, radii, strict=True)]
    return MihPlan(widths, radii, sum(keys),
                   sum(k * n / (1 << w) for k, w in zip(keys, widths, strict=True)))


def plan_mih(nbits: int, radius: int, n: int) -> MihPlan | None:
    """The cheapest chunking that keeps the search exact, or None if none beats a scan.

    PDQ at 31: 16 chunks of 16 bits, each searched within 1 bit. At 48: 16 chunks, one
    within 3 bits and 15 within 2 (17 chunks of 15-16 bits, within 2 bits, probe fewer
    buckets but the buckets of 15-bit chunks are twice as full).
    """
    best: MihPlan | None = None
    for m in range(-(-nbits // CHUNK_BITS), nbits // 8 + 1):
        plan = _plan_for(nbits, radius, n, m)
        if plan is not None and (best is None or plan.cost < best.cost):
            best = plan
    # A scan costs about as much per code as a verified candidate, plus no lookups.
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


def hamming_rows(words: npt.NDArray[np.uint64], query: npt.NDArray[np.uint64]) -> IntArray:
    """Hamming distance of each row of a (n, w) uint64 array to one (w,) query.

    ``words ^ query`` broadcasts a w-word row: numpy runs its inner loop once per row,
    w elements at a time. Here each word column is XORed with one scalar word into a
    contiguous (w, n) array (long inner loops), then popcounts are added column-wise.
    """
    x = np.bitwise_xor(words.T, query[:, None], order="C")
    c = np.bitwise_count(x)
    total: IntArray = c[0].astype(np.int64)
    for j in range(1, c.shape[0]):
        total += c[j]
    return total


class HammingIndex:
    """Exact search for all codes within ``radius`` bits of a query."""

    # Candidates are first checked on their first PREFIX_WORDS words (a lower bound on
    # the distance: at radius 31 or 48 of 256 bits, 128 random bits are farther than the
    # radius all but 0.3 % of the time), so the first pass reads half of each code.
    PREFIX_WORDS = 2
    # Up to this many bytes, each chunk's table also stores the prefixes themselves in
    # bucket order, so a probe reads a contiguous run instead of gathering random rows
    # (face_pdq: 16 chunks x 200 k codes x 16 bytes = 51 MB; PDQ's 1.6 M codes: 410 MB,
    # memory traded for speed: past 32 M codes per signal the prefixes are gathered).
    INLINE_BYTES = 512 << 20

    def __init__(self, nbits: int, codes: npt.NDArray[np.uint8], radius: int,
                 mode: Literal["auto", "linear", "mih"] = "auto",
                 kernel: bool | None = None) -> None:
        """``kernel``: search with the compiled kernel (``matchers.kernels``) - None: when
        it is available, True: required (an error if not), False: numpy only."""
        if nbits % 64:
            raise ValueError(f"nbits must be a multiple of 64, got {nbits}")
        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, nbits // 8)
        self.nbits = nbits
        self.radius = int(radius)
        self.n = codes.shape[0]
        self.words = codes.view(np.uint64)  # (n, nbits / 64)
        # (A linear index needs no plan: planning costs ~5 ms, more than copying or
        # scanning a small set of codes.)
        plan = None if mode == "linear" else plan_mih(nbits, self.radius, max(self.n, 1))
        if mode == "mih" and plan is None:
            plan = plan_mih(nbits, self.radius, 1 << 62)
        if mode == "auto":
            mode = "mih" if plan is not None else "linear"
        self.mode = mode
        self.plan = plan if mode == "mih" else None
        self.kernel: kernels.BoundMih | None = None
        if self.plan is not None:
            self._build_mih(codes, self.plan)
            if kernel is not False:
                self.kernel = kernels.mih(
                    starts=self.starts, rows=self.rows, inline=self.inline,
                    prefix=self.prefix, words=self.words, probe_base=self.probe_base,
                    probe_chunk=self.probe_chunk, nchunks=len(self.plan.widths))
        if kernel and self.kernel is None and self.plan is not None:
            raise RuntimeError("the compiled bank kernels are not available (see the log)")

    def _build_mih(self, codes: npt.NDArray[np.uint8], plan: MihPlan) -> None:
        sizes = np.array([1 << w for w in plan.widths], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.weights = chunk_weights(plan.widths)
        # (n, m) keys, each < 2**16. 16-bit chunks are read as they are stored (2 bytes a
        # key, not chunk_keys' 8: at 10 M PDQ codes the build peaks 1 GB lower).
        local = (np.ascontiguousarray(codes).view(">u2") if all(w == 16 for w in plan.widths)
                 else chunk_keys(codes, plan.widths, self.weights))
        # Chunk by chunk, rows sorted by key: numpy's stable sort of 16-bit integers is a
        # radix sort, O(n), several times faster than sorting all n * m keys at once.
        # Written in place (a list of parts and their concatenation would hold it twice).
        self.rows = np.empty(self.n * len(plan.widths), np.int32)
        parts = []
        for i, w in enumerate(plan.widths):
            key = local[:, i].astype(np.uint16)
            self.rows[i * self.n:(i + 1) * self.n] = np.argsort(key, kind="stable")
            parts.append(np.bincount(key, minlength=1 << w))
        counts = np.concatenate(parts)
        # int32 (fewer than 2**31 codes per chunk): half the bytes, so more of the table
        # stays in cache between queries (each probe reads two random entries).
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        self.ends = self.starts[1:]  # bucket k: starts[k] .. ends[k]
        # Every (chunk, flip mask) pair a query probes, flattened.
        chunks, masks = [], []
        for i, (w, t) in enumerate(zip(plan.widths, plan.radii, strict=True)):
            mk = flip_masks(t, w).astype(np.int64)
            chunks.append(np.full(len(mk), i, dtype=np.int64))
            masks.append(mk)
        self.probe_chunk = np.concatenate(chunks)
        # Bucket of probe j: offset of its chunk + (query key ^ mask). Wider chunks come
        # first, so each offset is a multiple of its chunk's 2**width and the sum is an OR:
        # the bucket is probe_base[j] ^ key (one XOR per query).
        self.probe_base = (offsets[self.probe_chunk] | np.concatenate(masks)).astype(np.int64)
        self.all16 = all(w == 16 for w in plan.widths)
        pw = min(self.PREFIX_WORDS, self.words.shape[1])
        self.prefix = np.ascontiguousarray(self.words[:, :pw])  # (n, pw)
        self.inline: npt.NDArray[np.uint64] | None = None
        if self.rows.size * pw * 8 <= self.INLINE_BYTES:
            self.inline = np.take(self.prefix, self.rows, axis=0)  # (n * m, pw)

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
            return _NO_ROWS, _NO_DIST
        qw = self._query_words(query)
        if self.kernel is not None:
            return self._search_kernel(qw.view(np.uint8).reshape(1, -1), r)[0]
        if self.plan is not None:
            return self._search_mih(qw, r, self.plan)
        return self._scan(qw, r)

    def scan(self, query: npt.NDArray[np.uint8], radius: int) -> tuple[IntArray, IntArray]:
        """``search`` by a linear scan of every code: exact at any radius, also beyond the
        one the multi-index tables were planned for (which ``search`` refuses)."""
        if self.n == 0:
            return _NO_ROWS, _NO_DIST
        return self._scan(self._query_words(query), int(radius))

    def _scan(self, qw: npt.NDArray[np.uint64], r: int) -> tuple[IntArray, IntArray]:
        out_rows, out_d = [], []
        for b in range(0, self.n, _BLOCK):
            d = hamming_rows(self.words[b:b + _BLOCK], qw)
            hit = np.flatnonzero(d <= r)
            if hit.size:
                out_rows.append(hit + b)
                out_d.append(d[hit])
        if not out_rows:
            return _NO_ROWS, _NO_DIST
        return np.concatenate(out_rows).astype(np.int64), np.concatenate(out_d)

    def search_many(self, queries: npt.NDArray[np.uint8], radius: int | None = None
                    ) -> list[tuple[IntArray, IntArray]]:
        """``search`` for each row of ``queries``, with the same results: in one call of
        the compiled kernel when there is one (the per-call cost, ~20 us, is paid once)."""
        r = self.radius if radius is None else int(radius)
        if r > self.radius and self.mode == "mih":
            raise ValueError(f"radius {r} exceeds the index radius {self.radius}")
        qs = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, self.nbits // 8)
        if self.kernel is not None and self.n and len(qs):
            return self._search_kernel(qs, r)
        return [self.search(q, r) for q in qs]

    def _search_kernel(self, qs: npt.NDArray[np.uint8],
                       r: int) -> list[tuple[IntArray, IntArray]]:
        """Multi-index hashing in the compiled kernel: what ``_search_mih`` finds."""
        assert self.kernel is not None and self.plan is not None
        qk = (qs.view(">u2").astype(np.int64) if self.all16
              else chunk_keys(qs, self.plan.widths, self.weights))
        qi, rows, d = self.kernel.search(qk, qs.view(np.uint64), r)
        if len(qi) == 0:
            return [(_NO_ROWS, _NO_DIST)] * len(qs)
        # A code found through several chunks comes once per chunk: keep one, sorted by
        # (query, row) as search sorts by row.
        if len(qi) > 1:
            key, first = np.unique(qi * self.n + rows, return_index=True)
            qi = key // self.n
            rows, d = key - qi * self.n, d[first]
        return split_by_query(qi, len(qs), rows, d, (_NO_ROWS, _NO_DIST))

    def _search_mih(self, qw: npt.NDArray[np.uint64], r: int,
                    plan: MihPlan) -> tuple[IntArray, IntArray]:
        # Hot path: numpy calls cost ~1-3 us each here, about what their work costs, so it
        # uses few of them (ndarray methods, not the np.* wrappers). See the module doc.
        q8 = qw.view(np.uint8)
        qk = (q8.view(">u2").astype(np.int64) if self.all16
              else chunk_keys(q8.reshape(1, -1), plan.widths, self.weights)[0])
        g = self.probe_base ^ qk.take(self.probe_chunk)
        # Positions, in the chunk-sorted tables, of every code in every probed bucket:
        # the concatenation of arange(lo, hi) over the buckets.
        lo, hi = self.starts.take(g), self.ends.take(g)
        lens = hi - lo
        ends = lens.cumsum()
        total = int(ends[-1])
        if total == 0:
            return _NO_ROWS, _NO_DIST
        pos = (hi - ends).repeat(lens) + np.arange(total)
        # First pass on the prefixes (a lower bound on the distance): word columns XORed
        # with one query word each (long inner loops), popcounts added as uint8 (<= 128).
        pw = self.prefix.shape[1]
        if self.inline is not None:
            x = self.inline.take(pos, axis=0)
        else:
            pos = self.rows.take(pos)
            x = self.prefix.take(pos, axis=0)
        c = np.bitwise_count(np.bitwise_xor(x.T, qw[:pw, None], order="C"))
        dp = c[0] + c[1] if pw == 2 else c.sum(axis=0, dtype=np.int64)
        sel = (dp <= r).nonzero()[0]
        if sel.size == 0:  # the usual case: nothing near
            return _NO_ROWS, _NO_DIST
        cand = pos.take(sel)
        if self.inline is not None:
            cand = self.rows.take(cand)
        # Duplicates (a code found through several chunks) are rare for unrelated codes:
        # only the few left after the first pass are de-duplicated.
        cand = np.unique(cand)
        d = hamming_rows(self.words.take(cand, axis=0), qw)
        keep = d <= r
        return cand[keep].astype(np.int64), d[keep]
