"""The embedded candidate index at N candidates: radius query p50/p95 through its
multi-index segments against the linear numpy scan it replaced (measured in the same
run, every answer checked against it), the first load, the refresh after writes against
the full reload it replaced, and the memory it holds. Run by bench/index.py (its
embedded part), or alone:

    .venv/bin/python bench/index_embedded.py --n 1000000
    .venv/bin/python bench/index_embedded.py --n 0 --memory-n 10000000   # in memory only

``--memory-n``: also build the in-memory PDQ and pHash rows (``HammingRows``) of that
many random candidates directly, without SQLite, and report bytes, build time and query
p50 against the scan (the 10-million figure, whose SQLite file would take an hour).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.index import (  # noqa: E402
    PLATFORMS,
    batches,
    brute,
    docs,
    make_hashes,
    pct,
    queries,
    timed,
)
from matchers.index.base import face_distances, hamming  # noqa: E402
from matchers.index.embedded import EmbeddedIndex  # noqa: E402
from matchers.index.signal_rows import FaceRows, HammingRows  # noqa: E402

Report = Callable[[str], None]
RADII = (("pdq", 31), ("pdq", 15), ("phash", 8), ("pdq", 40))  # 40: beyond pdq's tables


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def load() -> str:
    with open("/proc/loadavg", encoding="ascii") as fh:
        return " ".join(fh.read().split()[:3])


def old_reload(emb: EmbeddedIndex, signal: str) -> None:
    """What the embedded store did before at the first query after any write: read every
    value of the signal and its doc id from SQLite into arrays (then scanned)."""
    rows = emb._db.execute("SELECT doc_id, value FROM sigs WHERE signal = ? ORDER BY rowid",
                           (signal,)).fetchall()
    np.array([r[0] for r in rows], dtype=object)
    np.frombuffer(bytes.fromhex("".join(r[1] for r in rows)), dtype=np.uint8)


def run_embedded(tmp: Path, pdq: np.ndarray, phash: np.ndarray, ids: list[str],
                 nqueries: int, report: Report) -> None:
    n = len(pdq)
    emb = EmbeddedIndex(tmp / "embedded.sqlite3")
    t = time.perf_counter()
    for b in batches(pdq, phash, 20_000):
        emb.add(b)
    secs = time.perf_counter() - t
    report(f"embedded ingest: {n / secs:,.0f} candidates/s ({secs:.1f} s)")
    rss0 = rss_mb()
    for signal, rows in (("pdq", pdq), ("phash", phash)):
        t = time.perf_counter()
        emb.radius_search(signal, rows[0].tobytes().hex(), 0)
        first = time.perf_counter() - t
        t = time.perf_counter()
        old_reload(emb, signal)
        report(f"embedded first {signal} query (loads the values from SQLite and builds the "
               f"multi-index tables): {first:.2f} s; the old full reload (read only, after "
               f"every write): {time.perf_counter() - t:.2f} s")
    mem = emb.memory()
    report("embedded memory: " + ", ".join(f"{k} {v / 2**20:.0f} MB ({v / n:.0f} B/candidate)"
                                            for k, v in mem.items())
           + f"; process RSS +{rss_mb() - rss0:.0f} MB after the first queries")
    for signal, radius in RADII:
        rows = pdq if signal == "pdq" else phash
        qs = queries(rows, nqueries, 2)
        fn = lambda q, r, s=signal: emb.radius_search(s, q.tobytes().hex(), r)  # noqa: E731
        timed(fn, qs[:10], radius)  # warm up
        bl, truth = timed(brute(rows, ids), qs, radius)
        c0 = time.thread_time()
        ml, got = timed(fn, qs, radius)
        cpu = (time.thread_time() - c0) / len(qs) * 1000
        wrong = sum(a != b for a, b in zip(got, truth, strict=True))
        segments = emb._columns[signal].rows.segments
        how = ("multi-index" if radius <= emb._radius(signal)
               and any(s.index.mode == "mih" for s in segments) else "a scan")
        report(f"embedded {signal} radius {radius} ({how}): p50 {pct(ml, 50):.2f} ms p95 "
               f"{pct(ml, 95):.2f} ms (CPU {cpu:.2f} ms a query on average: the rest of a "
               f"slow one is waiting for a core) | linear scan (the embedded store before) p50 "
               f"{pct(bl, 50):.1f} ms p95 {pct(bl, 95):.1f} ms | scan/embedded p50 "
               f"{pct(bl, 50) / pct(ml, 50):.1f}x | {sum(map(len, truth))} hits, {wrong} "
               f"answers differing from the scan | load {load()}")
    refresh(emb, pdq, phash, ids, nqueries, report)
    emb.close()


def refresh(emb: EmbeddedIndex, pdq: np.ndarray, phash: np.ndarray, ids: list[str],
            nqueries: int, report: Report) -> None:
    """A query after writes: the rows added (and removed) since are applied first."""
    n = len(pdq)
    extra_pdq, extra_phash = make_hashes(20_000 + 1 + 1000, 3)
    all_pdq, all_phash = pdq.copy(), phash.copy()

    def write(start: int, stop: int, src: int) -> None:
        """Write candidates start..stop-1 (new or replaced) with extra values src.."""
        nonlocal all_pdq, all_phash
        k = stop - start
        batch = docs(extra_pdq[src:src + k], extra_phash[src:src + k], 0, k)
        for j, d in enumerate(batch):
            d.platform, d.item_id = emb_id(start + j).split(":")
        emb.add(batch)
        grow = max(stop - len(all_pdq), 0)
        all_pdq = np.concatenate([all_pdq, np.zeros((grow, 32), np.uint8)])
        all_phash = np.concatenate([all_phash, np.zeros((grow, 8), np.uint8)])
        all_pdq[start:stop], all_phash[start:stop] = (extra_pdq[src:src + k],
                                                      extra_phash[src:src + k])

    q = pdq[1].tobytes().hex()
    one = []
    for i in range(20):  # one new candidate, then a query
        write(n + i, n + i + 1, i)
        t = time.perf_counter()
        emb.radius_search("pdq", q, 31)
        one.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    old_reload(emb, "pdq")
    old = (time.perf_counter() - t) * 1000
    report(f"embedded query after adding 1 candidate (refresh included): p50 "
           f"{pct(one, 50):.1f} ms max {max(one):.1f} ms | the old full reload alone "
           f"{old:.0f} ms | reload/refresh p50 {old / pct(one, 50):.0f}x")
    for label, start, stop, src in (
            ("adding 1,000 candidates", n + 20, n + 1020, 20),
            ("replacing 1,000 candidates", 5000, 6000, 1020),
            ("adding 20,000 candidates (a new segment with its tables)", n + 1020, n + 21_020,
             0)):
        write(start, stop, src)
        t = time.perf_counter()
        emb.radius_search("pdq", q, 31)
        report(f"embedded query after {label}: {(time.perf_counter() - t) * 1000:.0f} ms "
               f"(the old full reload: {old:.0f} ms)")
    all_ids = ids + [emb_id(i) for i in range(len(ids), len(all_pdq))]
    wrong = 0
    for signal, rows, radius in (("pdq", all_pdq, 31), ("phash", all_phash, 8)):
        scan = brute(rows, all_ids)
        for qv in queries(rows, nqueries // 4, 5):
            wrong += emb.radius_search(signal, qv.tobytes().hex(), radius) != scan(qv, radius)
    report(f"embedded after the writes: {wrong} answers differing from a scan of "
           f"{len(all_pdq):,} candidates; segments (rows): pdq "
           f"{[len(s.ids) for s in emb._columns['pdq'].rows.segments]}")


def emb_id(i: int) -> str:
    """The doc id bench.index.docs gives candidate ``i``."""
    return f"{PLATFORMS[i % 5]}:b{i:07d}"


def in_memory(n: int, nqueries: int, report: Report) -> None:
    """HammingRows of ``n`` random PDQ and pHash values, built directly (no SQLite)."""
    pdq, phash = make_hashes(n, 7)
    for signal, codes, radius in (("pdq", pdq, 31), ("phash", phash, 8)):
        rss0 = rss_mb()
        t = time.perf_counter()
        rows = HammingRows(codes.shape[1] * 8, radius)
        rows.append(np.arange(1, n + 1), codes)
        build = time.perf_counter() - t
        qs = queries(codes, nqueries, 9)
        ml, bl = [], []
        for qv in qs:
            t = time.perf_counter()
            rows.search(qv, radius)
            ml.append((time.perf_counter() - t) * 1000)
        for qv in qs[:10]:
            t = time.perf_counter()
            np.nonzero(hamming(qv, codes) <= radius)
            bl.append((time.perf_counter() - t) * 1000)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        report(f"in memory, {n:,} {signal} values: {rows.nbytes() / 2**20:,.0f} MB "
               f"({rows.nbytes() / n:.0f} B each; RSS +{rss_mb() - rss0:,.0f} MB, process peak"
               f" {peak:,.0f} MB with the codes), built in "
               f"{build:.1f} s; radius {radius} p50 {pct(ml, 50):.2f} ms p95 {pct(ml, 95):.2f}"
               f" ms | scan p50 {pct(bl, 50):.0f} ms | scan/rows {pct(bl, 50) / pct(ml, 50):.0f}x"
               f" | load {load()}")
        del rows


def faces_in_memory(n: int, nqueries: int, report: Report) -> None:
    """FaceRows over ``n`` random embeddings against face_distances over every row (what
    the embedded store did before): exact k-NN within 0.6."""
    rng = np.random.default_rng(8)
    vecs = rng.normal(0, 0.09, (n, 128)).astype(np.float32)
    rows = FaceRows(128)
    t = time.perf_counter()
    rows.append(np.arange(1, n + 1), vecs)
    build = time.perf_counter() - t
    qs = [vecs[i] + rng.normal(0, 0.02, 128).astype(np.float32)
          for i in rng.integers(0, n, nqueries)]
    ml, bl, wrong = [], [], 0
    for i, qv in enumerate(qs):
        t = time.perf_counter()
        got_ids, got_d = rows.search(qv, 0.6)
        ml.append((time.perf_counter() - t) * 1000)
        if i < 10:
            t = time.perf_counter()
            d = np.array(face_distances(qv, vecs))
            near = np.flatnonzero(d <= 0.6)
            bl.append((time.perf_counter() - t) * 1000)
            wrong += dict(zip(got_ids.tolist(), got_d, strict=True)) != dict(
                zip((near + 1).tolist(), d[near].tolist(), strict=True))
    report(f"in memory, {n:,} face embeddings: {rows.nbytes() / 2**20:,.0f} MB, built in "
           f"{build:.2f} s; within 0.6 p50 {pct(ml, 50):.1f} ms p95 {pct(ml, 95):.1f} ms | "
           f"face_distances over every row (before) p50 {pct(bl, 50):.0f} ms | before/now "
           f"{pct(bl, 50) / pct(ml, 50):.1f}x | {wrong} answers differing | load {load()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--memory-n", type=int, default=0)
    ap.add_argument("--faces-n", type=int, default=0,
                    help="also search that many face embeddings in memory")
    args = ap.parse_args()
    report: Report = lambda line: print(line, flush=True)  # noqa: E731
    report(f"load average at start: {load()} (2 cores shared)")
    if args.n:
        pdq, phash = make_hashes(args.n, 1)
        ids = [emb_id(i) for i in range(args.n)]
        tmp = Path(tempfile.mkdtemp(prefix="lw-bench-embedded-"))
        try:
            run_embedded(tmp, pdq, phash, ids, args.queries, report)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.memory_n:
        in_memory(args.memory_n, args.queries, report)
    if args.faces_n:
        faces_in_memory(args.faces_n, args.queries, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
