"""matchers.kernels: building and loading the compiled kernels, and refusing a stale or
missing library (the indexes then search with numpy; test_banks_index.py checks both
paths give the brute-force results)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from matchers import kernels
from matchers.bank_index import HammingIndex


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    kernels._load.cache_clear()
    yield
    kernels._load.cache_clear()


def test_make_venv_built_the_kernels() -> None:
    assert kernels.LIBRARY.exists()
    assert kernels.available()
    ix = HammingIndex(256, np.random.default_rng(0).integers(0, 256, (20_000, 32),
                                                             dtype=np.uint8), 31, mode="mih")
    assert ix.kernel is not None


def test_build_into_a_new_file_and_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    out = kernels.build(tmp_path / "k.so")
    assert out.exists() and not list(tmp_path.glob(".kernels-*"))  # no temporary left
    monkeypatch.setattr(kernels, "LIBRARY", out)
    assert kernels.main(["check"]) == 0


def test_missing_library_falls_back_to_numpy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(kernels, "LIBRARY", tmp_path / "absent.so")
    with caplog.at_level(logging.WARNING, logger="matchers.kernels"):
        assert not kernels.available()
        assert not kernels.available()  # cached: one warning, not one per index
    assert [r.getMessage() for r in caplog.records if "not built" in r.getMessage()]
    assert len(caplog.records) == 1
    ix = HammingIndex(256, np.zeros((20_000, 32), np.uint8), 31, mode="mih")
    assert ix.kernel is None
    assert ix.search(np.zeros(32, np.uint8))[0].tolist() == list(range(20_000))
    with pytest.raises(RuntimeError, match="not available"):
        HammingIndex(256, np.zeros((20_000, 32), np.uint8), 31, mode="mih", kernel=True)


def test_library_from_another_source_is_refused(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """A library built before the source changed (say, a pull without `make venv`) is not
    used: its recorded source hash differs."""
    src = tmp_path / "_kernels.c"
    shutil.copy(kernels.SOURCE, src)
    monkeypatch.setattr(kernels, "SOURCE", src)
    lib = kernels.build(tmp_path / "old.so")
    src.write_text(src.read_text() + "\n/* changed */\n")
    monkeypatch.setattr(kernels, "LIBRARY", lib)
    with caplog.at_level(logging.WARNING, logger="matchers.kernels"):
        assert not kernels.available()
    assert "another version" in caplog.text
    assert kernels.main(["check"]) == 1


def test_unloadable_library_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "bad.so"
    bad.write_bytes(b"not an ELF file")
    monkeypatch.setattr(kernels, "LIBRARY", bad)
    with caplog.at_level(logging.WARNING, logger="matchers.kernels"):
        assert not kernels.available()
    assert "does not load" in caplog.text


def test_environment_forces_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWATCH_KERNELS", "numpy")
    assert not kernels.available()
    ix = HammingIndex(256, np.zeros((20_000, 32), np.uint8), 31, mode="mih")
    assert ix.kernel is None


def test_kernel_grows_its_output_for_many_hits() -> None:
    """More hits than the first output buffer holds (64 per query): all are returned."""
    codes = np.zeros((20_000, 32), np.uint8)
    codes[::2, 0] = 1  # every code at distance 1 or 0 from the zero query
    ix = HammingIndex(256, codes, 31, mode="mih", kernel=True)
    rows, d = ix.search(np.zeros(32, np.uint8))
    assert rows.tolist() == list(range(20_000)) and d.tolist() == [1, 0] * 10_000
    many = ix.search_many(np.zeros((3, 32), np.uint8))
    assert [r.tolist() for r, _ in many] == [list(range(20_000))] * 3


def test_group_rows_kernel_grows_its_output() -> None:
    """A group of 100 rows all within reach of the query: more than the first output
    buffer holds; every row comes back, with its float64 distance."""
    from matchers.euclidean_index import EuclideanIndex

    rng = np.random.default_rng(1)
    vecs = np.concatenate([np.zeros((100, 128)), rng.normal(0, 1, (300, 128))]).astype(
        np.float32)
    vecs[:100, 0] = np.linspace(0, 0.3, 100)
    groups = np.concatenate([np.zeros(100), 1 + np.arange(300) // 3])
    ix = EuclideanIndex(vecs, groups, 0.5, kernel=True)
    assert ix.mode == "grouped" and ix.kernel is not None
    rows, d = ix.search(np.zeros(128, np.float32))
    assert sorted(rows.tolist()) == list(range(100))
    np.testing.assert_allclose(np.sort(d), np.linspace(0, 0.3, 100), atol=1e-7)
    assert [r.tolist() for r, _ in ix.search_many(np.zeros((2, 128), np.float32))] == [
        rows.tolist()] * 2


def test_library_built_for_another_cpu_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """-march=native code from another machine could crash the process: refused."""
    monkeypatch.setattr(kernels, "cpu_id", lambda: "0" * 16)
    with caplog.at_level(logging.WARNING, logger="matchers.kernels"):
        assert not kernels.available()
    assert "another CPU" in caplog.text
