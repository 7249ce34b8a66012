"""Find the metadata that can carry AI-content labels, by reading a file's container structure.

Walks JPEG segments, PNG chunks, RIFF (WebP) chunks and ISO BMFF (MP4, MOV) boxes with
seeks, reading into memory only the few metadata items that may hold a label:

| container | where | what |
| --- | --- | --- |
| JPEG | APP1 ``http://ns.adobe.com/xap/1.0/`` (and extended XMP) | XMP packet |
| JPEG | APP11 JUMBF ``c2pa`` | a C2PA manifest store is present |
| PNG | iTXt / tEXt / zTXt ``XML:com.adobe.xmp`` | XMP packet |
| PNG | iTXt / tEXt / zTXt ``AIGC`` | GB 45438 label as JSON |
| PNG | ``caBX`` | a C2PA manifest store is present |
| WebP | ``XMP `` chunk | XMP packet |
| WebP | ``C2PA`` chunk | a C2PA manifest store is present |
| MP4 | ``uuid`` BE7ACFCB-97A9-42E8-9C71-999491E3AFAC, ``moov/udta/XMP_`` | XMP packet |
| MP4 | ``moov/udta/meta`` keys+ilst ``AIGC`` (ffmpeg ``-movflags use_metadata_tags``), ``----`` | label JSON |
| MP4 | ``uuid`` D8FEC3D6-1B0E-483C-9297-5828877EC481 | a C2PA manifest store is present |

Memory is bounded whatever the input: one metadata item is read only up to
``MAX_ITEM_BYTES``, all of them together up to ``MAX_TOTAL_BYTES``, at most ``MAX_STRUCTURES``
segments/chunks/boxes are visited and boxes nest at most ``MAX_DEPTH`` deep. A truncated or
hostile structure ends the walk with an error naming where; what was found before is kept.
Nothing here raises on bad input (an unreadable file is an error in the result).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

from matchers.provenance.isobmff import walk_boxes
from matchers.provenance.walk import (
    AIGC_KEY,
    MAX_ITEM_BYTES,
    XMP_EXT_JPEG_ID,
    XMP_JPEG_ID,
    XMP_PNG_KEY,
    ContainerScan,
    Payload,
    Stop,
    Walk,
)

__all__ = ["ContainerScan", "Payload", "scan_bytes", "scan_file", "sniff"]


def sniff(head: bytes) -> tuple[str, str]:
    """(container, mime type) from a file's first 16 bytes."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg", "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp", "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "isobmff", "image/heic"
        if brand in (b"avif", b"avis"):
            return "isobmff", "image/avif"
        if brand == b"qt  ":
            return "isobmff", "video/quicktime"
        return "isobmff", "video/mp4"
    return "unknown", ""


def scan_file(path: Path) -> ContainerScan:
    """Walk ``path``'s container and collect label carriers; never raises on bad input."""
    try:
        with path.open("rb") as f:
            return _scan_stream(f, path.stat().st_size)
    except OSError as exc:
        return ContainerScan(errors=[f"cannot read the file: {exc.strerror or exc}"])


def scan_bytes(data: bytes) -> ContainerScan:
    """:func:`scan_file` for bytes already in memory."""
    return _scan_stream(io.BytesIO(data), len(data))


def _scan_stream(f: BinaryIO, size: int) -> ContainerScan:
    scan = ContainerScan()
    scan.container, scan.mime = sniff(f.read(16))
    f.seek(0)
    walk = Walk(f, size, scan)
    try:
        if scan.container == "jpeg":
            _walk_jpeg(walk)
        elif scan.container == "png":
            _walk_png(walk)
        elif scan.container == "webp":
            _walk_webp(walk)
        elif scan.container == "isobmff":
            walk_boxes(walk, 0, size, 0, "")
    except Stop as stop:
        scan.errors.append(f"{scan.container}: {stop}")
    except (struct.error, ValueError, IndexError) as exc:  # malformed numbers in a structure
        scan.errors.append(f"{scan.container}: malformed structure ({exc})")
    return scan


# --- JPEG -----------------------------------------------------------------------------

def _walk_jpeg(w: Walk) -> None:
    w.f.seek(2)
    extended: dict[bytes, bytearray] = {}
    while True:
        w.count()
        byte = w.header(1, "marker")
        if byte != b"\xff":
            raise Stop(f"no marker at offset {w.f.tell() - 1}")
        marker = w.header(1, "marker")[0]
        while marker == 0xFF:  # fill bytes
            marker = w.header(1, "marker")[0]
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            continue  # standalone markers
        if marker in (0xD9, 0xDA):
            break  # end of image / start of scan: metadata segments come before
        (length,) = struct.unpack(">H", w.header(2, "segment length"))
        if length < 2:
            raise Stop(f"segment FF{marker:02X} with length {length}")
        body = length - 2
        start = w.f.tell()
        if marker == 0xE1:
            ident = w.f.read(min(body, len(XMP_EXT_JPEG_ID)))
            if ident.startswith(XMP_JPEG_ID):
                w.f.seek(start + len(XMP_JPEG_ID))
                w.add("jpeg/app1-xmp", "xmp", w.read(body - len(XMP_JPEG_ID), "APP1 XMP"))
            elif ident == XMP_EXT_JPEG_ID:
                _jpeg_extended_xmp(w, body - len(XMP_EXT_JPEG_ID), extended)
        elif marker == 0xEB:
            head = w.f.read(min(body, 64))
            if b"jumb" in head and b"c2pa" in head:
                w.scan.c2pa = True
        w.f.seek(start + body)
    for data in extended.values():
        w.add("jpeg/app1-xmp-extended", "xmp", bytes(data))


def _jpeg_extended_xmp(w: Walk, body: int, parts: dict[bytes, bytearray]) -> None:
    """One chunk of an extended XMP packet (XMP spec part 3, 1.1.3.1): GUID, full length,
    offset, data; chunks are reassembled per GUID within the item cap."""
    if body < 40:
        raise Stop("extended XMP segment too short")
    guid = w.header(32, "extended XMP GUID")
    full, offset = struct.unpack(">II", w.header(8, "extended XMP lengths"))
    if full > MAX_ITEM_BYTES:
        raise Stop(f"extended XMP of {full} bytes is over the {MAX_ITEM_BYTES}-byte cap")
    chunk = w.read(body - 40, "extended XMP chunk")
    buf = parts.setdefault(guid, bytearray(full))
    if len(buf) != full or offset + len(chunk) > full:
        raise Stop("extended XMP chunks disagree on their length")
    buf[offset:offset + len(chunk)] = chunk


# --- PNG ------------------------------------------------------------------------------

def _walk_png(w: Walk) -> None:
    w.f.seek(8)
    while True:
        w.count()
        head = w.f.read(8)
        if not head:
            w.scan.errors.append("png: no IEND chunk (truncated file)")
            return
        if len(head) < 8:
            raise Stop("chunk header truncated")
        length, ctype = struct.unpack(">I4s", head)
        if length > 0x7FFFFFFF:
            raise Stop(f"chunk {ctype!r} claims {length} bytes")
        start = w.f.tell()
        if start + length + 4 > w.size:
            raise Stop(f"chunk {ctype.decode('latin-1')} at offset {start - 8} runs past the "
                        "end of the file (truncated)")
        if ctype in (b"iTXt", b"tEXt", b"zTXt"):
            data = w.read(length, f"{ctype.decode()} chunk")
            (crc,) = struct.unpack(">I", w.header(4, "CRC"))
            if zlib.crc32(ctype + data) != crc:
                w.scan.notes.append(f"png: {ctype.decode()} chunk at offset {start - 8} has a "
                                    "bad CRC (altered after writing?)")
            _png_text(w, ctype, data)
            continue
        if ctype == b"caBX":
            w.scan.c2pa = True
        if ctype == b"IEND":
            return
        w.f.seek(start + length + 4)


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_ITEM_BYTES)
    if d.unconsumed_tail:
        raise Stop(f"compressed text inflates past the {MAX_ITEM_BYTES}-byte cap")
    return out


def _png_text(w: Walk, ctype: bytes, data: bytes) -> None:
    keyword, sep, rest = data.partition(b"\x00")
    if not sep:
        w.scan.notes.append(f"png: {ctype.decode()} chunk without a keyword separator")
        return
    key = keyword.decode("latin-1")
    if key.lower() != AIGC_KEY and key != XMP_PNG_KEY:
        return
    try:
        if ctype == b"tEXt":
            text = rest
        elif ctype == b"zTXt":
            text = _inflate(rest[1:])
        else:  # iTXt: flag, method, language\0, translated keyword\0, text
            flag = rest[0]
            _lang, _, rest2 = rest[2:].partition(b"\x00")
            _tkey, _, text = rest2.partition(b"\x00")
            if flag == 1:
                text = _inflate(text)
    except (IndexError, zlib.error) as exc:
        w.scan.errors.append(f"png: {ctype.decode()} {key!r} cannot be read ({exc})")
        return
    if key == XMP_PNG_KEY:
        w.add(f"png/{ctype.decode().lower()}-xmp", "xmp", text)
    else:
        w.add(f"png/{ctype.decode().lower()}-AIGC", "json", text)


# --- WebP (RIFF) ----------------------------------------------------------------------

def _walk_webp(w: Walk) -> None:
    riff_size = struct.unpack("<I", w.header(12, "RIFF header")[4:8])[0]
    end = min(w.size, 8 + riff_size)
    pos = 12
    while pos + 8 <= end:
        w.count()
        w.f.seek(pos)
        fourcc, length = struct.unpack("<4sI", w.header(8, "chunk header"))
        if pos + 8 + length > end:
            raise Stop(f"chunk {fourcc.decode('latin-1')!r} at offset {pos} runs past the "
                        "end of the file (truncated)")
        if fourcc == b"XMP ":
            w.add("webp/xmp", "xmp", w.read(length, "XMP chunk"))
        elif fourcc == b"C2PA":
            w.scan.c2pa = True
        pos += 8 + length + (length & 1)
