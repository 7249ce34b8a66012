"""Candidate index benchmark: bulk ingest rate into Elasticsearch (one node, or a cluster
of several), exact Hamming-radius query latency (p50/p95) and text-search latency at N
candidates on Elasticsearch (multi-index hashing) and on the embedded store (multi-index
hashing in memory, with its load, refresh-after-writes and memory figures:
bench/index_embedded.py), against a brute-force numpy scan of the same hashes measured in
the same run. Every radius answer is checked against the scan and every text-search total
against the count computed from the generated titles (0 mismatches).

    .venv/bin/python bench/index.py                 # 1,000,000 candidates (~10 min)
    .venv/bin/python bench/index.py --n 100000      # quicker
    .venv/bin/python bench/index.py --url http://127.0.0.1:9200   # an existing node
    .venv/bin/python bench/index.py --nodes 3 --heap 3g --skip-embedded   # a fresh cluster
    .venv/bin/python bench/index.py --cluster c1    # a running deploy/es-node cluster

With --nodes N > 1 (or --cluster) the candidates index has one replica (its template's
auto_expand_replicas), so every candidate is indexed twice; CPU figures add up every
node's JVM.

Without --url a fresh node named "bench" is started with deploy/es-node (--heap, default
4g: a production-like heap, so the indexing buffer, 10% of it, holds ~250,000 candidates
and 1,000,000 load as a handful of segments with no merging; the test nodes' 512m buffer
flushed small segments that took a third of the node's CPU to merge) and stopped after.
Targets (issue #5): >= 5,000 candidates/s ingest; radius p95 <= 200 ms at 1,000,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from matchers.index.base import CandidateDoc, hamming  # noqa: E402
from matchers.index.elastic import ElasticsearchIndex  # noqa: E402

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PLATFORMS = ["douyin", "kuaishou", "bilibili", "xiaohongshu", "sandbox"]


def make_hashes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 32), dtype=np.uint8),
            rng.integers(0, 256, (n, 8), dtype=np.uint8))


def docs(pdq: np.ndarray, phash: np.ndarray, start: int, stop: int) -> list[CandidateDoc]:
    return [CandidateDoc(
        platform=PLATFORMS[i % 5], item_id=f"b{i:07d}", url=f"https://example.invalid/{i}",
        title=f"短剧 第{i % 97}集 episode {i % 1013}", uploader=f"uploader{i % 5000}",
        found_at=T0 + dt.timedelta(seconds=i * 7), matched=i % 50 == 0,
        signals={"pdq": [pdq[i].tobytes().hex()], "phash": [phash[i].tobytes().hex()]})
        for i in range(start, stop)]


def batches(pdq: np.ndarray, phash: np.ndarray, size: int) -> Iterator[list[CandidateDoc]]:
    for start in range(0, len(pdq), size):
        yield docs(pdq, phash, start, min(start + size, len(pdq)))


def queries(stored: np.ndarray, count: int, seed: int) -> list[np.ndarray]:
    """Near duplicates of stored hashes (0-24 bits flipped) and a few unrelated ones."""
    rng = np.random.default_rng(seed)
    out = []
    for q in range(count):
        if q % 10 == 9:
            out.append(rng.integers(0, 256, stored.shape[1], dtype=np.uint8))
            continue
        bits = np.unpackbits(stored[rng.integers(0, len(stored))])
        bits[rng.choice(bits.size, int(rng.integers(0, 25)), replace=False)] ^= 1
        out.append(np.packbits(bits))
    return out


def brute(rows: np.ndarray, ids: list[str]) -> Callable[[np.ndarray, int], list[tuple[str, int]]]:
    def search(q: np.ndarray, radius: int) -> list[tuple[str, int]]:
        d = hamming(q, rows)
        near = np.nonzero(d <= radius)[0]
        return sorted(((ids[i], int(d[i])) for i in near), key=lambda kv: (kv[1], kv[0]))
    return search


def timed(fn: Callable[[np.ndarray, int], list[tuple[str, int]]], qs: list[np.ndarray],
          radius: int) -> tuple[list[float], list[list[tuple[str, int]]]]:
    lat, answers = [], []
    for q in qs:
        t = time.perf_counter()
        answers.append(fn(q, radius))
        lat.append((time.perf_counter() - t) * 1000)
    return lat, answers


def jvm_cpu(node: str | None) -> float:
    """CPU seconds used so far by the JVMs of ``node`` (comma-separated names: several;
    0 when the node is not ours)."""
    total = 0.0
    for name in filter(None, (node or "").split(",")):
        pid = (REPO / "deploy/es/nodes" / name / "pid").read_text().strip()
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def es_node(*args: str) -> str:
    return subprocess.run([str(REPO / "deploy/es-node"), *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def pct(lat: list[float], p: float) -> float:
    return float(np.percentile(lat, p))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--url", default="")
    ap.add_argument("--node", default="",
                    help="use this running deploy/es-node node (its JVM CPU time is reported)")
    ap.add_argument("--heap", default="4g", help="heap of each node this script starts")
    ap.add_argument("--nodes", type=int, default=1,
                    help="start a fresh cluster of this many nodes (default 1: one node)")
    ap.add_argument("--cluster", default="",
                    help="use this running deploy/es-node cluster (its JVMs' CPU is reported)")
    ap.add_argument("--skip-embedded", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="leave the node running and the index in place (for --reuse)")
    ap.add_argument("--reuse", action="store_true",
                    help="skip the ingest when the node already holds the N candidates")
    args = ap.parse_args()
    n = args.n
    pdq, phash = make_hashes(n, 1)
    ids = [f"{PLATFORMS[i % 5]}:b{i:07d}" for i in range(n)]
    node = args.node or None
    url = args.url
    cluster = args.cluster or ("bench-c" if args.nodes > 1 and not url and not node else "")
    if node and not url:
        url = es_node("url", "--name", node)
    own_node = not url and not args.cluster
    if cluster:
        if own_node:
            subprocess.run([str(REPO / "deploy/es-node"), "cluster", "start", "--name", cluster,
                            "--nodes", str(args.nodes), "--heap", args.heap, "--timeout", "900",
                            *([] if args.reuse else ["--fresh"])], check=True)
        url = es_node("cluster", "url", "--name", cluster)
        node = ",".join(es_node("cluster", "nodes", "--name", cluster).split())
    elif not url:
        node = "bench"
        subprocess.run([str(REPO / "deploy/es-node"), "start", "--name", node, "--port", "auto",
                        "--heap", args.heap, *([] if args.reuse else ["--fresh"])], check=True)
        url = es_node("url", "--name", node)
    tmp = Path(tempfile.mkdtemp(prefix="lw-bench-index-"))
    es = ElasticsearchIndex(url, prefix="lwbench", queue_path=tmp / "queue.db")
    results: list[str] = []

    def report(line: str) -> None:
        print(line, flush=True)
        results.append(line)

    try:
        reuse = False
        if args.reuse:
            es.ensure_setup()
            reuse = es.count() == n
        if not reuse:
            es.drop()
            es.ensure_setup()
        jvms = list(es.es.nodes.stats(metric="jvm")["nodes"].values())
        report(f"Elasticsearch {es.server_version()}, {len(jvms)} node(s) at {url} (heap "
               f"{jvms[0]['jvm']['mem']['heap_max_in_bytes'] / 2**30:.1f} GB each); {n:,} "
               f"candidates (1 PDQ + 1 pHash each, random); {args.queries} queries; load "
               f"{os.getloadavg()[0]:.1f}")
        cand = es.alias["candidates"]
        if reuse:
            report("reusing the index loaded by an earlier --keep run (no ingest figures)")
        else:
            ingest(es, cand, pdq, phash, node, report)
        run_queries(es, pdq, phash, ids, args, report)
        if not args.skip_embedded:
            run_embedded(tmp, pdq, phash, ids, args, report)
    finally:
        if not args.keep:
            es.drop()
        es.close()
        if own_node and not args.keep:
            what = ["cluster", "delete", "--name", cluster] if cluster else ["stop", "--name",
                                                                              str(node)]
            subprocess.run([str(REPO / "deploy/es-node"), *what], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "index.txt").write_text("\n".join(results) + "\n", encoding="utf-8")
    return 0


def ingest(es: ElasticsearchIndex, cand: str, pdq: np.ndarray, phash: np.ndarray,
           node: str | None, report: Callable[[str], None]) -> None:
    n = len(pdq)
    # The product's bulk path (`likewatch index sync --full`): ElasticsearchIndex.bulk_load
    # (no periodic refresh during the load, one at the end) around ElasticsearchIndex.add.
    t = time.perf_counter()
    c0, j0 = time.process_time(), jvm_cpu(node)
    with es.bulk_load():
        for b in batches(pdq, phash, 5000):
            es.add(b)
    client_us, server_us = ((time.process_time() - c0) / n * 1e6,
                            (jvm_cpu(node) - j0) / n * 1e6)
    secs = time.perf_counter() - t
    report(f"ES bulk ingest (add inside bulk_load: 2 threads, {es.chunk_size}/request, "
           f"refresh off during the load): {n / secs:,.0f} candidates/s ({secs:.1f} s); "
           f"count={es.count():,}")
    with open("/proc/loadavg", encoding="ascii") as fh:
        report(f"load average after ingest: {fh.read().split()[:3]} (2 cores shared with "
               "other engineers' work)")
    if server_us:
        report(f"CPU per candidate: client {client_us:.0f} us (generating the candidates "
               f"included) + node {server_us:.0f} us = {client_us + server_us:.0f} us; on 2 "
               f"idle cores that is {2e6 / (client_us + server_us):,.0f} candidates/s")
    st = es.es.indices.stats(index=cand, metric="merge,segments,store")["_all"]
    prim = st["primaries"]
    report(f"candidates index after the load: {prim['segments']['count']} segments, "
           f"{prim['merges']['total']} merges ({prim['merges']['total_time_in_millis'] / 1000:.0f}"
           f" s); {prim['store']['size_in_bytes'] / 2**30:.2f} GB primary, "
           f"{st['total']['store']['size_in_bytes'] / 2**30:.2f} GB with replicas")
    qn = min(20_000, n)
    t = time.perf_counter()
    es.add(docs(pdq, phash, 0, qn))  # re-adds by id: same count, through the queue
    secs = time.perf_counter() - t
    report(f"ES ingest through add() (direct while nothing is queued, else via the durable queue): {qn / secs:,.0f} candidates/s "
           f"({qn:,} docs, {secs:.1f} s)")
    es.flush()
    es.refresh()


def run_queries(es: ElasticsearchIndex, pdq: np.ndarray, phash: np.ndarray, ids: list[str],
                args: argparse.Namespace, report: Callable[[str], None]) -> None:
    for signal, rows, radius in (("pdq", pdq, 31), ("pdq", pdq, 15), ("phash", phash, 7)):
        qs = queries(rows, args.queries, 2)
        scan = brute(rows, ids)
        es_fn = lambda q, r, s=signal: es.radius_search(s, q.tobytes().hex(), r)  # noqa: E731
        timed(es_fn, qs[:10], radius)  # warm up caches
        bl, truth = timed(scan, qs, radius)
        el, got = timed(es_fn, qs, radius)
        wrong = sum(a != b for a, b in zip(got, truth, strict=True))
        hits = sum(len(a) for a in truth)
        report(f"{signal} radius {radius}: ES p50 {pct(el, 50):.1f} ms p95 {pct(el, 95):.1f}"
               f" ms | numpy brute-force scan p50 {pct(bl, 50):.1f} ms p95 {pct(bl, 95):.1f}"
               f" ms | ES/scan p50 {pct(el, 50) / pct(bl, 50):.1f}x | {hits} hits, "
               f"{wrong} answers differing from the scan")
    run_text(es, len(pdq), args.queries, report)


def run_text(es: ElasticsearchIndex, n: int, count: int, report: Callable[[str], None]) -> None:
    """Text searches as analysts type them (a title word and a number, sometimes a platform
    filter, newest first, 20 a page), each total checked against the count computed from
    the generated titles (``短剧 第{i % 97}集 episode {i % 1013}``: the number matches
    either); the baseline is the
    same count computed with numpy over every candidate."""
    from matchers.index.base import SearchFilters

    rng = np.random.default_rng(3)
    i = np.arange(n)
    lat, base, wrong = [], [], 0
    for q in range(count):
        k = int(rng.integers(0, 1013))
        platform = PLATFORMS[q % 5] if q % 2 else None
        t = time.perf_counter()
        page = es.search(f"短剧 episode {k}",
                         SearchFilters(platform=[platform]) if platform else None,
                         sort="-found_at", size=20)
        lat.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        hit = (i % 1013 == k) | (i % 97 == k)  # the number is the episode or in 第N集
        if platform:
            hit &= i % 5 == PLATFORMS.index(platform)
        expected = int(np.count_nonzero(hit))
        base.append((time.perf_counter() - t) * 1000)
        wrong += page.total != expected or len(page.hits) != min(20, expected)
    report(f"text search (2 words, half with a platform filter, newest first, 20 a page): ES "
           f"p50 {pct(lat, 50):.1f} ms p95 {pct(lat, 95):.1f} ms | numpy count over every "
           f"candidate p50 {pct(base, 50):.1f} ms | {wrong} totals differing from the count")


def run_embedded(tmp: Path, pdq: np.ndarray, phash: np.ndarray, ids: list[str],
                 args: argparse.Namespace, report: Callable[[str], None]) -> None:
    """The embedded store's part: bench/index_embedded.py (also runnable alone)."""
    from bench.index_embedded import run_embedded as run

    run(tmp, pdq, phash, ids, args.queries, report)


if __name__ == "__main__":
    sys.exit(main())
