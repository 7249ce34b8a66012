"""A deterministic, uncompressed ("stored") zip writer for evidence bundles.

Bundles are written byte-for-byte reproducibly from their members (names, contents, one
timestamp), by this small writer rather than :mod:`zipfile`, whose output may differ
between Python versions. Verification rebuilds the zip from the members it read and
compares the bytes: a change anywhere in the container (a header's date, an extra field,
a comment) is caught even where it alters no member's content. Media are already
compressed, so storing costs little.

Format: PKWARE APPNOTE 4.3 local file headers, central directory, end of central
directory record; no zip64 (bundles stay far below 4 GiB), UTF-8 names (flag bit 11).
"""

from __future__ import annotations

import functools
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

_VERSION = 20  # 2.0: the minimum for a plain stored file
_UNIX = 3 << 8  # "made by" host: Unix, so external attributes carry a mode
_UTF8 = 0x0800
_MODE = 0o100644 << 16  # regular file, rw-r--r--
CHUNK = 1 << 20  # bytes compared or hashed at a time


def dos_datetime(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


@dataclass(frozen=True)
class Entry:
    """One member for :func:`iter_build`: its bytes come from ``chunks()``, read when written
    (so a large member is never held whole)."""

    name: str
    size: int
    crc32: int
    chunks: Callable[[], Iterable[bytes]]


def iter_build(entries: Sequence[Entry],
               date_time: tuple[int, int, int, int, int, int]) -> Iterator[bytes]:
    """The bytes of the zip holding ``entries`` in order, piece by piece."""
    dos_time, dos_date = dos_datetime(date_time)
    central = bytearray()
    offset = 0
    for entry in entries:
        encoded = entry.name.encode("utf-8")
        if offset > 0xFFFFFFFF or entry.size > 0xFFFFFFFF:
            raise ValueError("bundle too large for a zip without zip64")
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, _VERSION, _UTF8, 0, dos_time,
                             dos_date, entry.crc32, entry.size, entry.size, len(encoded), 0)
        yield header + encoded
        written = 0
        for chunk in entry.chunks():
            written += len(chunk)
            yield chunk
        if written != entry.size:
            raise ValueError(f"{entry.name}: {written} bytes read, {entry.size} declared")
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _UNIX | _VERSION, _VERSION,
                               _UTF8, 0, dos_time, dos_date, entry.crc32, entry.size,
                               entry.size, len(encoded), 0, 0, 0, 0, _MODE, offset)
        central += encoded
        offset += len(header) + len(encoded) + entry.size
    yield bytes(central)
    yield struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                      offset, 0)


def build(members: Sequence[tuple[str, bytes]],
          date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """The zip holding ``members`` in the given order, every entry dated ``date_time``."""
    return b"".join(iter_build(
        [Entry(name, len(data), zlib.crc32(data) & 0xFFFFFFFF, functools.partial(_one, data))
         for name, data in members], date_time))


def _one(data: bytes) -> tuple[bytes]:
    return (data,)


def first_difference(a: bytes, b: bytes) -> int | None:
    """Offset of the first differing byte, or None when equal."""
    if a == b:
        return None
    n = min(len(a), len(b))
    lo = 0
    step = 4096
    while lo < n and a[lo:lo + step] == b[lo:lo + step]:
        lo += step  # skip equal chunks at C speed, then look byte by byte
    for i in range(lo, min(n, lo + step)):
        if a[i] != b[i]:
            return i
    return n


def first_difference_stream(fh: BinaryIO, pieces: Iterable[bytes]) -> int | None:
    """Offset of the first byte where the file differs from the concatenated ``pieces``
    (or where one ends before the other), or None when equal. Reads piece by piece."""
    offset = 0
    for piece in pieces:
        for start in range(0, len(piece), CHUNK):
            want = piece[start:start + CHUNK]
            got = fh.read(len(want))
            where = first_difference(got, want)
            if where is not None:
                return offset + where
            offset += len(want)
    return offset if fh.read(1) else None


def central_directory_extent(fh: BinaryIO) -> tuple[int, int]:
    """(entries, size in bytes) the zip's end-of-central-directory record declares (its
    zip64 record when there is one), read from the file's tail only. ValueError when none."""
    fh.seek(0, 2)
    size = fh.tell()
    tail_len = min(size, 22 + 0xFFFF + 20)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise ValueError("no end of central directory record")
    _, _, _, _, entries, cd_size, _, _ = struct.unpack("<IHHHHIIH", tail[at:at + 22])
    locator = at - 20
    if locator >= 0 and tail[locator:locator + 4] == b"PK\x06\x07":
        (zip64_at,) = struct.unpack("<Q", tail[locator + 8:locator + 16])
        fh.seek(zip64_at)
        record = fh.read(56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            entries, cd_size = struct.unpack("<QQ", record[32:48])
    return int(entries), int(cd_size)
