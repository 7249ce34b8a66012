"""ISO BMFF (MP4, MOV) boxes: XMP uuid and ``XMP_`` boxes, ``moov/udta/meta`` keys + ilst
items named ``AIGC``, the C2PA uuid box. Limits: see containers.py."""

from __future__ import annotations

import struct

from matchers.provenance.walk import (
    AIGC_KEY,
    C2PA_UUID,
    CONTAINER_BOXES,
    MAX_DEPTH,
    MAX_ITEM_BYTES,
    MAX_STRUCTURES,
    XMP_UUID,
    Stop,
    Walk,
)


def walk_boxes(w: Walk, start: int, end: int, depth: int, path: str) -> None:
    if depth > MAX_DEPTH:
        raise Stop(f"boxes nested deeper than {MAX_DEPTH} at {path}")
    pos = start
    while pos + 8 <= end:
        w.count()
        w.f.seek(pos)
        size, btype = struct.unpack(">I4s", w.header(8, f"box header in {path or 'file'}"))
        head = 8
        if size == 1:
            (size,) = struct.unpack(">Q", w.header(8, "64-bit box size"))
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise Stop(f"box {btype.decode('latin-1')!r} at offset {pos} has size {size}: "
                        "past its parent's end (truncated or corrupt)")
        name = btype.decode("latin-1")
        here = f"{path}/{name}" if path else name
        body_start, body_end = pos + head, pos + size
        if btype in CONTAINER_BOXES:
            walk_boxes(w, body_start, body_end, depth + 1, here)
        elif btype == b"uuid" and size >= head + 16:
            usertype = w.header(16, "uuid box type")
            if usertype == XMP_UUID:
                w.add("mp4/uuid-xmp", "xmp", w.read(size - head - 16, "XMP uuid box"))
            elif usertype == C2PA_UUID:
                w.scan.c2pa = True
        elif btype == b"XMP_":
            w.add(f"mp4/{here}", "xmp", w.read(size - head, "XMP_ box"))
        elif btype == b"meta" and depth > 0:
            _mp4_meta(w, body_start, body_end, here, depth)
        pos += size


def _mp4_meta(w: Walk, start: int, end: int, path: str, depth: int) -> None:
    """A ``meta`` box (full box in ISO BMFF, plain in QuickTime): ``keys`` + ``ilst`` items."""
    if end - start > MAX_ITEM_BYTES:
        w.scan.errors.append(f"isobmff: {path} box of {end - start} bytes not read (over the "
                             f"{MAX_ITEM_BYTES}-byte cap)")
        return
    w.f.seek(start)
    data = w.read(end - start, f"{path} box")
    skip = 0 if data[4:8] == b"hdlr" else 4  # QuickTime's meta has no version/flags
    keys: list[bytes] = []
    for btype, body in _children(data, skip, path):
        if btype == b"keys" and len(body) >= 8:
            (count,) = struct.unpack(">I", body[4:8])
            keys = [k for _, k in _keys(body[8:], count)]
        elif btype == b"ilst":
            for item, entry in _children(body, 0, f"{path}/ilst"):
                _ilst_item(w, item, entry, keys, path)


def _children(data: bytes, pos: int, path: str) -> list[tuple[bytes, bytes]]:
    out = []
    while pos + 8 <= len(data):
        size, btype = struct.unpack(">I4s", data[pos:pos + 8])
        if size < 8 or pos + size > len(data):
            raise Stop(f"box {btype.decode('latin-1')!r} in {path} has size {size} "
                        "(truncated or corrupt)")
        out.append((btype, data[pos + 8:pos + size]))
        pos += size
    if len(out) > MAX_STRUCTURES:
        raise Stop(f"more than {MAX_STRUCTURES} items in {path}")
    return out


def _keys(body: bytes, count: int) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    pos = 0
    for _ in range(min(count, MAX_STRUCTURES)):
        if pos + 8 > len(body):
            break
        size, namespace = struct.unpack(">I4s", body[pos:pos + 8])
        if size < 8 or pos + size > len(body):
            raise Stop(f"metadata key entry of size {size} (truncated or corrupt)")
        out.append((namespace, body[pos + 8:pos + size]))
        pos += size
    return out


def _data_value(entry: bytes, path: str) -> bytes | None:
    """The value of the first ``data`` box in an ilst item (type indicator and locale
    skipped)."""
    for btype, body in _children(entry, 0, path):
        if btype == b"data" and len(body) >= 8:
            return body[8:]
    return None


def _ilst_item(w: Walk, item: bytes, entry: bytes, keys: list[bytes], path: str) -> None:
    if item == b"----":  # iTunes free-form: mean, name, data
        parts = dict(_children(entry, 0, f"{path}/ilst/----"))
        name = parts.get(b"name", b"")[4:].decode("utf-8", "replace")
        if name.lower() == AIGC_KEY:
            value = _data_value(entry, f"{path}/ilst/----")
            if value is not None:
                w.add("mp4/udta-meta-freeform-AIGC", "json", value)
        return
    (index,) = struct.unpack(">I", item)
    if 1 <= index <= len(keys) and keys[index - 1].decode("utf-8", "replace").lower() == AIGC_KEY:
        value = _data_value(entry, f"{path}/ilst")
        if value is not None:
            w.add("mp4/udta-meta-AIGC", "json", value)
