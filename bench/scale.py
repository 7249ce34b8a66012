"""Faults at scale: two processes of every role against PostgreSQL and a three-node
Elasticsearch cluster, role processes killed with SIGKILL and one node stopped while the
sandbox publishes, then the end state checked against the sandbox's ground truth
(demo/scale.py, demo/scale_check.py).

    .venv/bin/python bench/scale.py --quick      # 120 s of faults, 5 kills; < 8 min
    .venv/bin/python bench/scale.py              # 360 s of faults, 10 kills
    .venv/bin/python bench/scale.py --per-role 3 --nodes 5 --kills 20 --duration 600

The last line is one JSON object: es_nodes, processes, alerts_expected, alerts_delivered,
lost, duplicates, process_kills, node_stops, index_docs, catalog_candidates, and the
details (what was lost where, detection misses, re-deliveries, evidence, timings, the
machine's load). The exit status is 0 when the acceptance of issue #20 holds: lost 0,
duplicates 0, at least 3 nodes and 2 processes per role, at least 3 kills and 1 node stop,
every catalog candidate in the index.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="120 s of faults, 5 kills (< 8 min)")
    p.add_argument("--duration", type=float, default=None, help="seconds of publishing and faults")
    p.add_argument("--kills", type=int, default=None, help="role processes killed (SIGKILL)")
    p.add_argument("--per-role", type=int, default=2)
    p.add_argument("--nodes", type=int, default=3, help="Elasticsearch nodes (0: embedded index)")
    p.add_argument("--node-down", type=float, default=None, help="seconds a node stays stopped")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", type=Path, default=None, help="sandbox data dir (default: the cache)")
    args = p.parse_args()
    home = Path(tempfile.mkdtemp(prefix="likewatch-scale-"))
    os.environ["LIKEWATCH_HOME"] = str(home)
    from likewatch import log

    log.configure("console", "WARNING")
    from demo.scale import ScaleConfig, run
    from sandbox.generate import default_data_dir

    config = ScaleConfig(
        duration=args.duration or (120.0 if args.quick else 360.0),
        kills=args.kills if args.kills is not None else (5 if args.quick else 10),
        node_down=args.node_down or (30.0 if args.quick else 90.0),
        per_role=args.per_role, es_nodes=args.nodes, seed=args.seed,
        env={"LIKEWATCH_CRAWL_RATE_PER_HOST": "20"})  # the shared budget, on PostgreSQL
    started = time.monotonic()
    load_before = load()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s {time.strftime('%H:%M:%S')}] {message}",
              flush=True)

    progress(f"home {home}; load {load_before}; {config}")
    out = run(config, args.data or default_data_dir(args.seed), home, progress)
    out.update(load_before=load_before, load_after=load(), home=str(home),
               total_seconds=round(time.monotonic() - started, 1))
    ok = (out["lost"] == 0 and out["duplicates"] == 0 and out["es_nodes"] >= 3
          and out["per_role"] >= 2 and out["process_kills"] >= 3 and out["node_stops"] >= 1
          and out["index_docs"] == out["catalog_candidates"])
    if not config.es_nodes:  # the embedded index: no nodes to count or stop
        ok = (out["lost"] == 0 and out["duplicates"] == 0
              and out["index_docs"] == out["catalog_candidates"])
    ratio = out["alerts_delivered"] / out["alerts_expected"] if out["alerts_expected"] else 0.0
    print(f"delivered {out['alerts_delivered']} of {out['alerts_expected']} expected alerts "
          f"(ratio {ratio:.3f}), lost {out['lost']}, duplicates {out['duplicates']}, "
          f"{out['process_kills']} kills, {out['node_stops']} node stops, index "
          f"{out['index_docs']} of {out['catalog_candidates']} candidates: "
          f"{'PASS' if ok else 'FAIL'} in {out['total_seconds']:.0f} s; logs in {home}",
          flush=True)
    print(json.dumps(out, ensure_ascii=False, sort_keys=True), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
