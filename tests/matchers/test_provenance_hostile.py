"""Corrupt and hostile media: a clear "no label" or error, never a crash, memory bounded."""

from __future__ import annotations

import io
import json
import random
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest

from matchers.provenance import read_provenance
from matchers.provenance.containers import scan_bytes, scan_file
from matchers.provenance.gb45438 import find_labels, labels_from_xmp
from matchers.provenance.walk import MAX_DEPTH, MAX_ITEM_BYTES, MAX_STRUCTURES
from tests.matchers import provenance_files as pf


def _png_chunk(ctype: bytes, data: bytes, length: int | None = None) -> bytes:
    n = len(data) if length is None else length
    return struct.pack(">I", n) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _png_with(*chunks: bytes) -> bytes:
    base = pf.png(None)
    return base[:-12] + b"".join(chunks) + base[-12:]  # before IEND


def _box(btype: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), btype) + body


FTYP = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")


def test_png_chunk_claiming_gigabytes() -> None:
    data = _png_with(struct.pack(">I", 0x7FFFFFF0) + b"tEXt" + b"AIGC\x00{")
    scan = scan_bytes(data)
    assert scan.payloads == [] and "runs past the end of the file" in scan.errors[0]


def test_png_text_over_the_cap_is_not_read() -> None:
    big = b"AIGC\x00" + b"x" * (MAX_ITEM_BYTES + 10)
    scan = scan_bytes(_png_with(_png_chunk(b"tEXt", big)))
    assert scan.payloads == [] and "cap" in scan.errors[0]


def test_compressed_text_bomb_stops_at_the_cap() -> None:
    bomb = zlib.compress(b"{" + b" " * (64 << 20), 9)  # 64 MiB of spaces in ~64 kB
    scan = scan_bytes(_png_with(_png_chunk(b"zTXt", b"AIGC\x00\x00" + bomb)))
    assert scan.payloads == [] and "inflates past" in scan.errors[0]


def test_bad_crc_is_noted_and_the_label_still_read() -> None:
    good = _png_chunk(b"tEXt", b"AIGC\x00" + json.dumps(pf.label("1")).encode())
    bad = good[:-1] + bytes([good[-1] ^ 1])
    scan = scan_bytes(_png_with(bad))
    assert find_labels(scan.payloads).best is not None and "bad CRC" in scan.notes[0]


def test_xmp_entity_expansion_is_refused() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "AIGCAIGCAIGC">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>'
              b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&c;</x:xmpmeta>')
    with pytest.raises(ValueError, match="DTDs and entities are not allowed"):
        labels_from_xmp(laughs, "test")


def test_broken_xmp_with_a_label_element() -> None:
    packet = pf.xmp(pf.label("1")).replace(b"</rdf:RDF>", b"")  # no longer well-formed
    labels = labels_from_xmp(packet, "test")
    assert labels[0].label == "1" and "not well-formed" in labels[0].problems[0]


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b"\x00\xff\xfe", b""])
def test_label_text_that_is_not_an_object(payload: bytes) -> None:
    result = find_labels(scan_bytes(_png_with(_png_chunk(b"tEXt", b"AIGC\x00" + payload)))
                         .payloads)
    assert result.labels == [] and "the label is" in result.errors[0]


@pytest.mark.parametrize("data", [
    b"\xff\xd8\xff\xe1\x00\x01",  # APP1 with length 1
    b"\xff\xd8\xff\xe1\x00\x40http://ns.adobe.com/xap/1.0/\x00<x",  # segment cut short
    b"\xff\xd8\xff\xe0\x00\x04ab\x00\x00",  # no marker where one must be
])
def test_broken_jpeg_segments(data: bytes) -> None:
    scan = scan_bytes(data)
    assert scan.container == "jpeg" and scan.payloads == [] and scan.errors


def test_mp4_boxes_nested_too_deep() -> None:
    body = b""
    for _ in range(MAX_DEPTH + 5):
        body = _box(b"udta", body)
    scan = scan_bytes(FTYP + _box(b"moov", body))
    assert "nested deeper than" in scan.errors[0]


def test_mp4_box_larger_than_its_parent() -> None:
    inner = struct.pack(">I4s", 10_000, b"udta") + b"\x00" * 16
    scan = scan_bytes(FTYP + _box(b"moov", inner))
    assert "past its parent's end" in scan.errors[0]


def test_mp4_too_many_boxes() -> None:
    scan = scan_bytes(FTYP + b"".join(_box(b"free", b"") for _ in range(MAX_STRUCTURES + 5)))
    assert "more than" in scan.errors[0]


def test_fifty_megabyte_video_is_walked_in_bounded_memory(tmp_path: Path) -> None:
    """A 60 MB mdat before the metadata: skipped with a seek, never read."""
    labelled = pf.mp4(tmp_path / "small.mp4", pf.label("1")).read_bytes()
    # Move the small file's moov after a big (sparse) mdat of its own.
    pos, boxes = 0, []
    while pos < len(labelled):
        size, btype = struct.unpack(">I4s", labelled[pos:pos + 8])
        boxes.append((btype, labelled[pos:pos + size]))
        pos += size
    moov = next(b for t, b in boxes if t == b"moov")
    big = tmp_path / "big.mp4"
    with big.open("wb") as f:
        f.write(FTYP)
        f.write(struct.pack(">I4s", 8 + 60_000_000, b"mdat"))
        f.seek(60_000_000, io.SEEK_CUR)
        f.write(moov)
    assert big.stat().st_size > 60_000_000
    tracemalloc.start()
    try:
        scan = scan_file(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert find_labels(scan.payloads).best is not None and scan.errors == []
    assert peak < 2 * MAX_ITEM_BYTES, peak


@pytest.mark.parametrize("name", ["jpeg", "png", "webp", "mp4"])
def test_truncated_and_flipped_files_never_raise(name: str, tmp_path: Path) -> None:
    if name == "mp4":
        data = pf.mp4(tmp_path / "v.mp4", pf.label("1")).read_bytes()
    else:
        data = {"jpeg": pf.jpeg, "png": pf.png, "webp": pf.webp}[name](pf.label("1"))
    rng = random.Random(19)
    variants = [data[:n] for n in range(0, len(data), max(1, len(data) // 97))]
    for _ in range(150):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        variants.append(bytes(mutated))
    for variant in variants:
        scan = scan_bytes(variant)
        find_labels(scan.payloads)  # no exception, whatever the bytes


def test_unreadable_and_unknown_files(tmp_path: Path) -> None:
    assert read_provenance(tmp_path / "missing").errors[0].startswith("cannot read the file")
    assert read_provenance(tmp_path).errors  # a directory
    noise = tmp_path / "noise.bin"
    noise.write_bytes(random.Random(1).randbytes(4096))
    prov = read_provenance(noise)
    assert prov.ai_label is None and prov.container == "unknown" and prov.errors == []
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert read_provenance(empty).ai_label is None


def test_fake_c2pa_marker_gives_an_unreadable_manifest(tmp_path: Path) -> None:
    """A PNG claiming a C2PA store (caBX) with garbage in it: reported, not raised."""
    path = tmp_path / "fake.png"
    path.write_bytes(_png_with(_png_chunk(b"caBX", b"\x00\x00\x00\x10jumbc2pa-garbage")))
    prov = read_provenance(path)
    assert prov.c2pa is not None and prov.c2pa.validation_state == "unreadable"
    assert prov.c2pa.error
