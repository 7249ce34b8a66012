"""Exact in-memory search for embeddings behind the reference banks (the face signal).

``EuclideanIndex``: exact Euclidean distances for embeddings. Rows are grouped by person;
each group keeps its centre ``c`` and radius ``R`` (the largest distance of a member from
``c``). By the triangle inequality ``|q - x| >= |q - c| - R``, so a group whose centre is
farther than ``r + R`` cannot hold a match and its rows are never read. Lower bounds on
``|q - c|`` that cost much less than the distance rule most groups out first (all are
triangle inequalities, so nothing within the radius is lost):

1. Radial: with ``mu`` the mean of the centres, ``|q - c| >= | |q - mu| - |c - mu| |``.
   The groups are stored in order of ``|c - mu|``, so the groups that can be in reach
   are one contiguous run, found by two binary searches.
2. Principal head + tail norm: rotated onto the principal axes of the centres (an
   orthonormal rotation about ``mu``, which preserves distances), with ``z`` split into
   its first ``HEAD`` coordinates and the rest,
   ``|q - c|^2 >= |zq_head - zc_head|^2 + (|zq_tail| - |zc_tail|)^2``: the distance
   between (HEAD + 1)-vectors, one product over the run (17 floats per person instead
   of 128). The leading axes carry most of the spread of anisotropic embeddings.
3. The few groups left get the exact centre distance. Where the bounds cannot prune -
   more than half of the groups in the radial run, or more than an eighth left after
   step 2 (isotropic embeddings, whose centres all lie at about the same distance from
   the mean and from the query) - every centre's distance is computed instead, one
   matrix-vector product as without the bounds.
4. The rows of the groups left: a row ``x`` is read only if ``|q - c| - |x - c|`` is
   within the radius (its own distance from the centre, not the group's largest), then
   its distance is computed - in one compiled loop (``matchers/_kernels.c``, the rows
   phase) when the kernels are built, else with numpy, the same rows either way.

``search_many`` (the matcher's path: a batch of candidates at once) scores the centres
for all queries that need it as one matrix product (BLAS sgemm over ``centres_t``, the
centres stored transposed), which costs a fraction per query of the single product.

Float32 products carry rounding error: bounds are compared in squared form and widened
(``SLACK`` and a relative tolerance), and every distance reported is recomputed in
float64 from the stored float32 values, so the result is exact. When there are not
many fewer groups than rows, it is a plain matrix-vector product over all rows, then the
exact check.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from matchers import kernels
from matchers.bank_index import (
    _NO_FDIST,
    _NO_ROWS,
    FloatArray,
    IntArray,
    _ranges,
    split_by_query,
)


def _matvec(a: npt.NDArray[np.float32], q: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``a @ q`` without BLAS: numpy's own single-threaded loop.

    A multi-threaded BLAS sgemv spends more on waking its threads than on a product this
    small, and on a busy 2-core machine it was 5x slower (16 ms vs 3 ms at 20k x 128).
    (Stacking the rows in blocks small enough for one BLAS thread each was 2x faster with
    the matrix in cache, but slower from memory, which is where it is between queries.)
    """
    out: npt.NDArray[np.float32] = np.einsum("ij,j->i", a, q)
    return out


class EuclideanIndex:
    """Exact search for all vectors within ``radius`` (Euclidean) of a query."""

    # Float32 dot products carry rounding error; bounds are widened by this much and
    # every survivor's distance is recomputed directly, so nothing within radius is lost.
    SLACK = 1e-3
    # Leading principal coordinates of the person centres read for the groups in reach.
    HEAD = 16

    def __init__(self, vecs: npt.NDArray[np.float32], groups: npt.ArrayLike,
                 radius: float, kernel: bool | None = None) -> None:
        """``kernel``: read the rows of the groups in reach with the compiled kernel
        (``matchers.kernels``) - None: when available, False: numpy only."""
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        g = np.asarray(groups, dtype=np.int64).reshape(-1)
        if vecs.ndim != 2 or vecs.shape[0] != g.shape[0]:
            raise ValueError("vecs must be (n, dims) with one group per row")
        self.radius = float(radius)
        self.n = vecs.shape[0]
        ug, inverse = np.unique(g, return_inverse=True)
        self.mode = "grouped" if 0 < len(ug) * 2 <= self.n else "flat"
        self._bounds: dict[float, npt.NDArray[np.float32]] = {}
        self._reach2s: dict[float, npt.NDArray[np.float32]] = {}
        self.kernel: kernels.BoundGroupRows | None = None
        if self.mode == "flat":
            self.order = np.arange(self.n, dtype=np.int64)
            self.vecs = vecs
            self.sq = np.einsum("ij,ij->i", vecs, vecs)
            return
        counts = np.bincount(inverse, minlength=len(ug))
        by_group = np.argsort(inverse, kind="stable")
        sums = np.add.reduceat(vecs[by_group].astype(np.float64),
                               np.concatenate([[0], np.cumsum(counts)[:-1]]), axis=0)
        centres = sums / counts[:, None]
        self.mu = centres.mean(axis=0)
        zc = centres - self.mu
        # Groups in order of their centre's distance from the mean of all centres, each
        # group's rows contiguous.
        rad = np.sqrt(np.einsum("ij,ij->i", zc, zc))
        gorder = np.argsort(rad, kind="stable")
        rank = np.empty(len(ug), dtype=np.int64)
        rank[gorder] = np.arange(len(ug))
        self.order = np.argsort(rank[inverse], kind="stable")  # position -> original row
        self.vecs = vecs[self.order]
        self.counts = counts[gorder].astype(np.int64)
        self.first = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        centres, zc, self.rad = centres[gorder], zc[gorder], rad[gorder]
        member_c = np.repeat(centres, self.counts, axis=0)
        # Each row's distance from its group's centre, and each group's largest.
        self.rdist = np.linalg.norm(self.vecs - member_c, axis=1)
        self.gradius = np.maximum.reduceat(self.rdist, self.first)
        self.gradius_max = float(self.gradius.max())
        self.centres = centres.astype(np.float32)
        # Stored transposed as well: queries @ centres_t is BLAS's fastest layout (a
        # third faster than with centres.T at 32 queries).
        self.centres_t = np.ascontiguousarray(self.centres.T)
        if kernel is not False:
            self.kernel = kernels.group_rows(self.vecs, self.rdist, self.first, self.counts)
        if kernel and self.kernel is None:
            raise RuntimeError("the compiled bank kernels are not available (see the log)")
        self.csq = np.einsum("ij,ij->i", self.centres, self.centres)
        # Principal axes of the centres, largest variance first (see the module doc).
        _, axes = np.linalg.eigh(zc.T @ zc)
        k = min(self.HEAD, zc.shape[1])
        self.axes = np.ascontiguousarray(axes[:, ::-1][:, :k].T)  # (k, dims)
        head = zc @ self.axes.T
        tail = np.sqrt(np.maximum(self.rad ** 2 - np.einsum("ij,ij->i", head, head), 0.0))
        # "Augmented" centres (head coordinates, tail norm), stored coordinate-major so
        # the product with a query runs long inner loops: the lower bound above is
        # |aug(q) - aug(c)|^2 = |aug(c)|^2 + |aug(q)|^2 - 2 aug(c) . aug(q).
        aug = np.concatenate([head, tail[:, None]], axis=1)
        self.aug_t = np.ascontiguousarray(aug.T, dtype=np.float32)  # (k + 1, groups)
        self.aug_sq = np.einsum("ij,ij->i", aug, aug)
        self.aug_max_sq = float(self.aug_sq.max())

    def _bound(self, r: float) -> npt.NDArray[np.float32]:
        """Per group, ``(|aug(c)|^2 - (r + R + SLACK)^2) / 2``: the group may hold a match
        only if ``aug(c) . aug(q)`` reaches this plus ``|aug(q)|^2 / 2``."""
        out = self._bounds.get(r)
        if out is None:
            out = ((self.aug_sq - (r + self.SLACK + self.gradius) ** 2) / 2).astype(np.float32)
            self._bounds[r] = out
        return out

    def _augment(self, q: npt.NDArray[np.float32]
                 ) -> tuple[npt.NDArray[np.float32], float, float]:
        """The augmented query (head coordinates, tail norm), ``|q - mu|`` and ``|aug(q)|^2``."""
        zq = q.astype(np.float64) - self.mu
        head = self.axes @ zq  # only the head: the tail norm follows from |zq|
        rho2, head2 = float(zq @ zq), float(head @ head)
        qa = np.empty(len(head) + 1, dtype=np.float32)
        qa[:-1] = head
        qa[-1] = math.sqrt(max(rho2 - head2, 0.0))
        return qa, math.sqrt(rho2), max(rho2, head2)

    def search(self, query: npt.ArrayLike,
               radius: float | None = None) -> tuple[IntArray, FloatArray]:
        """Original row numbers within ``radius`` of ``query``, with exact distances."""
        if self.n == 0:
            return _NO_ROWS, _NO_FDIST
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        r = self.radius if radius is None else float(radius)
        qs = q.reshape(1, -1)
        if self.mode == "grouped":
            live = self._live_pruned(q, r)
            if live is None:  # every centre scored (over centres_t: 2-3x faster than
                # einsum over the rows at 20,000 x 128, from cache or memory)
                live = self._in_reach(self._sq_dists(self.centres_t, self.csq, qs)[0], r)
            return self._rows_of(qs, np.zeros(len(live[0]), np.int64), *live, r)[0]
        rows = np.arange(self.n, dtype=np.int64)
        return self._finish(qs, np.zeros(self.n, np.int64), rows,
                            self.sq + float(q @ q) - 2.0 * _matvec(self.vecs, q), r)[0]

    def search_many(self, queries: npt.ArrayLike, radius: float | None = None
                    ) -> list[tuple[IntArray, FloatArray]]:
        """``search`` for several queries, with the same results.

        What ``search`` does as one matrix-vector product per query (every row in flat
        mode; every person centre in grouped mode when the bounds cannot prune) is done
        for up to ``BATCH`` queries at once as one matrix product (BLAS sgemm), which
        reads the matrix once for all of them: 20,000 centres x 128 cost 0.4-0.9 ms for
        one query alone and 5.6 ms for 64 together, 0.09 ms each. The rows of the groups
        in reach are then read for all the queries in one pass.
        """
        qs = np.asarray(queries, dtype=np.float32).reshape(-1, self.vecs.shape[1])
        if self.n == 0 or len(qs) == 0:
            return [(_NO_ROWS, _NO_FDIST) for _ in qs]
        r = self.radius if radius is None else float(radius)
        if self.mode == "flat":
            rows = np.arange(self.n, dtype=np.int64)
            zeros = np.zeros(self.n, np.int64)
            return [self._finish(qs[i:i + 1], zeros, rows, d2, r)[0]
                    for b in range(0, len(qs), self.BATCH)
                    for i, d2 in enumerate(self._sq_dists(self.vecs.T, self.sq,
                                                          qs[b:b + self.BATCH]), start=b)]
        # (query, group, centre distance) of every group in reach of each query: from the
        # bounds where they prune, else from every centre scored, one product per batch.
        qi, live, dc = [], [], []
        full = []
        for i, q in enumerate(qs):
            found = self._live_pruned(q, r)
            if found is None:
                full.append(i)
            elif found[0].size:
                qi.append(np.full(found[0].size, i, np.int64))
                live.append(found[0])
                dc.append(found[1])
        for b in range(0, len(full), self.BATCH):
            sub = np.array(full[b:b + self.BATCH])
            d2 = self._sq_dists(self.centres_t, self.csq, qs[sub])
            # By query, then group. (flatnonzero: 2-D nonzero is 25x slower.)
            k, g = np.divmod(np.flatnonzero(d2 <= self._reach2(r)), d2.shape[1])
            qi.append(sub.take(k))
            live.append(g)
            dc.append(np.sqrt(np.maximum(d2[k, g], 0.0)))
        if not qi:
            return [(_NO_ROWS, _NO_FDIST) for _ in qs]
        qi_a, live_a = np.concatenate(qi), np.concatenate(live)
        by = np.argsort(qi_a * len(self.gradius) + live_a, kind="stable")  # as search orders
        return self._rows_of(qs, qi_a.take(by), live_a.take(by), np.concatenate(dc).take(by), r)

    # Queries per matrix product in search_many: (BATCH x groups) float32 stays a few MB.
    BATCH = 64

    @staticmethod
    def _sq_dists(mat_t: npt.NDArray[np.float32], sq: npt.NDArray[np.float32],
                  qs: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Float32 squared distances (queries x rows) of every column of ``mat_t`` (a
        matrix of rows, transposed) to each query."""
        d2: npt.NDArray[np.float32] = qs @ mat_t  # one BLAS sgemm on one thread
        d2 *= -2.0
        d2 += sq
        d2 += np.einsum("ij,ij->i", qs, qs)[:, None]
        return d2

    def _live_pruned(self, q: npt.NDArray[np.float32],
                     r: float) -> tuple[IntArray, FloatArray] | None:
        """Groups that may hold a row within ``r`` of ``q``, by the bounds in the module
        doc, with their centre's distance; ``None`` when the bounds cannot prune and every
        centre must be scored."""
        # Hot path: few numpy calls (see HammingIndex._search_mih).
        qa, rho, qa_sq = self._augment(q)
        # |q - c| >= | |q - mu| - |c - mu| |: only groups whose centre lies in a shell
        # around the mean can be in reach, a contiguous run of the groups in this order.
        reach = r + self.SLACK + self.gradius_max
        lo, hi = self.rad.searchsorted((rho - reach, rho + reach)).tolist()
        if lo >= hi:
            return _NO_ROWS, _NO_FDIST
        if (hi - lo) * 2 > len(self.gradius):
            # Most centres at about the same distance from the mean (isotropic embeddings):
            # the next bound would not prune either, so score every centre in full.
            return None
        # One BLAS sgemv over the run (matchers/__init__.py holds OpenBLAS to one thread;
        # from memory it was 1.7x faster than numpy's own loop, einsum).
        prod = qa @ self.aug_t[:, lo:hi]
        prod -= self._bound(r)[lo:hi]
        # Float32 products of (k + 1)-vectors, and the float32 bound, err by well under
        # 1e-5 of the squares involved: widen by that, so no group is wrongly skipped.
        tol = 1e-5 * (self.aug_max_sq + qa_sq + reach ** 2)
        maybe = (prod >= (qa_sq - tol) / 2).nonzero()[0]
        if maybe.size == 0:  # the usual case: no person's ball within reach
            return _NO_ROWS, _NO_FDIST
        maybe += lo
        if maybe.size * 8 > len(self.gradius):  # the bound did not prune
            return None
        # A few: their exact centre distance.
        diff = self.centres.take(maybe, axis=0) - q
        d2 = (diff * diff).sum(axis=1)
        keep = d2 <= (r + self.SLACK + self.gradius.take(maybe)) ** 2
        return maybe[keep], np.sqrt(d2[keep])

    def _in_reach(self, d2: npt.NDArray[np.float32],
                  r: float) -> tuple[IntArray, FloatArray]:
        """Groups whose ball can reach within ``r``, from float32 squared centre distances,
        with those distances: ``|q - c| - R <= r``, compared squared (``_reach2``)."""
        live: IntArray = (d2 <= self._reach2(r)).nonzero()[0]
        return live, np.sqrt(np.maximum(d2.take(live), 0.0))

    def _reach2(self, r: float) -> npt.NDArray[np.float32]:
        """Per group, ``(r + SLACK + R)^2``, the squared centre distance within which the
        group may hold a match (float32 squared distances err by ~1e-5, far less than
        what ``SLACK`` adds to the square)."""
        out = self._reach2s.get(r)
        if out is None:
            out = ((r + self.SLACK + self.gradius) ** 2).astype(np.float32)
            self._reach2s[r] = out
        return out

    def _rows_of(self, qs: npt.NDArray[np.float32], qi: IntArray, live: IntArray,
                 dc: FloatArray, r: float) -> list[tuple[IntArray, FloatArray]]:
        """For each query of ``qs``, the rows within ``r`` of the groups ``live[k]`` in
        reach of query ``qi[k]`` (``qi`` ascending), whose centre is ``dc[k]`` away.

        A row is read only if ``|q - c| - |x - c| <= r`` (triangle inequality with its own
        distance from its centre, not the group's largest). ``dc`` comes from float32
        squares, but errs by ~1e-5 at most where a row could be skipped (``dc > r``),
        well inside ``SLACK``."""
        if self.kernel is not None:  # the same in one compiled loop (matchers/kernels.py)
            k, rows = self.kernel.search(qi, live, dc, qs, r + self.SLACK)
            return self._exact(qs, qi.take(k), rows, r)
        counts = self.counts.take(live)
        lo_rows = self.first.take(live)
        rows = _ranges(lo_rows, lo_rows + counts)
        keep = dc.repeat(counts) - self.rdist.take(rows) <= r + self.SLACK
        rows, rq = rows[keep], qi.repeat(counts)[keep]
        diff = self.vecs.take(rows, axis=0) - qs.take(rq, axis=0)
        return self._finish(qs, rq, rows, (diff * diff).sum(axis=1), r)

    def _finish(self, qs: npt.NDArray[np.float32], rq: IntArray, rows: IntArray,
                d2: npt.NDArray[np.float32], r: float) -> list[tuple[IntArray, FloatArray]]:
        """Per query of ``qs``, the rows (of query ``rq[k]``, ascending) whose float32
        squared distance ``d2`` is within reach, checked in float64."""
        near = d2 <= (r + self.SLACK) ** 2
        return self._exact(qs, rq[near], rows[near], r)

    def _exact(self, qs: npt.NDArray[np.float32], rq: IntArray, rows: IntArray,
               r: float) -> list[tuple[IntArray, FloatArray]]:
        """Per query, the ``rows`` (of query ``rq[k]``, ascending) within ``r``, by their
        distance in float64 (exact for the stored float32 values)."""
        x = self.vecs.take(rows, axis=0).astype(np.float64) - qs.take(rq, axis=0)
        exact = np.sqrt((x * x).sum(axis=1))  # what np.linalg.norm(x, axis=1) computes
        keep = exact <= r
        return split_by_query(rq[keep], len(qs), self.order.take(rows[keep]), exact[keep],
                              (_NO_ROWS, _NO_FDIST))
