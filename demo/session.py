"""`likewatch demo` runs in a session of its own, so that Ctrl-C stops it cleanly.

Ctrl-C in a terminal (and ``timeout -s INT``) signals every process of the foreground
process group: the demo, but also its crawl subprocesses and the Node.js driver that
Playwright starts for the evidence browser, which died at once and left the demo unable to
close its browser ("Future exception was never retrieved ... Connection closed while
reading from the driver"). So ``likewatch demo`` starts the demo proper as a child in a new
session (``start_new_session``), out of the terminal's reach, and hands the first Ctrl-C to
that child alone: the daemon stops as it does on SIGTERM (the running crawl and matching
finish, the browser closes) and the demo prints its closing note. A second Ctrl-C kills
the whole session at once. The child stops by itself when this parent goes away (a closed
terminal, a SIGKILL). The child is a fork (:func:`fork_session`): it starts at once, with
everything the command has imported.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from types import FrameType

#: When the command started (epoch seconds): ``make demo`` sets it at its own start, so the
#: demo's times include the setup; else the parent process's start time.
ENV_STARTED = "LIKEWATCH_DEMO_STARTED"


def process_started() -> float:
    """When this process started (epoch seconds), from /proc; now if that is unreadable."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()


def command_started() -> float:
    """When the demo command (or ``make demo``) started, as the parent recorded it."""
    try:
        return float(os.environ[ENV_STARTED])
    except (KeyError, ValueError):
        return process_started()


def fork_session() -> int | None:
    """Fork; the child, in a new session, gets None and runs the demo; this process waits
    for it, forwarding Ctrl-C, and gets its exit status (0 after a Ctrl-C the demo
    handled: stopping it is what the user asked for)."""
    os.environ.setdefault(ENV_STARTED, f"{process_started():.3f}")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        return None
    presses = 0

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            print("\nstopping: the running crawl and matching finish first "
                  "(Ctrl-C again to stop at once)", file=sys.stderr, flush=True)
            os.kill(pid, signal.SIGINT)
        else:
            print("demo killed", file=sys.stderr, flush=True)
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, forward) for sig in watched}
    try:
        _, status = os.waitpid(pid, 0)  # retried after each handled signal (PEP 475)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    rc = os.waitstatus_to_exitcode(status)
    if presses == 1 and rc in (0, 130, -signal.SIGINT):
        return 0
    return 130 if presses else rc


def stop_when_parent_goes(stop: threading.Event, every: float = 1.0) -> None:
    """Set ``stop`` when this process's parent exits (checked every ``every`` seconds)."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.wait(every):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=watch, name="demo-parent-watch", daemon=True).start()
