"""The compiled kernels of the bank indexes (``matchers/_kernels.c``), through ctypes.

Built by ``make venv`` (``python -m matchers.kernels build``) with the system's C
compiler for this machine's CPU (``-O3 -march=native``), next to the source as
``_kernels.so`` (not committed). ``mih()`` and ``group_rows()`` return a kernel bound
to an index's tables, or ``None`` - with one warning in the log - when the library is missing, fails to load, or was built from
another version of the source or for another CPU; the indexes then search with numpy, with the same results
and about half the speed (``bench/banks.py`` prints which is used). The setting
``kernels`` (``LIKEWATCH_KERNELS=numpy``) forces the numpy path.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from likewatch import settings

log = logging.getLogger(__name__)

ABI = 2  # must equal lw_kernels_abi() in _kernels.c
SOURCE = Path(__file__).with_name("_kernels.c")
LIBRARY = Path(__file__).with_name("_kernels.so")
CFLAGS = ("-O3", "-march=native", "-fPIC", "-shared", "-std=c99", "-Wall", "-Werror")

_P = ctypes.c_void_p
_I = ctypes.c_int64


def source_hash() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]


def cpu_id() -> str:
    """A fingerprint of this CPU's instruction-set flags: a library built with
    ``-march=native`` on another CPU may use instructions this one lacks (and would crash
    the process, not raise), so it is refused."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        flags = ""
    return hashlib.sha256(" ".join(sorted(flags.split()[2:])).encode()).hexdigest()[:16]


def build(out: Path = LIBRARY) -> Path:
    """Compile ``_kernels.c`` into ``out`` (atomically: a reader never sees half a file)."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise RuntimeError("no C compiler (cc or gcc) found: install gcc (deploy/apt-packages.txt)")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".kernels-", suffix=".so")
    os.close(fd)
    try:
        subprocess.run([cc, *CFLAGS, f'-DLW_SOURCE_HASH="{source_hash()}"',
                        f'-DLW_BUILD_CPU="{cpu_id()}"', "-o", tmp, str(SOURCE)], check=True)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _addresses(*arrays: npt.NDArray[Any] | None) -> list[int | None]:
    """The data addresses of C-contiguous arrays (None stays None)."""
    if not all(a is None or a.flags.c_contiguous for a in arrays):
        raise ValueError("the kernel needs C-contiguous numpy arrays")
    return [None if a is None else a.ctypes.data for a in arrays]


class BoundMih:
    """``lw_mih_search`` (multi-index hashing for a batch of queries, see _kernels.c) over
    one HammingIndex's tables. Their addresses are taken once, here (numpy's
    ``.ctypes.data`` costs ~3 us per array, as much as a small search), and the arrays
    are held so they live as long as this object."""

    def __init__(self, lib: ctypes.CDLL, *, starts: npt.NDArray[np.int32],
                 rows: npt.NDArray[np.int32], inline: npt.NDArray[np.uint64] | None,
                 prefix: npt.NDArray[np.uint64], words: npt.NDArray[np.uint64],
                 probe_base: npt.NDArray[np.int64], probe_chunk: npt.NDArray[np.int64],
                 nchunks: int) -> None:
        self._fn = lib.lw_mih_search
        self._fn.restype = _I
        self._fn.argtypes = [_P, _P, _P, _P, _I, _P, _I, _P, _P, _I, _I, _P, _P, _I, _I,
                             _P, _P, _P, _P, _I]
        self._tables = (starts, rows, inline, prefix, words, probe_base, probe_chunk)
        p_starts, p_rows, p_inline, p_prefix, p_words, p_base, p_chunk = _addresses(
            *self._tables)
        self.nprobes, self.nchunks = len(probe_base), int(nchunks)
        self.pw, self.nwords = prefix.shape[1], words.shape[1]
        self._static = (p_starts, p_rows, p_inline, p_prefix, self.pw, p_words, self.nwords,
                        p_base, p_chunk, self.nprobes, self.nchunks)

    def search(self, keys: npt.NDArray[np.int64], queries: npt.NDArray[np.uint64],
               radius: int
               ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(query, row, distance) of every code within ``radius`` of each query, as found
        through each chunk (a code found through several chunks appears once for each).
        ``keys``: (nq, chunks) chunk keys; ``queries``: (nq, words)."""
        nq = len(keys)
        nk, nw = nq * self.nchunks, nq * self.nwords
        scratch = (self.nprobes + 1) // 2 * 2  # int64 slots for 2 * nprobes int32
        cap = 16 * max(nq, 1)
        while True:
            # One buffer for the inputs, the scratch space and the outputs: one address.
            buf = np.empty(nk + nw + scratch + 3 * cap, np.int64)
            buf[:nk] = keys.reshape(-1)
            buf[nk:nk + nw] = queries.reshape(-1).view(np.int64)
            base = buf.ctypes.data
            out = nk + nw + scratch
            n = self._fn(*self._static, base, base + 8 * nk, nq, radius,
                         base + 8 * (nk + nw), base + 8 * out, base + 8 * (out + cap),
                         base + 8 * (out + 2 * cap), cap)
            if n <= cap:
                res = buf[out:].reshape(3, cap)[:, :n]
                return res[0], res[1], res[2]
            cap = int(n)


class BoundGroupRows:
    """``lw_group_rows`` over one EuclideanIndex's rows (its tables held, addresses taken
    once): the rows phase of the grouped search, see _kernels.c."""

    def __init__(self, lib: ctypes.CDLL, vecs: npt.NDArray[np.float32],
                 rdist: npt.NDArray[np.float64], first: npt.NDArray[np.int64],
                 counts: npt.NDArray[np.int64]) -> None:
        self._fn = lib.lw_group_rows
        self._fn.restype = _I
        self._fn.argtypes = [_P, _I, _P, _P, _P, _P, _P, _P, _I, _P, ctypes.c_double,
                             ctypes.c_float, _P, _P, _I]
        self._tables = (vecs, rdist, first, counts)
        self.dims = vecs.shape[1]
        self._vecs, self._rdist, self._first, self._counts = _addresses(*self._tables)

    def search(self, pq: npt.NDArray[np.int64], pg: npt.NDArray[np.int64],
               dc: npt.NDArray[np.float64], queries: npt.NDArray[np.float32], reach: float
               ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(pair, row) of every row of group ``pg[k]`` whose float32 distance to query
        ``pq[k]`` is within ``reach`` (rows ruled out by ``dc[k] - rdist > reach`` are
        not read)."""
        pq, pg = np.ascontiguousarray(pq, np.int64), np.ascontiguousarray(pg, np.int64)
        dc = np.ascontiguousarray(dc, np.float64)
        queries = np.ascontiguousarray(queries, np.float32)
        cap = 4 * len(pq) + 16
        while True:
            out = np.empty((2, cap), np.int64)
            n = self._fn(self._vecs, self.dims, self._rdist, self._first, self._counts,
                         pq.ctypes.data, pg.ctypes.data, dc.ctypes.data, len(pq),
                         queries.ctypes.data, reach, reach * reach, out[0].ctypes.data,
                         out[1].ctypes.data, cap)
            if n <= cap:
                return out[0, :n], out[1, :n]
            cap = int(n)


def _try_load() -> tuple[ctypes.CDLL | None, str]:
    """The compiled library if it is there, current and loads; else None and why not."""
    if not LIBRARY.exists():
        return None, f"{LIBRARY} is not built"
    try:
        lib = ctypes.CDLL(str(LIBRARY))
        lib.lw_kernels_abi.restype = _I
        lib.lw_kernels_source.restype = ctypes.c_char_p
        lib.lw_kernels_cpu.restype = ctypes.c_char_p
        abi, src = lib.lw_kernels_abi(), lib.lw_kernels_source().decode()
        if abi != ABI or src != source_hash():
            return None, f"{LIBRARY} was built from another version of {SOURCE.name}"
        if lib.lw_kernels_cpu().decode() != cpu_id():
            return None, f"{LIBRARY} was built for another CPU"
        return lib, ""
    except (OSError, AttributeError) as e:
        return None, f"{LIBRARY} does not load ({e})"


@cache
def _load() -> ctypes.CDLL | None:
    if str(settings.get("kernels")).lower() == "numpy":
        log.info("setting kernels=numpy: bank indexes search with numpy")
        return None
    lib, why = _try_load()
    if lib is None:
        log.warning("compiled bank kernels unavailable: %s; run `make venv` (or python -m "
                    "matchers.kernels build). Searching with numpy: same results, slower.", why)
    return lib


def available() -> bool:
    """Whether the compiled kernels are loaded (else the indexes search with numpy)."""
    return _load() is not None


def mih(**tables: Any) -> BoundMih | None:
    """The compiled multi-index hashing kernel bound to one HammingIndex's ``tables``
    (the keyword arguments of ``BoundMih``), or None (numpy path)."""
    lib = _load()
    return None if lib is None else BoundMih(lib, **tables)


def group_rows(vecs: npt.NDArray[np.float32], rdist: npt.NDArray[np.float64],
               first: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]
               ) -> BoundGroupRows | None:
    """The compiled rows phase bound to one grouped EuclideanIndex, or None (numpy path)."""
    lib = _load()
    return None if lib is None else BoundGroupRows(lib, vecs, rdist, first, counts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m matchers.kernels", description=__doc__)
    ap.add_argument("command", choices=["build", "check", "ensure"],
                    help="ensure: build unless the library in place loads (make venv)")
    args = ap.parse_args(argv)
    _load.cache_clear()
    if args.command == "build" or (args.command == "ensure" and _try_load()[0] is None):
        print(f"built {build()}", flush=True)  # (ensure: building is the remedy, no warning)
        # Checked in a new process: this one may hold the old library (dlopen keeps a
        # path loaded once).
        return subprocess.run([sys.executable, "-m", "matchers.kernels", "check"],
                              check=False).returncode
    if _load() is None:
        print("kernels unavailable (see the log above)", file=sys.stderr)
        return 1
    print(f"kernels loaded: {LIBRARY} (source {source_hash()})")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    sys.exit(main())
