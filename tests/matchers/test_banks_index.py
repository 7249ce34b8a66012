"""HammingIndex / EuclideanIndex: exact results, checked against brute force.

The search tests run twice: through the compiled kernels (matchers/_kernels.c, built by
``make venv``; their absence fails them) and through the numpy path."""

from __future__ import annotations

import numpy as np
import pytest

import matchers.bank_index as bank_index
from matchers import kernels
from matchers.bank_index import HammingIndex, MihPlan, flip_masks, plan_mih
from matchers.euclidean_index import EuclideanIndex


@pytest.fixture(params=["kernel", "numpy"])
def search_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which implementation the indexes built in a test search with."""
    if request.param == "kernel":
        assert kernels.available(), "the compiled kernels are not built (make venv)"
    else:
        monkeypatch.setattr(kernels, "_load", lambda: None)
    return str(request.param)


def _uses(ix: HammingIndex | EuclideanIndex, path: str) -> bool:
    if ix.mode in ("linear", "flat"):
        return ix.kernel is None
    return (ix.kernel is not None) == (path == "kernel")


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
    assert len(flip_masks(-1)) == 0  # a chunk that is never probed


@pytest.mark.parametrize(("nbits", "radius", "mode"), [
    (256, 31, "mih"), (256, 31, "linear"), (64, 10, "mih"), (64, 10, "linear"),
    (256, 47, "mih"), (256, 48, "mih"),  # 48: 17 chunks of 15-16 bits, s = 2
    (64, 8, "mih"),
])
def test_hamming_exact_against_brute_force(nbits: int, radius: int, mode: str, search_path: str) -> None:
    rng = np.random.default_rng(nbits + radius)
    n = 5000
    codes = rng.integers(0, 256, (n, nbits // 8), dtype=np.uint8)
    # Plant near-duplicates at distances around the radius, spread over the chunks.
    base = codes[17].copy()
    dists = [0, 1, radius // 2, radius - 1, radius, radius + 1, radius + 5]
    for i, dd in enumerate(dists):
        codes[100 + i] = _flip(base, dd, rng)
    ix = HammingIndex(nbits, codes, radius, mode=mode)  # type: ignore[arg-type]
    assert ix.mode == mode and _uses(ix, search_path)
    for q in (base, _flip(base, 3, rng), rng.integers(0, 256, nbits // 8, dtype=np.uint8)):
        rows, d = ix.search(q)
        got = dict(zip(rows.tolist(), d.tolist(), strict=True))
        assert got == _brute(codes, q, radius)
    rows, d = ix.search(base)
    got = dict(zip(rows.tolist(), d.tolist(), strict=True))
    assert got[17] == 0
    assert got[100 + dists.index(radius)] == radius
    assert 100 + dists.index(radius + 1) not in got


def test_hamming_mih_worst_case_spread(search_path: str) -> None:
    """31 flips spread so 15 chunks differ by 2 bits and one by 1: found through that one."""
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (20000, 32), dtype=np.uint8)
    q = codes[5].copy()
    target = q.copy()
    for chunk in range(16):  # chunk = 2 bytes; flip 2 bits in each, only 1 in the last
        target[2 * chunk] ^= np.uint8(0b1) if chunk == 15 else np.uint8(0b11)
    codes[6] = target
    ix = HammingIndex(256, codes, 31, mode="mih")
    assert _uses(ix, search_path)
    rows, d = ix.search(q)
    assert dict(zip(rows.tolist(), d.tolist(), strict=True)) == _brute(codes, q, 31)
    assert 6 in rows.tolist()


def test_plan_mih_choices() -> None:
    p = plan_mih(256, 31, 1_600_000)  # PDQ: 200 k references x 8 dihedral variants
    assert p is not None and p.widths == (16,) * 16 and p.radii == (1,) * 16
    assert p.s == 1 and p.probes == 272
    p = plan_mih(256, 48, 200_000)  # face_pdq: one chunk within 3 bits, 15 within 2
    assert p is not None and p.widths == (16,) * 16 and sorted(p.radii) == [2] * 15 + [3]
    assert p.probes == 697 + 15 * 137
    p = plan_mih(64, 8, 200_000)  # pHash: one chunk within 2 bits, three within 1
    assert p is not None and p.widths == (16,) * 4 and sorted(p.radii) == [1, 1, 1, 2]
    assert p.probes == 137 + 3 * 17
    assert plan_mih(256, 31, 100) is None  # a scan is cheaper
    assert plan_mih(256, 200, 10**7) is None  # nothing exact and cheap at that radius


@pytest.mark.parametrize("nbits", [64, 128, 256])
def test_plan_mih_always_exact(nbits: int) -> None:
    """Pigeonhole: the chunk radii must satisfy sum(s_i + 1) > radius, whatever is picked."""
    for radius in range(0, nbits // 4):
        for n in (10, 3000, 50_000, 2_000_000):
            for m in range(nbits // 16, nbits // 8 + 1):
                p = bank_index._plan_for(nbits, radius, n, m)
                if p is not None:
                    assert sum(p.widths) == nbits and max(p.widths) <= 16
                    assert sum(t + 1 for t in p.radii) > radius, (radius, n, m)
                    assert min(p.radii) >= -1


def _force_plan(monkeypatch: pytest.MonkeyPatch, plan: MihPlan) -> None:
    monkeypatch.setattr(bank_index, "plan_mih", lambda *a: plan)


def _chunk_flips(code: np.ndarray, widths: tuple[int, ...], per_chunk: list[int],
                 rng: np.random.Generator) -> np.ndarray:
    """``code`` with exactly per_chunk[i] bits flipped inside chunk i (bits MSB first)."""
    bits = np.unpackbits(code)
    pos = 0
    for w, k in zip(widths, per_chunk, strict=True):
        for b in rng.choice(w, k, replace=False):
            bits[pos + b] ^= 1
        pos += w
    return np.packbits(bits)


@pytest.mark.parametrize(("nbits", "radius", "n", "m"), [
    (256, 31, 20_000, None), (256, 48, 200_000, None), (256, 48, 20_000, None),
    (64, 8, 200_000, None), (64, 8, 5000, None),
    (64, 8, 5000, 12),  # s = 0: 9 chunks probed exactly, 3 never probed
    (128, 20, 5000, 9),  # widths 14 and 15, radii 2 and 1
])
@pytest.mark.parametrize("inline", [True, False])
def test_hamming_mih_worst_cases(monkeypatch: pytest.MonkeyPatch, nbits: int, radius: int,
                                 n: int, m: int | None, inline: bool, search_path: str) -> None:
    """Codes at exactly ``radius`` that only one chunk can find (it differs by its s_i,
    every other chunk by s_i + 1), for each chunk in turn; at radius + 1, none."""
    rng = np.random.default_rng(nbits + radius + n)
    if m is not None:
        plan = bank_index._plan_for(nbits, radius, n, m)
        assert plan is not None and min(plan.radii) < max(plan.radii)
        _force_plan(monkeypatch, plan)
    if not inline:
        monkeypatch.setattr(HammingIndex, "INLINE_BYTES", 0)
    codes = rng.integers(0, 256, (n, nbits // 8), dtype=np.uint8)
    q = codes[0].copy()
    plan0 = bank_index.plan_mih(nbits, radius, n)
    assert plan0 is not None
    widths, radii = plan0.widths, plan0.radii
    planted = {}
    for j, t in enumerate(radii):
        if t < 0:
            continue
        per = [s + 1 for s in radii]
        per[j] = t
        assert sum(per) == radius
        planted[1 + j] = _chunk_flips(q, widths, per, rng)
        codes[1 + j] = planted[1 + j]
    far = [s + 1 for s in radii]
    far[0] += 1 if sum(far) == radius else 0
    assert sum(far) == radius + 1
    codes[len(radii) + 1] = _chunk_flips(q, widths, far, rng)
    ix = HammingIndex(nbits, codes, radius, mode="mih")
    assert ix.plan == plan0 and (ix.inline is not None) == inline and _uses(ix, search_path)
    rows, d = ix.search(q)
    got = dict(zip(rows.tolist(), d.tolist(), strict=True))
    assert got == _brute(codes, q, radius)
    assert all(got[i] == radius for i in planted) and len(radii) + 1 not in got
    for r in (radius - 1, 0):  # a smaller radius than the index's
        rows, d = ix.search(q, r)
        assert dict(zip(rows.tolist(), d.tolist(), strict=True)) == _brute(codes, q, r)
    with pytest.raises(ValueError):
        ix.search(q, radius + 1)


@pytest.mark.parametrize(("nbits", "radius"), [(256, 31), (64, 8)])
def test_hamming_scan_answers_radii_beyond_the_tables(nbits: int, radius: int) -> None:
    """``scan``: exact at any radius, whatever the mode; ``search`` refuses a radius
    beyond the one a multi-index index was planned for."""
    rng = np.random.default_rng(nbits)
    codes = rng.integers(0, 256, (6000, nbits // 8), dtype=np.uint8)
    base = codes[9].copy()
    for i, dd in enumerate([radius + 1, radius + 6, 2 * radius, nbits // 3]):
        codes[50 + i] = _flip(base, dd, rng)
    mih = HammingIndex(nbits, codes, radius, mode="mih")
    linear = HammingIndex(nbits, codes, radius, mode="linear")
    assert linear.plan is None
    for r in (0, radius, radius + 6, 2 * radius, nbits // 2, nbits):
        want = _brute(codes, base, r)
        for ix in (mih, linear):
            rows, d = ix.scan(base, r)
            assert dict(zip(rows.tolist(), d.tolist(), strict=True)) == want
    assert len(_brute(codes, base, 2 * radius)) > len(_brute(codes, base, radius))
    with pytest.raises(ValueError, match="exceeds"):
        mih.search(base, radius + 1)
    assert HammingIndex(nbits, codes[:0], radius, mode="mih").scan(base, nbits)[0].size == 0


def test_hamming_auto_mode_and_empty(search_path: str) -> None:
    small = HammingIndex(256, np.zeros((10, 32), np.uint8), 31)
    assert small.mode == "linear"
    big = HammingIndex(256, np.random.default_rng(0).integers(0, 256, (300_000, 32),
                                                               dtype=np.uint8), 31)
    assert big.mode == "mih" and _uses(big, search_path)
    q = big.words[7].view(np.uint8).copy()
    q[0] ^= 0b111
    assert big.search(q)[0].tolist() == [7] and big.search(q)[1].tolist() == [3]
    empty = HammingIndex(256, np.zeros((0, 32), np.uint8), 31)
    rows, d = empty.search(np.zeros(32, np.uint8))
    assert rows.size == 0 and d.size == 0
    with pytest.raises(ValueError):
        HammingIndex(100, np.zeros((1, 13), np.uint8), 3)


@pytest.mark.parametrize("per_group", [1, 8])
def test_euclidean_exact_against_brute_force(per_group: int, search_path: str) -> None:
    rng = np.random.default_rng(per_group)
    n_groups = 400
    centres = rng.normal(0, 0.09, (n_groups, 128)).astype(np.float32)
    vecs = np.repeat(centres, per_group, axis=0) + rng.normal(0, 0.02, (n_groups * per_group,
                                                                        128)).astype(np.float32)
    groups = np.repeat(np.arange(n_groups), per_group)
    perm = rng.permutation(len(groups))  # rows of a group need not be contiguous
    vecs, groups = vecs[perm], groups[perm]
    ix = EuclideanIndex(vecs, groups, 0.5)
    assert ix.mode == ("grouped" if per_group > 1 else "flat") and _uses(ix, search_path)
    for qi in (0, 7, 99):
        q = vecs[qi] + rng.normal(0, 0.03, 128).astype(np.float32)
        rows, d = ix.search(q)
        full = np.linalg.norm(vecs.astype(np.float64) - q.astype(np.float64), axis=1)
        want = set(np.flatnonzero(full <= 0.5).tolist())
        assert set(rows.tolist()) == want
        assert qi in want
        np.testing.assert_allclose(d, full[rows], rtol=1e-6)


def _embeddings(kind: str, rng: np.random.Generator, n_groups: int = 600, per_group: int = 6
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vecs, groups, queries) with different shapes of spread, for every search path."""
    spread = np.full(128, 0.09)
    if kind == "anisotropic":  # most of the spread in a few directions, like real embeddings
        spread = 0.5 * 0.7 ** np.arange(128)
    rot = np.linalg.qr(rng.normal(size=(128, 128)))[0]
    centres = (rng.normal(size=(n_groups, 128)) * spread) @ rot
    if kind == "two-shells":  # 60 % of the persons on a far shell, 40 % near the middle
        centres[: n_groups * 3 // 5] *= 8.0
    vecs = (np.repeat(centres, per_group, axis=0)
            + rng.normal(0, 0.02, (n_groups * per_group, 128))).astype(np.float32)
    groups = np.repeat(np.arange(n_groups), per_group)
    queries = vecs[rng.choice(len(vecs), 6)] + rng.normal(0, 0.008, (6, 128)).astype(np.float32)
    if kind == "far":  # queries far from the bank's mass: nothing within reach
        queries = queries + 3.0 * rot[0].astype(np.float32)
    if kind == "orthogonal":  # as far from the mean as the centres, along a minor axis
        mu = centres.mean(axis=0)
        rad = float(np.median(np.linalg.norm(centres - mu, axis=1)))
        queries[:3] = (mu + rad * rot[-1]).astype(np.float32)
    if kind == "two-shells":  # near the middle persons: those are all in the radial shell
        queries = vecs[-6:] + rng.normal(0, 0.008, (6, 128)).astype(np.float32)
    perm = rng.permutation(len(groups))  # rows of a group need not be contiguous
    return vecs[perm], groups[perm], queries


@pytest.mark.parametrize("kind", ["isotropic", "anisotropic", "far", "orthogonal",
                                  "two-shells"])
@pytest.mark.parametrize("radius", [0.5, 0.15])
def test_euclidean_grouped_exact_against_brute_force(kind: str, radius: float, search_path: str) -> None:
    rng = np.random.default_rng(len(kind) + int(radius * 100))
    vecs, groups, queries = _embeddings(kind, rng)
    ix = EuclideanIndex(vecs, groups, radius)
    assert ix.mode == "grouped" and _uses(ix, search_path)
    full64 = vecs.astype(np.float64)
    found = []
    for q in queries:
        full = np.linalg.norm(full64 - q.astype(np.float64), axis=1)
        for r in (radius, radius / 2):
            rows, d = ix.search(q, r)
            assert set(rows.tolist()) == set(np.flatnonzero(full <= r).tolist())
            np.testing.assert_allclose(d, full[rows], rtol=1e-12)
            found.append(len(rows))
    assert (sum(found) == 0) == (kind == "far")
    # A row exactly at the radius (the float64 distance of the float32 values, summed as
    # the index sums it) is found.
    edge = (vecs[3] + radius / np.sqrt(128)).astype(np.float32)
    r_edge = float(np.linalg.norm(full64[3:4] - edge.astype(np.float64), axis=1)[0])
    assert 3 in ix.search(edge, r_edge)[0].tolist()
    assert 3 not in ix.search(edge, float(np.nextafter(r_edge, 0)))[0].tolist()
    many = ix.search_many(queries)
    for (r1, d1), q in zip(many, queries, strict=True):
        r2, d2 = ix.search(q)
        assert r1.tolist() == r2.tolist()
        np.testing.assert_array_equal(d1, d2)


def test_euclidean_boundary_is_inclusive(search_path: str) -> None:
    vecs = np.array([[0.0, 0.0], [0.5, 0.0], [0.5001, 0.0]], np.float32)
    ix = EuclideanIndex(vecs, [0, 1, 2], 0.5)
    rows, _ = ix.search(np.zeros(2, np.float32))
    assert sorted(rows.tolist()) == [0, 1]
    # Grouped: two rows per group, one group's far row exactly at the radius.
    vecs = np.array([[0.25, 0.0], [0.5, 0.0], [0.5001, 0.0], [0.6, 0.0],
                     [3.0, 0.0], [3.5, 0.0]], np.float32)
    ix = EuclideanIndex(vecs, [0, 0, 1, 1, 2, 2], 0.5)
    assert ix.mode == "grouped" and _uses(ix, search_path)
    rows, d = ix.search(np.zeros(2, np.float32))
    assert sorted(rows.tolist()) == [0, 1] and sorted(d.tolist()) == [0.25, 0.5]


def test_euclidean_empty_and_small(search_path: str) -> None:
    empty = EuclideanIndex(np.zeros((0, 128), np.float32), [], 0.5)
    rows, d = empty.search(np.zeros(128, np.float32))
    assert rows.size == 0 and d.size == 0
    assert empty.search_many(np.zeros((2, 128), np.float32))[0][0].size == 0
    one = EuclideanIndex(np.ones((2, 3), np.float32), [7, 7], 0.1)  # one group, dims < HEAD
    assert one.mode == "grouped"
    assert one.search(np.ones(3, np.float32))[0].tolist() == [0, 1]
    assert one.search(np.zeros(3, np.float32))[0].size == 0


@pytest.mark.parametrize("per_group", [1, 6])
def test_euclidean_search_many_equals_search(per_group: int, search_path: str) -> None:
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


@pytest.mark.parametrize(("nbits", "radius", "inline"), [
    (256, 31, False), (256, 31, True), (256, 48, True), (64, 8, True), (64, 10, False)])
def test_hamming_search_many_equals_search(monkeypatch: pytest.MonkeyPatch, nbits: int,
                                           radius: int, inline: bool, search_path: str) -> None:
    """The batched search gives search's rows and distances for every query: near and
    random queries, duplicates, a smaller radius."""
    if not inline:
        monkeypatch.setattr(HammingIndex, "INLINE_BYTES", 0)
    rng = np.random.default_rng(nbits * radius)
    codes = rng.integers(0, 256, (4000, nbits // 8), dtype=np.uint8)
    codes[200:210] = codes[5]  # a code found many times over
    ix = HammingIndex(nbits, codes, radius, mode="mih")
    assert (ix.inline is not None) == inline and _uses(ix, search_path)
    qs = [_flip(codes[i], d, rng) for i, d in zip(range(0, 40, 3), range(0, radius + 6, 3))]
    qs += [rng.integers(0, 256, nbits // 8, dtype=np.uint8) for _ in range(6)]
    qs += [codes[5], qs[0]]
    qs = np.array(qs)[rng.permutation(len(qs))]
    for r in (radius, radius // 2):
        many = ix.search_many(qs, r)
        assert len(many) == len(qs)
        hits = 0
        for (r1, d1), q in zip(many, qs, strict=True):
            r2, d2 = ix.search(q, r)
            assert r1.tolist() == r2.tolist() and d1.tolist() == d2.tolist()
            assert dict(zip(r1.tolist(), d1.tolist(), strict=True)) == _brute(codes, q, r)
            hits += len(r1)
        assert hits >= 11 + 2  # codes[5] and its ten copies; codes[0], asked twice
    far = rng.integers(0, 256, (3, nbits // 8), dtype=np.uint8)
    assert all(r.size == 0 for r, _ in ix.search_many(far, 0))
    assert ix.search_many(np.zeros((0, nbits // 8), np.uint8)) == []
    with pytest.raises(ValueError):
        ix.search_many(qs, radius + 1)


def test_euclidean_search_many_batches_mixed_paths(monkeypatch: pytest.MonkeyPatch, search_path: str) -> None:
    """Isotropic queries (every centre scored, as one product per batch) mixed with far
    ones (ruled out by the radial bound), over several batches: search's results."""
    monkeypatch.setattr(EuclideanIndex, "BATCH", 5)
    rng = np.random.default_rng(5)
    vecs, groups, queries = _embeddings("isotropic", rng)
    ix = EuclideanIndex(vecs, groups, 0.5)
    assert _uses(ix, search_path)
    far = queries + 3.0
    qs = np.concatenate([queries, far, queries[:2], vecs[:4]])
    full64 = vecs.astype(np.float64)
    many = ix.search_many(qs)
    for (r1, d1), q in zip(many, qs, strict=True):
        r2, d2 = ix.search(q)
        assert r1.tolist() == r2.tolist()
        np.testing.assert_array_equal(d1, d2)
        full = np.linalg.norm(full64 - q.astype(np.float64), axis=1)
        assert set(r1.tolist()) == set(np.flatnonzero(full <= 0.5).tolist())
    assert sum(len(r) for r, _ in many[:6]) >= 6 and all(r.size == 0 for r, _ in many[6:12])
