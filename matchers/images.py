"""One way into the matchers for every picture: thumbnails, reference photos, video keyframes.

``ImageInput`` wraps a path, bytes, a PIL image or an RGB array and decodes lazily, once:

- ``full()``: the whole image, RGB, EXIF orientation applied.
- ``reduced(min_side)``: the smallest cheap decode whose shorter side is still at least
  ``min_side``. For JPEG this is Pillow's ``draft`` (the IDCT is done at 1/2, 1/4 or 1/8
  scale, so most of the decoding work is skipped: ``docs/measurements.md`` 0.90 ms
  instead of 1.65 ms at 1/8 of 720p); other formats are decoded and reduced by an integer
  box filter.
- ``memo(key, fn)``: a per-image cache, so faces are detected once even though two
  signals use them, and a keyframe's pHash computed for scene selection is reused.

Decoding is guarded, from the header, before any pixel is decoded: more than
``MAX_PIXELS`` pixels (a decompression bomb; ``MAX_FULL_DECODE_PIXELS`` for formats that
have no reduced decode), a corrupt or truncated file raise ``ImageError`` with a one-line
reason. Every caller (scan, enrolment, the matcher, the photo search) decodes through
here, so every one gets the limits. Nothing is decoded twice.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

# 40 megapixels: larger than any phone photo or 4K frame (8.3 Mpix), far below the
# ~1 GB of RGB a bomb could make us allocate. Pillow's own limit (89 Mpix, a warning;
# an error above twice that) is checked too. A JPEG this large is only ever decoded
# reduced (``draft``: 1/8 of it, 0.6 Mpix, for the hashes and the face search).
MAX_PIXELS = 40_000_000
# Formats without a reduced decode (PNG, WebP, GIF...) are decoded in full: 16 Mpix is
# 48 MB of RGB (64 MB while an RGBA picture is converted), past any screenshot or frame.
# Issue 14: eight 40-megapixel PNGs held the photo search at 1.3 GB.
MAX_FULL_DECODE_PIXELS = 16_000_000

# Formats whose decoder supports ``draft`` (DCT-domain downscaling).
_DRAFT_FORMATS = frozenset({"JPEG", "MPO"})

T = TypeVar("T")


class ImageError(ValueError):
    """The bytes are not a usable image; ``str(err)`` is a one-line reason."""


def _orientation(img: Image.Image) -> int:
    if "exif" not in img.info:  # JPEG/PNG/WebP keep raw EXIF here: skip parsing when absent
        return 1
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the picture
        return 1
    return value if isinstance(value, int) else 1


class ImageInput:
    """A lazily decoded image. Construct with one of the ``from_*`` class methods."""

    def __init__(self, *, data: bytes | None = None, path: Path | None = None,
                 pil: Image.Image | None = None, name: str = "") -> None:
        self.name = name
        self._data = data
        self._path = path
        self._full: Image.Image | None = None
        self._reduced: dict[tuple[int, str], Image.Image] = {}
        self._size: tuple[int, int] | None = None
        self._format: str | None = None
        self._orient = 1
        self._memo: dict[str, Any] = {}
        self._header: Image.Image | None = None
        self._lock = threading.RLock()
        if pil is not None:
            img = pil if pil.mode == "RGB" else pil.convert("RGB")
            self._full = img
            self._size = img.size
            self._format = "PIL"

    # -- constructors ------------------------------------------------------------------

    @classmethod
    def from_path(cls, path: str | Path) -> ImageInput:
        """An image file on disk (read when first needed)."""
        p = Path(path)
        return cls(path=p, name=str(p))

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "") -> ImageInput:
        """Encoded image bytes (JPEG, PNG, WebP, GIF...)."""
        return cls(data=bytes(data), name=name)

    @classmethod
    def from_pil(cls, img: Image.Image, name: str = "") -> ImageInput:
        """An already decoded PIL image (converted to RGB)."""
        return cls(pil=img, name=name)

    @classmethod
    def from_array(cls, arr: npt.NDArray[np.uint8], name: str = "") -> ImageInput:
        """An ``H x W x 3`` uint8 RGB array, e.g. a decoded video frame."""
        a = np.asarray(arr)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise ImageError(f"expected an HxWx3 uint8 RGB array, got {a.dtype} {a.shape}")
        if a.shape[0] * a.shape[1] > MAX_PIXELS:
            raise ImageError(f"image too large: {a.shape[1]}x{a.shape[0]} pixels "
                             f"(limit {MAX_PIXELS})")
        return cls(pil=Image.fromarray(np.ascontiguousarray(a), "RGB"), name=name)

    # -- decoding ----------------------------------------------------------------------

    def _bytes(self) -> bytes:
        if self._data is None:
            if self._path is None:
                raise ImageError("no image data")
            try:
                self._data = self._path.read_bytes()
            except OSError as e:
                raise ImageError(f"cannot read {self._path}: {e.strerror or e}") from e
        return self._data

    def _open(self) -> Image.Image:
        """Open (header only) and check the pixel count before anything is decoded.

        The handle opened to read the size is kept and handed to the first decode, so a
        thumbnail's header is parsed once.
        """
        if self._header is not None:
            img, self._header = self._header, None
            return img
        data = self._bytes()
        if not data:
            raise ImageError("empty file")
        try:
            img = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageError(f"decompression bomb: {e}") from e
        except UnidentifiedImageError as e:
            kind = _sniff(data)
            if kind:
                raise ImageError(f"corrupt {kind} image header") from e
            raise ImageError("not an image (unrecognised format)") from e
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise ImageError(f"corrupt image header: {e}") from e
        w, h = img.size
        if w <= 0 or h <= 0:
            raise ImageError(f"bad image size {w}x{h}")
        if w * h > MAX_PIXELS:
            raise ImageError(f"decompression bomb: {w}x{h} = {w * h} pixels "
                             f"(limit {MAX_PIXELS})")
        if img.format not in _DRAFT_FORMATS and w * h > MAX_FULL_DECODE_PIXELS:
            raise ImageError(f"image too large: {w}x{h} = {w * h} pixels of {img.format} "
                             f"(limit {MAX_FULL_DECODE_PIXELS} for formats decoded in full)")
        if self._size is None:
            self._format = img.format
            self._orient = _orientation(img)
            self._size = (h, w) if self._orient in (5, 6, 7, 8) else (w, h)
        return img

    def _read_size(self) -> None:
        self._header = self._open()

    def _load(self, img: Image.Image, mode: str = "RGB") -> Image.Image:
        try:
            img.load()
            out = img if img.mode == mode else _to_8bit(img).convert(mode)
        except Image.DecompressionBombError as e:
            raise ImageError(f"decompression bomb: {e}") from e
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            reason = str(e) or type(e).__name__
            if "truncated" in reason:
                raise ImageError(f"truncated image: {reason}") from e
            raise ImageError(f"corrupt image data: {reason}") from e
        except MemoryError as e:
            raise ImageError("image too large to decode") from e
        if self._orient != 1:
            out = ImageOps.exif_transpose(out)
        return out

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` as displayed (after EXIF orientation); header-only read."""
        with self._lock:
            if self._size is None:
                self._read_size()
            assert self._size is not None
            return self._size

    @property
    def format(self) -> str:
        """Pillow's format name (``JPEG``, ``PNG``...), or ``PIL`` for in-memory images."""
        _ = self.size
        return self._format or ""

    def full(self) -> Image.Image:
        """The whole image decoded, RGB."""
        with self._lock:
            if self._full is None:
                self._full = self._load(self._open())
                self._size = self._full.size
            return self._full

    def reduced(self, min_side: int) -> Image.Image:
        """A cheap RGB decode whose shorter side is at least ``min_side`` (or the full image)."""
        return self._reduced_mode(min_side, "RGB")

    def reduced_grey(self, min_side: int) -> Image.Image:
        """Like ``reduced`` but greyscale (mode ``L``, ITU-R 601 luma, as PDQ and pHash use).

        A colour JPEG is then decoded to its Y channel only: the chroma planes are
        entropy-decoded but never transformed, upsampled or converted, which saves a
        third of the decode time at 1/8 scale.
        """
        return self._reduced_mode(min_side, "L")

    def _reduced_mode(self, min_side: int, mode: str) -> Image.Image:
        with self._lock:
            key = (min_side, mode)
            cached = self._reduced.get(key)
            if cached is not None:
                return cached
            w, h = self.size
            factor = max(1, min(w, h) // max(1, min_side))
            if factor == 1:
                out = self.full()
            elif self._full is not None:
                out = self._full.reduce(factor)
            elif self._format in _DRAFT_FORMATS:
                img = self._open()
                sw, sh = img.size
                scale = _pow2_at_most(min(factor, 8))
                # draft picks the largest DCT scale whose result is >= the requested size.
                img.draft(mode, (sw // scale, sh // scale))
                out = self._load(img, mode)
            else:
                out = self.full().reduce(factor)
            if out.mode != mode:
                out = out.convert(mode)
            self._reduced[key] = out
            return out

    def array(self) -> npt.NDArray[np.uint8]:
        """The full image as an ``H x W x 3`` uint8 array (cached)."""
        return self.memo("_array", lambda: np.asarray(self.full()))

    def memo(self, key: str, fn: Callable[[], T]) -> T:
        """``fn()`` computed once per image and cached under ``key``."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = fn()
            value: T = self._memo[key]
            return value

    def __repr__(self) -> str:
        return f"ImageInput({self.name or self._format or '?'})"


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and float greyscale scaled to 8 bits (Pillow's convert would clip at 255)."""
    if img.mode not in ("I", "F") and not img.mode.startswith("I;16"):
        return img
    arr = np.asarray(img, dtype=np.float64)
    top = 65535.0 if img.mode.startswith("I;16") else max(float(arr.max()), 1.0)
    return Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8), "L")


_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG", "PNG"), (b"GIF8", "GIF"),
          (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))


def _sniff(data: bytes) -> str:
    """The format the first bytes announce ("" if none we know)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((kind for magic, kind in _MAGIC if data.startswith(magic)), "")


def _pow2_at_most(n: int) -> int:
    p = 1
    while p * 2 <= n:
        p *= 2
    return p
