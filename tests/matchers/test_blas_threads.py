"""Importing ``matchers`` holds OpenBLAS to one thread (see matchers/__init__.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_importing_matchers_holds_blas_to_one_thread() -> None:
    code = ("import numpy, threadpoolctl; before = threadpoolctl.threadpool_info(); "
            "import matchers; after = threadpoolctl.threadpool_info(); "
            "import json; print(json.dumps([[i['num_threads'] for i in before], "
            "[i['num_threads'] for i in after if i['user_api'] == 'blas']]))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=60)
    before, after = json.loads(out.stdout)
    assert after and all(n == 1 for n in after)
    # the control: numpy alone starts with more than one thread on this 2-core machine
    assert max(before) > 1 or (os.cpu_count() or 1) == 1
