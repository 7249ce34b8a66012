"""The embedded index's in-memory signal rows: exact against brute force while they grow,
merge and lose rows, through the compiled kernel and through numpy."""

from __future__ import annotations

import numpy as np
import pytest

from matchers.index.base import face_distances
from matchers.index.signal_rows import FaceRows, HammingRows, SegmentedRows
from tests.matchers import test_banks_index

# Each test taking it runs through the compiled kernel and through numpy.
search_path = test_banks_index.search_path


@pytest.fixture
def small_segments(monkeypatch: pytest.MonkeyPatch) -> int:
    """Segments get their tables at 512 rows, so a few thousand rows make several."""
    monkeypatch.setattr(SegmentedRows, "MIN_SEGMENT", 512)
    return 512


def brute(ids: np.ndarray, codes: np.ndarray, q: np.ndarray, r: int) -> dict[int, int]:
    d = np.unpackbits(codes ^ q, axis=1).sum(axis=1)
    return {int(ids[i]): int(d[i]) for i in np.flatnonzero(d <= r)}


def flipped(code: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(code)
    bits[rng.choice(bits.size, n, replace=False)] ^= 1
    return np.packbits(bits)


def found(rows: HammingRows, q: np.ndarray, r: int) -> dict[int, int]:
    ids, d = rows.search(q, r)
    assert len(set(ids.tolist())) == len(ids), "a row reported twice"
    return dict(zip(ids.tolist(), d.tolist(), strict=True))


@pytest.mark.parametrize(("nbits", "radius"), [(256, 31), (64, 8), (256, 48)])
def test_hamming_rows_exact_while_growing_and_shrinking(nbits: int, radius: int,
                                                         search_path: str,
                                                         small_segments: int) -> None:
    rng = np.random.default_rng(nbits + radius)
    rows = HammingRows(nbits, radius)
    ids = np.zeros(0, np.int64)
    codes = np.zeros((0, nbits // 8), np.uint8)
    base = rng.integers(0, 256, nbits // 8, dtype=np.uint8)
    next_id = 1
    # Batches of every size: single rows (into the small last segment), a few hundred,
    # thousands at once (a segment of their own, then merges).
    for step, size in enumerate([1, 3, 200, 700, 1, 2500, 40, 4000, 1, 1, 300]):
        new = rng.integers(0, 256, (size, nbits // 8), dtype=np.uint8)
        for j in range(0, size, 7):  # near duplicates of base, around the radius
            new[j] = flipped(base, int(rng.choice([0, 1, radius - 1, radius, radius + 1,
                                                   radius + 9])), rng)
        new_ids = np.arange(next_id, next_id + size, dtype=np.int64) * 3  # gaps between ids
        next_id += size
        rows.append(new_ids, new)
        ids, codes = np.concatenate([ids, new_ids]), np.concatenate([codes, new])
        if step % 3 == 2:  # remove some, old and new, plus ids never added
            gone = rng.choice(ids, len(ids) // 10, replace=False)
            assert rows.remove(np.concatenate([gone, [2, 5]])) == len(gone)
            assert rows.remove(gone[:3]) == 0  # already removed
            keep = ~np.isin(ids, gone)
            ids, codes = ids[keep], codes[keep]
        assert len(rows) == len(ids)
        for q in (base, flipped(base, 2, rng), codes[len(codes) // 2],
                  rng.integers(0, 256, nbits // 8, dtype=np.uint8)):
            for r in (0, radius // 2, radius, radius + 12):  # + 12: beyond the tables: a scan
                assert found(rows, q, r) == brute(ids, codes, q, r)
    # Several segments, the large ones searched through their tables.
    modes = [s.index.mode for s in rows.segments]
    assert len(rows.segments) >= 2 and "mih" in modes, modes
    assert any(s.index.kernel is not None for s in rows.segments) == (search_path == "kernel")


def test_segments_follow_a_binary_counter(small_segments: int) -> None:
    """Each segment holds more rows than the one after it; the last may be small."""
    rng = np.random.default_rng(3)
    rows = HammingRows(256, 31)
    total = 0
    for i in range(60):
        size = int(rng.integers(1, 400))
        rows.append(np.arange(total, total + size) + 1, rng.integers(0, 256, (size, 32),
                                                                      dtype=np.uint8))
        total += size
        sizes = [s.live for s in rows.segments]
        assert sum(sizes) == total
        assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False)), (i, sizes)
        assert all(n >= small_segments for n in sizes[:-1]), sizes
        assert len(sizes) <= np.log2(max(total / small_segments, 1)) + 2


def test_a_new_row_does_not_rebuild_the_large_segments(small_segments: int) -> None:
    rng = np.random.default_rng(4)
    rows = HammingRows(256, 31)
    rows.append(np.arange(1, 5001), rng.integers(0, 256, (5000, 32), dtype=np.uint8))
    big = rows.segments[0]
    assert big.index.mode == "mih"
    rows.append([9000], rng.integers(0, 256, (1, 32), dtype=np.uint8))
    assert rows.segments[0] is big and len(rows.segments) == 2


def test_mostly_removed_segments_are_compacted(small_segments: int) -> None:
    rng = np.random.default_rng(5)
    rows = HammingRows(64, 8)
    codes = rng.integers(0, 256, (3000, 8), dtype=np.uint8)
    rows.append(np.arange(3000), codes)
    assert rows.remove(np.arange(0, 3000, 2)) == 1500
    assert sum(len(s.ids) for s in rows.segments) == 1500  # dropped, not only masked
    assert found(rows, codes[3], 0) == {3: 0} and found(rows, codes[4], 0) == {}
    assert rows.remove(np.arange(3000)) == 1500
    assert len(rows) == 0 and rows.segments == []
    assert found(rows, codes[3], 64) == {}


def test_ids_must_grow() -> None:
    rows = HammingRows(64, 8)
    rows.append([5, 9], np.zeros((2, 8), np.uint8))
    with pytest.raises(ValueError, match="ascending"):
        rows.append([9], np.zeros((1, 8), np.uint8))
    with pytest.raises(ValueError, match="ascending"):
        rows.append([12, 11], np.zeros((2, 8), np.uint8))
    rows.append([], np.zeros((0, 8), np.uint8))
    assert len(rows) == 2


def test_face_rows_exact_with_face_distances(small_segments: int) -> None:
    rng = np.random.default_rng(6)
    rows = FaceRows(128)
    centre = rng.normal(0, 0.1, 128).astype(np.float32)
    vecs = np.concatenate([centre + rng.normal(0, s, (300, 128)).astype(np.float32)
                           for s in (0.005, 0.02, 0.05, 0.1)])
    ids = np.arange(len(vecs)) * 2 + 1
    for a in range(0, len(vecs), 250):
        rows.append(ids[a:a + 250], vecs[a:a + 250])
    rows.remove(ids[::5])
    alive = np.ones(len(ids), bool)
    alive[::5] = False
    for limit in (0.0, 0.2, 0.5, 1.0, 5.0):
        got_ids, got_d = rows.search(centre, limit)
        exact = np.array(face_distances(centre, vecs))
        want = {int(ids[i]): exact[i] for i in np.flatnonzero(alive & (exact <= limit))}
        assert dict(zip(got_ids.tolist(), got_d, strict=True)) == want
    # A row exactly at the limit (after rounding to 6 decimals) is in.
    d = face_distances(centre, vecs[1:2])[0]
    assert int(ids[1]) in rows.search(centre, d)[0].tolist()


def test_memory_is_counted_once_per_array(small_segments: int) -> None:
    rows = HammingRows(256, 31)
    n = 4000
    rows.append(np.arange(n), np.random.default_rng(7).integers(0, 256, (n, 32), np.uint8))
    plan = rows.segments[0].index.plan
    assert plan is not None
    # Per row: the code 32, id 8, prefix 16 and 4 bytes in each chunk's table; plus
    # the bucket bounds (4 bytes per possible chunk value).
    expected = n * (32 + 8 + 16 + 4 * len(plan.widths)) + 4 * sum(1 << w for w in plan.widths)
    assert expected <= rows.nbytes() <= expected * 1.1
