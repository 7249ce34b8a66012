"""HammingIndex / EuclideanIndex: exact results, checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from matchers.bank_index import EuclideanIndex, HammingIndex, flip_masks, plan_mih


def _brute(codes: np.ndarray, q: np.ndarray, r: int) -> dict[int, int]:
    d = np.unpackbits(codes ^ q, axis=1).sum(axis=1)
    return {int(i): int(d[i]) for i in np.flatnonzero(d <= r)}


def _flip(code: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    out = code.copy()
    for pos in rng.choice(code.size * 8, n, replace=False):
        out[pos // 8] ^= np.uint8(1 << (pos % 8))
    return out


def test_flip_masks_counts() -> None:
    assert len(flip_masks(0)) == 1
    assert len(flip_masks(1)) == 17
    assert len(flip_masks(2)) == 137
    assert len(set(flip_masks(2).tolist())) == 137


@pytest.mark.parametrize(("nbits", "radius", "mode"), [
    (256, 31, "mih"), (256, 31, "linear"), (64, 10, "mih"), (64, 10, "linear"),
    (256, 47, "mih"), (256, 48, "mih"),  # 48: 17 chunks of 15-16 bits, s = 2
    (64, 8, "mih"),
])
def test_hamming_exact_against_brute_force(nbits: int, radius: int, mode: str) -> None:
    rng = np.random.default_rng(nbits + radius)
    n = 5000
    codes = rng.integers(0, 256, (n, nbits // 8), dtype=np.uint8)
    # Plant near-duplicates at distances around the radius, spread over the chunks.
    base = codes[17].copy()
    dists = [0, 1, radius // 2, radius - 1, radius, radius + 1, radius + 5]
    for i, dd in enumerate(dists):
        codes[100 + i] = _flip(base, dd, rng)
    ix = HammingIndex(nbits, codes, radius, mode=mode)  # type: ignore[arg-type]
    assert ix.mode == mode
    if (nbits, radius) == (256, 48):
        assert ix.plan is not None and len(ix.plan.widths) == 17 and ix.plan.s == 2
    for q in (base, _flip(base, 3, rng), rng.integers(0, 256, nbits // 8, dtype=np.uint8)):
        rows, d = ix.search(q)
        got = dict(zip(rows.tolist(), d.tolist(), strict=True))
        assert got == _brute(codes, q, radius)
    rows, d = ix.search(base)
    got = dict(zip(rows.tolist(), d.tolist(), strict=True))
    assert got[17] == 0
    assert got[100 + dists.index(radius)] == radius
    assert 100 + dists.index(radius + 1) not in got


def test_hamming_mih_worst_case_spread() -> None:
    """31 flips spread so 15 chunks differ by 2 bits and one by 1: found through that one."""
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (20000, 32), dtype=np.uint8)
    q = codes[5].copy()
    target = q.copy()
    for chunk in range(16):  # chunk = 2 bytes; flip 2 bits in each, only 1 in the last
        target[2 * chunk] ^= np.uint8(0b1) if chunk == 15 else np.uint8(0b11)
    codes[6] = target
    ix = HammingIndex(256, codes, 31, mode="mih")
    rows, d = ix.search(q)
    assert dict(zip(rows.tolist(), d.tolist(), strict=True)) == _brute(codes, q, 31)
    assert 6 in rows.tolist()


def test_plan_mih_choices() -> None:
    p = plan_mih(256, 31, 1_600_000)
    assert p is not None and p.widths == (16,) * 16 and p.s == 1 and p.probes == 272
    assert plan_mih(256, 31, 100) is None  # a scan is cheaper
    assert plan_mih(256, 200, 10**7) is None  # nothing exact and cheap at that radius


def test_hamming_auto_mode_and_empty() -> None:
    small = HammingIndex(256, np.zeros((10, 32), np.uint8), 31)
    assert small.mode == "linear"
    big = HammingIndex(256, np.random.default_rng(0).integers(0, 256, (300_000, 32),
                                                               dtype=np.uint8), 31)
    assert big.mode == "mih"
    empty = HammingIndex(256, np.zeros((0, 32), np.uint8), 31)
    rows, d = empty.search(np.zeros(32, np.uint8))
    assert rows.size == 0 and d.size == 0
    with pytest.raises(ValueError):
        HammingIndex(100, np.zeros((1, 13), np.uint8), 3)


@pytest.mark.parametrize("per_group", [1, 8])
def test_euclidean_exact_against_brute_force(per_group: int) -> None:
    rng = np.random.default_rng(per_group)
    n_groups = 400
    centres = rng.normal(0, 0.09, (n_groups, 128)).astype(np.float32)
    vecs = np.repeat(centres, per_group, axis=0) + rng.normal(0, 0.02, (n_groups * per_group,
                                                                        128)).astype(np.float32)
    groups = np.repeat(np.arange(n_groups), per_group)
    perm = rng.permutation(len(groups))  # rows of a group need not be contiguous
    vecs, groups = vecs[perm], groups[perm]
    ix = EuclideanIndex(vecs, groups, 0.5)
    assert ix.mode == ("grouped" if per_group > 1 else "flat")
    for qi in (0, 7, 99):
        q = vecs[qi] + rng.normal(0, 0.03, 128).astype(np.float32)
        rows, d = ix.search(q)
        full = np.linalg.norm(vecs.astype(np.float64) - q.astype(np.float64), axis=1)
        want = set(np.flatnonzero(full <= 0.5).tolist())
        assert set(rows.tolist()) == want
        assert qi in want
        np.testing.assert_allclose(d, full[rows], rtol=1e-6)


def test_euclidean_boundary_is_inclusive() -> None:
    vecs = np.array([[0.0, 0.0], [0.5, 0.0], [0.5001, 0.0]], np.float32)
    ix = EuclideanIndex(vecs, [0, 1, 2], 0.5)
    rows, _ = ix.search(np.zeros(2, np.float32))
    assert sorted(rows.tolist()) == [0, 1]


@pytest.mark.parametrize("per_group", [1, 6])
def test_euclidean_search_many_equals_search(per_group: int) -> None:
    rng = np.random.default_rng(10 + per_group)
    centres = rng.normal(0, 0.09, (300, 128)).astype(np.float32)
    vecs = np.repeat(centres, per_group, axis=0) + rng.normal(
        0, 0.02, (300 * per_group, 128)).astype(np.float32)
    ix = EuclideanIndex(vecs, np.repeat(np.arange(300), per_group), 0.5)
    qs = vecs[[0, 5, 17]] + rng.normal(0, 0.03, (3, 128)).astype(np.float32)
    for (r1, d1), q in zip(ix.search_many(qs), qs, strict=True):
        r2, d2 = ix.search(q)
        assert r1.tolist() == r2.tolist() and len(r1) >= 1
        np.testing.assert_allclose(d1, d2, rtol=1e-6)
    assert ix.search_many(np.zeros((0, 128), np.float32)) == []
