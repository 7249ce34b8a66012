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

import struct
import zlib
from collections.abc import Sequence

_VERSION = 20  # 2.0: the minimum for a plain stored file
_UNIX = 3 << 8  # "made by" host: Unix, so external attributes carry a mode
_UTF8 = 0x0800
_MODE = 0o100644 << 16  # regular file, rw-r--r--


def dos_datetime(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def build(members: Sequence[tuple[str, bytes]],
          date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """The zip holding ``members`` in the given order, every entry dated ``date_time``."""
    dos_time, dos_date = dos_datetime(date_time)
    out = bytearray()
    central = bytearray()
    for name, data in members:
        encoded = name.encode("utf-8")
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        if offset > 0xFFFFFFFF or len(data) > 0xFFFFFFFF:
            raise ValueError("bundle too large for a zip without zip64")
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, _VERSION, _UTF8, 0, dos_time, dos_date,
                           crc, len(data), len(data), len(encoded), 0)
        out += encoded + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _UNIX | _VERSION, _VERSION,
                               _UTF8, 0, dos_time, dos_date, crc, len(data), len(data),
                               len(encoded), 0, 0, 0, 0, _MODE, offset)
        central += encoded
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                       cd_offset, 0)
    return bytes(out)


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
