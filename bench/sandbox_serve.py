"""Sandbox figures: catalogue generation time and requests per second served.

    .venv/bin/python bench/sandbox_serve.py [--data DIR] [--fresh] [--seconds 3]

Generation is timed into a fresh temporary directory with --fresh (about half a minute),
otherwise the data directory is reused (generated first if missing). Throughput is
measured with persistent HTTP/1.1 connections (http.client) from 1 and 4 client
threads, faults off, for a listing page, a detail page, a feed page and a thumbnail;
the baseline is `/robots.txt` (the cheapest route the server has), for a ratio.
"""

from __future__ import annotations

import argparse
import http.client
import os
import tempfile
import threading
import time
from pathlib import Path

from sandbox.faults import FaultConfig
from sandbox.generate import ensure_generated
from sandbox.server import SandboxServer

ROUTES = ("/robots.txt", "/browse?page=3", "/video/v00042", "/api/feed?limit=20",
          "/media/thumb/v00042.jpg")


def rate(host: str, port: int, path: str, clients: int, seconds: float) -> float:
    """Requests per second for `path` from `clients` threads with keep-alive connections."""
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        while time.monotonic() < stop:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{path}: HTTP {resp.status}")
            counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    home = Path(os.environ.get("LIKEWATCH_HOME", ".likewatch"))
    parser.add_argument("--data", type=Path, default=home / "sandbox")
    parser.add_argument("--fresh", action="store_true", help="time generation in a temp dir")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sandbox" if args.fresh else args.data
        started, cpu = time.monotonic(), time.process_time()
        ensure_generated(data, 1)
        print(f"catalogue ready in {time.monotonic() - started:.1f} s wall, "
              f"{time.process_time() - cpu:.1f} s CPU ({'fresh' if args.fresh else 'cached or first'})")
        with SandboxServer(data, faults=FaultConfig.none()) as server:
            base = None
            for clients in (1, 4):
                for path in ROUTES:
                    r = rate(server.host, server.port, path, clients, args.seconds)
                    base = r if path == ROUTES[0] else base
                    ratio = f"{r / base:.2f}x robots" if base else ""
                    print(f"{clients} client(s)  {path:28s} {r:8.0f} req/s  {ratio}")
                base = None


if __name__ == "__main__":
    main()
