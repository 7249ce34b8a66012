"""Kill runs: SIGKILL the daemon 50 times while it crawls, matches and delivers.

    .venv/bin/python bench/kill_runs.py [--kills 50] [--seed 1]

Prints the kill count per phase, alerts, deliveries (and re-deliveries under the same id,
which at-least-once allows), and the failures that must be zero: lost alerts, alerts under
two ids, unknown ids, unverified signatures, dead letters, items never crawled.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--kills", type=int, default=50)
    p.add_argument("--seed", type=int, default=1, help="random seed of the kill delays")
    p.add_argument("--data", type=Path, default=None,
                   help="sandbox data dir (default: generated under the bench's home)")
    args = p.parse_args()
    home = Path(tempfile.mkdtemp(prefix="likewatch-kill-runs-"))
    os.environ["LIKEWATCH_HOME"] = str(home)
    from likewatch import log

    log.configure("console", "WARNING")
    from demo import chaos

    data = args.data or Path(os.environ.get(
        "LIKEWATCH_SANDBOX_DATA", Path(__file__).resolve().parents[1]
        / ".cache/sandbox/seed-1"))
    started = time.monotonic()
    report = chaos.run(args.kills, data, rng_seed=args.seed, progress=lambda m: print(
        f"[{time.monotonic() - started:6.1f} s] {m}", flush=True))
    print("kill runs:", report.summary())
    for name in ("lost", "multi_id", "unknown_ids", "not_crawled"):
        if getattr(report, name):
            print(f"  {name}: {getattr(report, name)[:10]}")
    print(f"RESULT {'PASS' if report.ok else 'FAIL'}: {report.kills} kills, "
          f"{report.alerts} alerts, lost {len(report.lost)}, "
          f"duplicated under two ids {len(report.multi_id)}; daemon log: {home / 'daemon.log'}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
