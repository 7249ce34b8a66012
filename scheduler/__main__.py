"""``python -m scheduler [--roles R] [--tick S] [--duration S]``: the daemon without the rest
of the CLI's imports (what `likewatch run` runs; starts faster, used by the kill tests)."""

from __future__ import annotations

import argparse
import sys

from likewatch import log, settings
from scheduler import daemon


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scheduler")
    p.add_argument("--roles", default="crawler,matcher,alerter")
    p.add_argument("--tick", type=float, default=None)
    p.add_argument("--duration", type=float, default=None)
    args = p.parse_args(argv)
    log.configure(settings.get("log_format"), settings.get("log_level"))
    return daemon.run(daemon.parse_roles(args.roles), tick=args.tick, duration=args.duration)


if __name__ == "__main__":
    sys.exit(main())
