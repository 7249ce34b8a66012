"""Likewatch's matchers: signals, keyframes, reference banks, matching (no Scrapy here).

Importing the package holds OpenBLAS (numpy's and any loaded later, e.g. scipy's) to one
thread in this process. The matchers run many small matrix products (PDQ's 16x64 DCT, the
face ResNet's convolutions, bank distances); at two threads OpenBLAS's workers spin
between them and burnt 1.8x (hashes) to 15x (faces) the CPU for no faster answer on this
2-core machine, whose other core the daemon's other roles already use.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS libraries loaded from now on


def _one_blas_thread() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # those already loaded (numpy's)


_one_blas_thread()
