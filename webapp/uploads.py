"""Uploaded photos in bounded memory: a byte limit while reading, a bound on how many are
decoded at once, and freed memory handed back after each one.

The whole request body is bounded before this (``webapp/bodylimit.py``: 413 past its
limit); the route (``POST /api/search/by-photo``, an ``async def``) then uses:

- :func:`read_limited`: the uploaded file (spooled to disk by Starlette) is read in
  chunks (:func:`chunks`) and refused with :class:`TooLarge` as soon as it passes
  ``max_bytes``;
- :func:`gate`: at most ``photo_search_concurrency`` uploads are decoded and hashed at a
  time (each may be a 16-megapixel PNG, ~50 MB of RGB plus working copies, or a
  40-megapixel JPEG decoded reduced); the others wait their turn on the event loop,
  holding no pixels and no worker thread, instead of all holding their decoded pixels at
  once. The decoding itself runs in the threadpool, inside the gate;
- :func:`release_memory`: after a photo, glibc's ``malloc_trim`` returns the freed
  decoding buffers to the system (without it the server kept ~400 MB after a burst of
  uploads: freed, but held in the worker threads' arenas).

Nothing decoded is kept: the image and its pixels go out of scope when the search returns.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

from likewatch import settings


class TooLarge(ValueError):
    """The upload passed its byte limit."""


CHUNK = 1 << 16


async def chunks(read: Callable[[int], Awaitable[bytes]],
                 size: int = CHUNK) -> AsyncIterator[bytes]:
    """``read(size)`` until it returns nothing (e.g. ``UploadFile.read``)."""
    while chunk := await read(size):
        yield chunk


async def read_limited(parts: AsyncIterator[bytes], max_bytes: int) -> bytes:
    """The bytes of ``parts``; :class:`TooLarge` as soon as they pass ``max_bytes``."""
    buf = bytearray()
    async for chunk in parts:
        buf += chunk
        if len(buf) > max_bytes:
            raise TooLarge(f"upload larger than {max_bytes} bytes")
    return bytes(buf)


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary())


def gate() -> asyncio.Semaphore:
    """The running loop's semaphore bounding concurrent photo decodes."""
    loop = asyncio.get_running_loop()
    sem = _gates.get(loop)
    if sem is None:
        sem = asyncio.Semaphore(max(1, int(settings.get("photo_search_concurrency"))))
        _gates[loop] = sem
    return sem


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None
    return trim


_TRIM = _malloc_trim()


def release_memory() -> None:
    """Hand freed heap memory back to the system (glibc only; elsewhere nothing)."""
    if _TRIM is not None:
        _TRIM(0)
