"""Running hostile inputs in a subprocess and measuring its peak memory (issue 14).

``run_measured(cmd)`` runs ``cmd`` and returns its exit status, output and peak resident
set size. The peak is read by a small Python parent started fresh (``ru_maxrss`` from
``os.wait4`` on its one child): measured straight from the test process, a child's figure
would include the memory of the pytest process it was forked from.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PARENT = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    json.dump({"rc": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss}, fh)
"""


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float


def run_measured(cmd: list[str], *, timeout: float = 300, **kwargs: Any) -> Measured:
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "rusage.json"
        proc = subprocess.run([sys.executable, "-c", _PARENT, str(result), *cmd],
                              capture_output=True, text=True, timeout=timeout, **kwargs)
        usage = json.loads(result.read_text())
    return Measured(usage["rc"], proc.stdout, proc.stderr, usage["maxrss_kb"] / 1024)
