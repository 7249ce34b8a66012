"""The embedded index's signal values in memory, searched exactly, kept up to date cheaply.

The embedded store (``matchers/index/embedded.py``) keeps every signal value in SQLite
and, per signal, a copy in memory that the radius and face queries search. Each value is
keyed by an id that only grows (its ``sigs`` rowid), so the copy is kept in step with the
file by appending the rows written since and masking the few removed (a candidate
replaced), never by reloading it all.

The searches are the reference banks' own, not a second implementation:

- ``HammingRows`` (pdq, phash, face_pdq): ``matchers.bank_index.HammingIndex`` -
  multi-index hashing over 16-bit chunks through the compiled kernel. Its tables are
  planned for one radius (``radius``: the signal's threshold, what a search by photo
  asks); a query within it probes the tables, a wider one scans the codes
  (``HammingIndex.scan``). Both are exact.
- ``FaceRows`` (face): ``matchers.euclidean_index.EuclideanIndex`` in its flat mode (a
  float32 product over the rows, then the exact float64 check), distances reported by
  ``face_distances`` as on every backend. Candidates have no persons to group their faces
  by, so its bounds (one ball per person) do not apply: the search reads every row.

A ``HammingIndex`` is built once over fixed codes, so a set that grows is kept as a few
**segments**, each its own index, as a log-structured store keeps its files:

- new rows go into the last segment while it holds fewer than ``MIN_SEGMENT`` rows; such
  a small segment is scanned (``mode="linear"``: no tables), so adding a candidate costs
  copying that small segment (~0.5 MB for PDQ), not rebuilding the index;
- a segment reaching ``MIN_SEGMENT`` gets its tables, and while a segment holds no more
  rows than the one after it, the two are rebuilt as one (a binary counter: at most
  ``log2(n / MIN_SEGMENT) + 2`` segments, and each row is rebuilt about
  ``log2(n / MIN_SEGMENT)`` times as the set grows from nothing to n);
- removed rows are masked out of the answers and dropped when their segment is rebuilt
  (at a merge, or once half of it is removed).

A query searches every segment (one kernel call each) and drops masked rows. Loading a
whole set at once (the first query after start) builds one segment.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from matchers.bank_index import HammingIndex, IntArray
from matchers.euclidean_index import EuclideanIndex
from matchers.index.base import face_distances

_NO_IDS: IntArray = np.zeros(0, np.int64)
_NO_IDS.flags.writeable = False


class _Index(HammingIndex):
    # The reference banks also store the codes' prefixes in bucket order (INLINE_BYTES)
    # for a search 2-3x faster; here that would triple the memory per PDQ (+256 bytes a
    # row) for a query already ~500x faster than a scan (docs/search.md).
    INLINE_BYTES = 0


class _Segment:
    """Consecutive rows: their ids (ascending), values, search index and removed mask."""

    __slots__ = ("alive", "dead", "ids", "index", "values")

    def __init__(self, ids: IntArray, values: npt.NDArray[Any], index: Any) -> None:
        self.ids, self.values, self.index = ids, values, index
        self.alive: npt.NDArray[np.bool_] | None = None  # None: none removed
        self.dead = 0

    @property
    def live(self) -> int:
        return len(self.ids) - self.dead

    def live_rows(self) -> tuple[IntArray, npt.NDArray[Any]]:
        if self.alive is None:
            return self.ids, self.values
        return self.ids[self.alive], self.values[self.alive]


class SegmentedRows:
    """Rows of one signal keyed by ascending int64 ids, in segments (see the module doc).
    Subclasses say how a segment is indexed (``_build``) and searched (``_search``)."""

    #: Rows a segment holds before it gets its own search tables (below: scanned).
    MIN_SEGMENT = 16_384

    def __init__(self, shape: tuple[int, ...], dtype: npt.DTypeLike) -> None:
        self.shape, self.dtype = shape, np.dtype(dtype)
        self.segments: list[_Segment] = []
        self.last_id = -1

    def __len__(self) -> int:
        return sum(s.live for s in self.segments)

    # --- subclasses ----------------------------------------------------------------------
    def _build(self, values: npt.NDArray[Any], small: bool) -> Any:
        raise NotImplementedError

    # --- writes --------------------------------------------------------------------------
    def append(self, ids: npt.ArrayLike, values: npt.ArrayLike) -> None:
        """Add rows; their ids must be ascending and above every id added before."""
        new_ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        vals = np.asarray(values, dtype=self.dtype).reshape(len(new_ids), *self.shape)
        if not len(new_ids):
            return
        if new_ids[0] <= self.last_id or (len(new_ids) > 1 and np.any(np.diff(new_ids) <= 0)):
            raise ValueError("ids must be ascending and above every id added before")
        self.last_id = int(new_ids[-1])
        if self.segments and self.segments[-1].live < self.MIN_SEGMENT:
            old_ids, old_vals = self.segments.pop().live_rows()
            new_ids, vals = np.concatenate([old_ids, new_ids]), np.concatenate([old_vals, vals])
        self.segments.append(self._segment(new_ids, vals))
        self._merge()

    def remove(self, ids: npt.ArrayLike) -> int:
        """Mask the rows with these ids (unknown ids are ignored); returns how many."""
        gone = np.unique(np.asarray(ids, dtype=np.int64).reshape(-1))
        removed = 0
        for i, seg in enumerate(self.segments):
            if not len(gone) or not len(seg.ids):
                continue
            pos = seg.ids.searchsorted(gone)
            found = pos < len(seg.ids)
            found[found] = seg.ids.take(pos[found]) == gone[found]
            pos = pos[found]
            if seg.alive is not None:
                pos = pos[seg.alive.take(pos)]
            if not len(pos):
                continue
            if seg.alive is None:
                seg.alive = np.ones(len(seg.ids), dtype=np.bool_)
            seg.alive[pos] = False
            seg.dead += len(pos)
            removed += len(pos)
            if seg.dead * 2 >= len(seg.ids):  # mostly removed: compact it
                self.segments[i] = self._segment(*seg.live_rows())
        self.segments = [s for s in self.segments if len(s.ids)]
        self._merge()
        return removed

    def _segment(self, ids: IntArray, values: npt.NDArray[Any]) -> _Segment:
        values = np.ascontiguousarray(values, dtype=self.dtype)
        return _Segment(ids, values, self._build(values, len(ids) < self.MIN_SEGMENT))

    def _merge(self) -> None:
        """Rebuild as one each segment holding no more rows than the one after it."""
        i = len(self.segments) - 1
        while i >= 1:
            a, b = self.segments[i - 1], self.segments[i]
            if a.live <= b.live:
                (ia, va), (ib, vb) = a.live_rows(), b.live_rows()
                self.segments[i - 1:i + 1] = [
                    self._segment(np.concatenate([ia, ib]), np.concatenate([va, vb]))]
                i = min(i, len(self.segments) - 1)
            else:
                i -= 1

    # --- reads ---------------------------------------------------------------------------
    def _hits(self, seg: _Segment, rows: IntArray) -> IntArray:
        """The rows of ``seg`` among ``rows`` that are not removed."""
        return rows if seg.alive is None else rows[seg.alive.take(rows)]

    def nbytes(self) -> int:
        """Bytes held by the arrays of every segment (values, ids, search tables)."""
        seen: dict[int, int] = {}
        for seg in self.segments:
            arrays = [seg.ids, seg.alive, seg.values, *vars(seg.index).values()]
            for a in arrays:
                if isinstance(a, np.ndarray):
                    while isinstance(a.base, np.ndarray):
                        a = a.base
                    seen[id(a)] = a.nbytes
        return sum(seen.values())


class HammingRows(SegmentedRows):
    """Exact Hamming-radius search over packed ``nbits``-bit codes (see the module doc)."""

    def __init__(self, nbits: int, radius: int) -> None:
        super().__init__((nbits // 8,), np.uint8)
        self.nbits, self.radius = nbits, int(radius)

    def _build(self, values: npt.NDArray[Any], small: bool) -> HammingIndex:
        return _Index(self.nbits, values, self.radius, mode="linear" if small else "auto")

    def search(self, query: npt.NDArray[np.uint8], radius: int) -> tuple[IntArray, IntArray]:
        """``(ids, distances)`` of every row within ``radius`` bits of ``query``."""
        ids, dists = [], []
        for seg in self.segments:
            ix: HammingIndex = seg.index
            if ix.mode == "mih" and radius > ix.radius:
                rows, d = ix.scan(query, radius)
            else:
                rows, d = ix.search(query, radius)
            if len(rows) and seg.alive is not None:
                keep = seg.alive.take(rows)
                rows, d = rows[keep], d[keep]
            if len(rows):
                ids.append(seg.ids.take(rows))
                dists.append(d)
        if not ids:
            return _NO_IDS, _NO_IDS
        return np.concatenate(ids), np.concatenate(dists)


class FaceRows(SegmentedRows):
    """Exact Euclidean search over float32 embeddings (see the module doc)."""

    def __init__(self, dims: int) -> None:
        super().__init__((dims,), np.float32)

    def _build(self, values: npt.NDArray[Any], small: bool) -> EuclideanIndex:
        # One group per row: the flat mode, whatever the number of rows.
        return EuclideanIndex(values, np.arange(len(values)), 0.0)

    def search(self, query: npt.NDArray[np.float32],
               max_distance: float) -> tuple[IntArray, list[float]]:
        """``(ids, distances)`` of every row within ``max_distance`` of ``query``, the
        distances as :func:`face_distances` gives them (float64, 6 decimals)."""
        ids: list[IntArray] = []
        dists: list[float] = []
        for seg in self.segments:
            # Widened by the rounding to 6 decimals, then checked on the rounded value.
            rows, _ = seg.index.search(query, max_distance + 1e-6)
            rows = self._hits(seg, rows)
            if not len(rows):
                continue
            d = np.array(face_distances(query, seg.values.take(rows, axis=0)))
            keep = d <= max_distance
            ids.append(seg.ids.take(rows[keep]))
            dists += d[keep].tolist()
        return (np.concatenate(ids) if ids else _NO_IDS), dists
