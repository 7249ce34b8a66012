"""Property-based (Hypothesis): the checks the crawler and the evidence capture run on
downloaded media (pixel count from the header, decodability, MP4 truncation, type sniffing)
answer for any bytes — a reason or None — and never raise or decode a bomb."""

from __future__ import annotations

import io
import struct

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from alerts.evidence.capture import sniff
from crawler.pipelines.media import image_problem, mp4_truncated, pixel_problem


def _encoded(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 40, 90)).save(buf, fmt)
    return buf.getvalue()


SEEDS = [_encoded("PNG"), _encoded("JPEG"), _encoded("GIF"), _encoded("WEBP"),
         struct.pack(">I", 24) + b"ftypisom" + b"\0" * 12 + struct.pack(">I", 16) + b"mdat" + b"x" * 8]


def mutated(seed: bytes, data: st.DataObject) -> bytes:
    buf = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(buf)))
        op = data.draw(st.sampled_from(["set", "insert", "cut", "size"]))
        if op == "set" and buf:
            buf[min(at, len(buf) - 1)] = data.draw(st.integers(0, 255))
        elif op == "insert":
            buf[at:at] = data.draw(st.binary(max_size=16))
        elif op == "cut":
            del buf[at:]
        elif len(buf) >= 24:  # a header's width/height (PNG) or box size (MP4) made huge
            buf[16:24] = data.draw(st.binary(min_size=8, max_size=8))
    return bytes(buf)


@given(data=st.data(), seed=st.sampled_from(SEEDS))
def test_media_checks_answer_for_any_bytes(data: st.DataObject, seed: bytes) -> None:
    blob = mutated(seed, data)
    too_large = pixel_problem(blob, 40_000_000)
    assert too_large is None or "pixel" in too_large.lower() or "exceeds" in too_large.lower()
    if too_large is None:
        problem = image_problem(blob)
        assert problem is None or isinstance(problem, str)
    assert isinstance(mp4_truncated(blob), bool)
    ext, ctype = sniff(blob)
    assert ext.startswith(".") and "/" in ctype


@given(width=st.integers(1, 2**31 - 1), height=st.integers(1, 2**31 - 1))
def test_the_pixel_limit_is_read_from_the_header(width: int, height: int) -> None:
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">II", width, height) + b"\x08\x02\0\0\0"
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
           + chunk(b"IEND", b""))  # the pixels are never read: only the header counts
    refused = pixel_problem(png, 40_000_000) is not None
    assert refused == (width * height > 40_000_000)
