"""Time to alert: from an item's publication in the sandbox to the webhook's receipt.

    .venv/bin/python bench/time_to_alert.py [--interval 30] [--publish-every 2.5]

A sandbox publishes its reserve of unpublished items one by one; an agency has enrolled the
sandbox's demo persons and, as the rest of its roster, the face photos that other reserve
items were made from, so that well over 50 newly published items concern someone on the
roster. The daemon (``python -m scheduler``: crawler, matcher, alerter) watches the listing
every ``--interval`` seconds; a local receiver verifies each signed webhook. For every item
that alerted: receipt time - publication time. Prints count, p50, p95, max, and the target
(p95 <= 60 s at 30-second intervals).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q * (len(ordered) - 1)))))
    return ordered[k]


def enroll_roster(cat, data: Path, reserve: list[str], truth: dict) -> int:
    from alerts import registry
    from matchers.enroll import EnrolError, enroll

    registry.add_client(cat, "Bench Agency", "agency")
    n = 0
    for key, info in sorted(truth["persons"].items()):
        enroll(cat, key, [Path(p) for p in info["reference_files"]], client="Bench Agency",
               display_name=info["label"])
        n += 1
    sources = sorted({truth["items"][i]["source"] for i in reserve
                      if truth["items"][i]["person"] is None
                      and truth["items"][i]["source"].startswith("faces/")})
    for src in sources:
        path = REPO / "sandbox" / "assets" / src
        try:
            enroll(cat, "roster-" + Path(src).stem, [path], client="Bench Agency",
                   display_name=f"Roster {Path(src).stem}")
            n += 1
        except EnrolError as exc:
            print(f"  (not enrolled: {exc})")
    return n


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--interval", type=float, default=30.0, help="watch interval, seconds")
    p.add_argument("--publish-every", type=float, default=2.5)
    p.add_argument("--tick", type=float, default=2.0)
    p.add_argument("--items", type=int, default=0, help="publish at most this many (0: all)")
    p.add_argument("--data", type=Path, default=REPO / ".cache/sandbox/seed-1")
    args = p.parse_args()
    home = Path(tempfile.mkdtemp(prefix="likewatch-tta-"))
    os.environ.update(LIKEWATCH_HOME=str(home), LIKEWATCH_ALLOW_PRIVATE_HOSTS="127.0.0.1")
    from likewatch import log

    log.configure("console", "WARNING")
    from alerts import registry
    from alerts.receiver import WebhookReceiver
    from demo.chaos import kill_group, preload, wait_quiet
    from likewatch.catalog import Catalog
    from sandbox.faults import FaultConfig
    from sandbox.server import SandboxServer
    from scheduler.watches import add_watch

    secret = secrets.token_hex(8)
    published_at: dict[str, float] = {}
    first_receipt: dict[str, tuple[str, float]] = {}

    def on_receive(item) -> None:
        if item.verified and item.alert_id not in first_receipt:
            first_receipt[item.alert_id] = (item.body["where"]["item_id"], item.at)

    cat = Catalog.open()
    with SandboxServer(args.data, faults=FaultConfig.none()) as server, \
            WebhookReceiver(secret, on_receive=on_receive) as rx:
        truth = json.loads((server.data_dir / "ground_truth.json").read_text(encoding="utf-8"))
        reserve = [it["id"] for it in server.items[server.published_count:]]
        if args.items:
            reserve = reserve[:args.items]
        t0 = time.monotonic()
        persons = enroll_roster(cat, server.data_dir, reserve, truth)
        registry.add_subscription(cat, "Bench Agency", "webhook", rx.url + "/hook", secret=secret)
        preload(cat, server.base_url, max_pages=2)
        add_watch(cat, "Bench Agency", "sandbox", f"{server.base_url}/browse?page=1",
                  every=args.interval, max_pages=2)
        expected = [i for i in reserve if truth["items"][i]["person"] is not None
                    or truth["items"][i]["source"].startswith("faces/")]
        print(f"{persons} persons enrolled; {len(reserve)} items to publish every "
              f"{args.publish_every:g} s, {len(expected)} of them about someone enrolled; "
              f"watch every {args.interval:g} s (setup {time.monotonic() - t0:.0f} s)",
              flush=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(home / "daemon.log", "ab") as logf:
            daemon = subprocess.Popen([sys.executable, "-m", "scheduler", "--tick",
                                       str(args.tick)], stdout=logf, stderr=subprocess.STDOUT,
                                      env=env, start_new_session=True)
        try:
            time.sleep(3)

            def publish() -> None:
                for item_id in reserve:
                    server.publish_now(1)
                    published_at[item_id] = time.time()
                    time.sleep(args.publish_every)

            publisher = threading.Thread(target=publish, daemon=True)
            publisher.start()
            publisher.join()
            last = time.time()
            wait_quiet(cat, last, timeout=max(180.0, 4 * args.interval))
            time.sleep(args.tick * 2)
            kill_group(daemon, signal.SIGTERM)
        finally:
            if daemon.poll() is None:
                kill_group(daemon)
    latencies = sorted(at - published_at[item] for item, at in first_receipt.values()
                       if item in published_at)
    alerted_items = {item for item, _ in first_receipt.values()}
    missed = [i for i in expected if i not in alerted_items]
    print(f"alerts received (verified): {len(first_receipt)} (an item can alert for two "
          f"people, e.g. a face swap); alerts on items published in the run: "
          f"{len(latencies)}, on {len(alerted_items & set(published_at))} distinct items; "
          f"expected items that never alerted: {len(missed)}")
    if latencies:
        p50, p95 = statistics.median(latencies), pct(latencies, 0.95)
        print(f"time to alert over {len(latencies)} alerts at {args.interval:g}-second intervals: "
              f"p50 {p50:.1f} s, p95 {p95:.1f} s, max {latencies[-1]:.1f} s, "
              f"min {latencies[0]:.1f} s")
        print(f"target p95 <= 60 s: {'met' if p95 <= 60 else 'NOT met'} "
              f"(p95 / interval = {p95 / args.interval:.2f}); daemon log {home / 'daemon.log'}")
    return 0 if latencies else 1


if __name__ == "__main__":
    sys.exit(main())
