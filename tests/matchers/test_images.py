"""ImageInput: lazy guarded decoding, reduced decodes, EXIF orientation, caching."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from matchers.images import MAX_FULL_DECODE_PIXELS, MAX_PIXELS, ImageError, ImageInput
from matchers.testing import jpeg_bytes
from tests.matchers._signal_data import face, load


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming ``width x height`` pixels with one tiny compressed row: a bomb header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def test_from_path_size_is_header_only_then_full() -> None:
    img = ImageInput.from_path(face("A000370_1"))
    assert img.size == (225, 275)
    assert img.format == "JPEG"
    full = img.full()
    assert full.mode == "RGB" and full.size == (225, 275)
    assert img.full() is full  # cached


def test_reduced_uses_jpeg_draft_and_keeps_min_side() -> None:
    big = Image.new("RGB", (1280, 720), (10, 200, 30))
    img = ImageInput.from_bytes(jpeg_bytes(big))
    r = img.reduced(90)
    assert r.size == (160, 90) and r.mode == "RGB"
    assert img.reduced(90) is r
    assert img.reduced(180).size == (320, 180)
    assert img.reduced(400).size == (1280, 720)  # no power-of-two step keeps 400
    g = img.reduced_grey(90)
    assert g.mode == "L" and g.size == (160, 90)
    assert abs(float(np.asarray(g).mean()) - 124) <= 2  # luma 0.299R + 0.587G + 0.114B


def test_reduced_for_png_and_arrays() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1000, 500), (1, 2, 3)).save(buf, "PNG")
    assert min(ImageInput.from_bytes(buf.getvalue()).reduced(90).size) >= 90
    arr = np.zeros((720, 1280, 3), dtype=np.uint8)
    img = ImageInput.from_array(arr)
    assert img.size == (1280, 720)
    assert min(img.reduced_grey(90).size) >= 90


def test_from_pil_converts_to_rgb() -> None:
    img = ImageInput.from_pil(Image.new("L", (10, 20), 7))
    assert img.full().mode == "RGB" and img.size == (10, 20)


def test_exif_orientation_applied() -> None:
    src = load(face("A000370_1"))  # 225 x 275
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    buf = io.BytesIO()
    src.save(buf, "JPEG", exif=exif.tobytes())
    img = ImageInput.from_bytes(buf.getvalue())
    assert img.size == (275, 225)
    assert img.full().size == (275, 225)
    assert img.reduced(100).size[0] > img.reduced(100).size[1]


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    (b"hello, not an image" * 10, "not an image"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "corrupt"),
])
def test_bad_bytes_raise_image_error(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        ImageInput.from_bytes(data).full()


def test_truncated_jpeg() -> None:
    data = jpeg_bytes(load(face("A000370_1")))
    img = ImageInput.from_bytes(data[: len(data) // 2])
    assert img.size == (225, 275)  # the header is intact
    with pytest.raises(ImageError, match="truncated"):
        img.full()
    with pytest.raises(ImageError, match="truncated"):
        ImageInput.from_bytes(data[: len(data) // 2]).reduced_grey(90)


def test_decompression_bomb_refused_before_decoding() -> None:
    side = int(MAX_PIXELS**0.5) + 10
    with pytest.raises(ImageError, match="decompression bomb"):
        _ = ImageInput.from_bytes(_png_header_only(side, side)).size
    # Beyond Pillow's own limit too (its warning/error is turned into ImageError).
    with pytest.raises(ImageError, match="decompression bomb"):
        ImageInput.from_bytes(_png_header_only(20000, 20000)).full()
    with pytest.raises(ImageError, match="too large"):
        ImageInput.from_array(np.zeros((1, MAX_PIXELS + 1, 3), dtype=np.uint8))


def test_formats_decoded_in_full_have_a_lower_limit() -> None:
    """A PNG has no reduced decode: past MAX_FULL_DECODE_PIXELS it is refused from its
    header, while a JPEG of the same size is accepted (it is only decoded at 1/8)."""
    side = int(MAX_FULL_DECODE_PIXELS**0.5) + 10
    assert side * side < MAX_PIXELS
    with pytest.raises(ImageError, match="image too large: .* pixels of PNG"):
        _ = ImageInput.from_bytes(_png_header_only(side, side)).size
    buf = io.BytesIO()
    Image.new("L", (side, side // 8)).save(buf, "JPEG")  # a small file; patch its height
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 7] = side.to_bytes(2, "big")
    assert ImageInput.from_bytes(bytes(data)).size == (side, side)


def test_bad_array_shape() -> None:
    with pytest.raises(ImageError, match="HxWx3"):
        ImageInput.from_array(np.zeros((10, 10), dtype=np.uint8))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="cannot read"):
        ImageInput.from_path(tmp_path / "none.jpg").full()


def test_memo_computes_once() -> None:
    img = ImageInput.from_pil(Image.new("RGB", (4, 4)))
    calls: list[int] = []
    assert img.memo("k", lambda: calls.append(1) or 42) == 42
    assert img.memo("k", lambda: calls.append(1) or 43) == 42
    assert calls == [1]


def test_16_bit_png_is_scaled_not_clipped() -> None:
    grey = np.asarray(load(face("A000370_1")).convert("L"))
    buf = io.BytesIO()
    Image.fromarray(grey.astype(np.uint16) * 257).save(buf, "PNG")
    img = ImageInput.from_bytes(buf.getvalue())
    assert np.abs(np.asarray(img.full().convert("L")).astype(int) - grey).max() <= 1
