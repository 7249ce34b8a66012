"""Subcommands of `likewatch` contributed by the `sandbox` package: ``likewatch sandbox``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the `likewatch` parser."""
    p = sub.add_parser(
        "sandbox",
        help="serve the local stand-in for a short-video platform",
        description="Serve the sandbox platform (generated from the seed on first start, "
                    "then cached in --data). Prints its base URL first, runs until Ctrl-C.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8700, help="port (default 8700; 0 = any free port)")
    p.add_argument("--seed", type=int, default=1, help="catalogue seed (default 1)")
    p.add_argument("--publish-every", type=float, default=None, metavar="SECONDS",
                   help="reveal one new upload every SECONDS")
    p.add_argument("--data", type=Path, default=None, metavar="DIR",
                   help="data directory (default .cache/sandbox/seed-SEED in the checkout, "
                        "shared with the demo and the tests)")
    p.add_argument("--no-faults", action="store_true", help="switch off every deliberate fault")
    p.set_defaults(func=_cmd_sandbox)


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from likewatch.cli import UserError
    from sandbox.faults import FaultConfig
    from sandbox.generate import default_data_dir
    from sandbox.server import SandboxServer

    if args.publish_every is not None and args.publish_every <= 0:
        raise UserError("--publish-every must be a positive number of seconds")
    if not 0 <= args.port <= 65535:
        raise UserError("--port must be within 0..65535")
    data_dir = args.data or default_data_dir(args.seed)

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        server = SandboxServer(data_dir, seed=args.seed, host=args.host, port=args.port,
                               publish_every=args.publish_every,
                               faults=FaultConfig.none() if args.no_faults else None,
                               progress=progress)
    except FileExistsError as exc:
        raise UserError(str(exc)) from exc
    try:
        server.start()
    except OSError as exc:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    done = threading.Event()

    def _terminate(signum: int, frame: FrameType | None) -> None:
        done.set()

    # Ctrl-C and SIGTERM end the same way: a flag the main loop sees (a KeyboardInterrupt
    # raised inside a lock's wait could leave the stop to hang)
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"sandbox listening on {server.base_url}", flush=True)
    print(f"sandbox: {server.published_count} items published, {server.reserve_count} in reserve; "
          f"data in {server.data_dir}", file=sys.stderr, flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        print("sandbox stopped", file=sys.stderr, flush=True)
    return 0
