"""Evidence capture time per alert on the sandbox (target: at most 5 s added per alert).

    .venv/bin/python bench/evidence.py [--items 10] [--data DIR]

Starts the sandbox (faults off) and, in a temporary LIKEWATCH_HOME, captures and seals
the evidence of N published items with video, as `capture_evidence` does when an alert is
created: full-page screenshot, rendered HTML, headers, embedded JSON, thumbnail, video,
manifest, log append with a signed tree head. The browser is started once per process
(reported separately, as it is paid once per worker, not per alert). The baseline is a
plain HTTP GET of the same content page (urllib, body read), measured in the same run;
the ratio is capture time / plain fetch time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    home = Path(os.environ.get("LIKEWATCH_HOME", ".likewatch"))
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--data", type=Path, default=home / "sandbox")
    args = parser.parse_args()

    from sandbox.faults import FaultConfig
    from sandbox.generate import ensure_generated
    from sandbox.server import SandboxServer

    ensure_generated(args.data, 1)
    with tempfile.TemporaryDirectory() as tmp, \
            SandboxServer(args.data, seed=1, faults=FaultConfig.none()) as sandbox:
        os.environ["LIKEWATCH_HOME"] = tmp
        os.environ["LIKEWATCH_ALLOW_PRIVATE_HOSTS"] = "127.0.0.1"
        from likewatch import log

        log.configure("console", "WARNING")
        from alerts.evidence import EvidenceSubject, capture_evidence
        from alerts.evidence.browser import BrowserWorker
        from likewatch.catalog import Catalog

        with urllib.request.urlopen(f"{sandbox.base_url}/api/feed?limit=100") as resp:  # noqa: S310
            items = [i for i in json.load(resp)["items"] if i.get("videoUrl")][: args.items]
        if not items:
            raise SystemExit("the sandbox has no published item with a video")

        fetch_times = []
        for item in items:
            started = time.perf_counter()
            with urllib.request.urlopen(f"{sandbox.base_url}/video/{item['id']}") as resp:  # noqa: S310
                resp.read()
            fetch_times.append(time.perf_counter() - started)

        started = time.perf_counter()
        browser = BrowserWorker()
        browser_start = time.perf_counter() - started
        capture_times, sizes = [], []
        try:
            with Catalog.open() as catalog:
                for n, item in enumerate(items):
                    subject = EvidenceSubject(
                        alert_id=f"bench-{n}", url=f"{sandbox.base_url}/video/{item['id']}",
                        platform="sandbox", person_label="Demo person A",
                        title=item["title"], uploader=item["uploader"]["name"],
                        thumbnail_url=item["thumbnailUrl"], video_url=item["videoUrl"])
                    started = time.perf_counter()
                    result = capture_evidence(subject, catalog=catalog, browser=browser)
                    capture_times.append(time.perf_counter() - started)
                    sizes.append(sum(f.stat().st_size for f in result.directory.rglob("*")
                                     if f.is_file()))
                    if result.errors:
                        print(f"  {item['id']}: partial: {result.errors}")
        finally:
            browser.close()

    fetch = statistics.median(fetch_times)
    cap = statistics.median(capture_times)
    print(f"evidence capture on the sandbox, {len(items)} alerts (items with video)")
    print(f"  browser start (once per process):   {browser_start:.2f} s")
    print(f"  capture per alert: median {cap:.2f} s, max {max(capture_times):.2f} s, "
          f"first {capture_times[0]:.2f} s (target <= 5 s)")
    print(f"  evidence kept per alert: median {statistics.median(sizes) / 1e6:.2f} MB")
    print(f"  baseline plain page fetch: median {fetch * 1000:.1f} ms")
    print(f"  ratio capture / plain fetch: {cap / fetch:.0f}x")
    print(f"  within target: {'yes' if max(capture_times) <= 5.0 else 'NO'}")


if __name__ == "__main__":
    main()
