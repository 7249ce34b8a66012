"""``SignalConformance``: the tests every signal type must pass (after python-threatexchange).

A signal's test module subclasses it, names the class ``Test...``, sets ``signal`` and
supplies its pictures::

    class TestPdq(SignalConformance):
        signal = PdqSignal()

        def sample_images(self) -> list[Image.Image]: ...     # each yields a signal
        def unrelated_images(self) -> list[Image.Image]: ...  # other pictures

and gets: round trip of every value (``validate`` and ``to_array``), self-distance 0,
``EXAMPLES`` valid, malformed values rejected, transformed copies (JPEG quality 30,
resize to 50%, brightness +30%) within the threshold, unrelated pictures beyond it, and
"no signal" pictures (flat; for faces, a picture without a face) giving ``[]``.

Pictures are hashed once per class (``ImageInput`` caches signal values), so the suite
stays fast even for the face signals.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageEnhance

from matchers.images import ImageInput
from matchers.signals.base import Comparison, SignalType, SignalValue


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    """``img`` encoded as JPEG."""
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def flat_image(size: tuple[int, int] = (640, 360), colour: tuple[int, int, int] = (128, 128, 128)
               ) -> Image.Image:
    """A uniform picture: no hash signal, no face."""
    return Image.new("RGB", size, colour)


def _jpeg_q30(img: Image.Image) -> bytes:
    return jpeg_bytes(img, 30)


def _half(img: Image.Image) -> bytes:
    return jpeg_bytes(img.resize((img.width // 2, img.height // 2), Image.Resampling.BILINEAR))


def _brighter(img: Image.Image) -> bytes:
    return jpeg_bytes(ImageEnhance.Brightness(img).enhance(1.3))


TRANSFORMS: dict[str, Callable[[Image.Image], bytes]] = {
    "jpeg_q30": _jpeg_q30,
    "resize_50": _half,
    "brightness_130": _brighter,
}


class SignalConformance:
    """Base class of every signal type's tests (not collected itself: no ``Test`` prefix)."""

    signal: ClassVar[SignalType]
    # Values that must be refused by validate().
    MALFORMED: ClassVar[list[Any]] = ["", "xyz", "0" * 7, "g" * 64, None, 12345, "   "]
    _cache: ClassVar[dict[str, Any]]

    # -- what subclasses provide --------------------------------------------------------

    def sample_images(self) -> list[Image.Image]:
        """Pictures that each yield at least one value."""
        raise NotImplementedError

    def unrelated_images(self) -> list[Image.Image]:
        """Pictures with nothing in common with ``sample_images`` (other people, scenes)."""
        raise NotImplementedError

    def no_signal_images(self) -> list[Image.Image]:
        """Pictures that must yield no value (default: flat colour)."""
        return [flat_image(), flat_image((300, 300), (20, 40, 200))]

    # -- cached work ---------------------------------------------------------------------

    def _cached(self, key: str, fn: Callable[[], Any]) -> Any:
        cls = type(self)
        if "_cache" not in cls.__dict__:
            cls._cache = {}
        if key not in cls._cache:
            cls._cache[key] = fn()
        return cls._cache[key]

    def sample_values(self) -> list[list[SignalValue]]:
        """``hash`` of each sample picture (decoded from a high-quality JPEG)."""
        values: list[list[SignalValue]] = self._cached("samples", lambda: [
            self.signal.hash(ImageInput.from_bytes(jpeg_bytes(img, 95)))
            for img in self.sample_images()])
        return values

    def reference_values(self) -> list[list[SignalValue]]:
        """``hash_reference`` of each sample picture."""
        values: list[list[SignalValue]] = self._cached("references", lambda: [
            self.signal.hash_reference(ImageInput.from_bytes(jpeg_bytes(img, 95)))
            for img in self.sample_images()])
        return values

    def _closest(self, refs: list[SignalValue], values: list[SignalValue]) -> float:
        return min((self.signal.distance(r.value, v.value) for r in refs for v in values),
                   default=float("inf"))

    # -- the tests -----------------------------------------------------------------------

    def test_name_is_a_storage_key(self) -> None:
        assert self.signal.name.isidentifier() and self.signal.name == self.signal.name.lower()
        assert self.signal.kind in ("hamming", "euclidean")
        assert (self.signal.nbits > 0) if self.signal.kind == "hamming" else (self.signal.dims > 0)
        assert self.signal.THRESHOLD > 0

    def test_examples_valid(self) -> None:
        assert len(self.signal.EXAMPLES) >= 2
        for value in self.signal.EXAMPLES:
            assert self.signal.validate(value) == value
            assert self.signal.distance(value, value) == 0

    def test_malformed_rejected(self) -> None:
        for bad in self.MALFORMED:
            try:
                self.signal.validate(bad)
            except ValueError:
                continue
            raise AssertionError(f"{self.signal.name} accepted malformed value {bad!r}")

    def test_round_trip(self) -> None:
        for values in self.sample_values():
            assert values, "a sample picture gave no signal"
            for v in values:
                assert v.signal == self.signal.name
                assert self.signal.validate(v.value) == v.value
                arr = self.signal.to_array(v.value)
                if self.signal.kind == "hamming":
                    assert arr.dtype == np.uint8 and arr.shape == (self.signal.nbits // 8,)
                else:
                    assert arr.dtype == np.float32 and arr.shape == (self.signal.dims,)

    def test_self_distance_zero(self) -> None:
        for values in self.sample_values():
            for v in values:
                cmp = self.signal.compare(v.value, v.value)
                assert isinstance(cmp, Comparison)
                assert cmp.matched and cmp.distance == 0
                assert cmp.threshold == self.signal.THRESHOLD

    def test_reference_side_matches_the_plain_hash(self) -> None:
        """What enrolment stores matches what a candidate gives for the same picture
        (hash signals: the very value; faces: the same face within the threshold)."""
        for plain, refs in zip(self.sample_values(), self.reference_values(), strict=True):
            assert len(refs) >= len(plain)
            for v in plain:
                if self.signal.kind == "hamming":
                    assert v.value in {r.value for r in refs}
                else:
                    assert self._closest(refs, [v]) <= self.signal.THRESHOLD / 2

    def test_transformed_copies_within_threshold(self) -> None:
        failures = []
        for img, refs in zip(self.sample_images(), self.reference_values(), strict=True):
            for name, transform in TRANSFORMS.items():
                got = self.signal.hash(ImageInput.from_bytes(transform(img)))
                d = self._closest(refs, got)
                if d > self.signal.THRESHOLD:
                    failures.append(f"{name}: {d}")
        assert not failures, f"{self.signal.name} beyond {self.signal.THRESHOLD}: {failures}"

    def test_unrelated_beyond_threshold(self) -> None:
        unrelated = [self.signal.hash(ImageInput.from_bytes(jpeg_bytes(img)))
                     for img in self.unrelated_images()]
        assert any(unrelated), "no unrelated picture gave a signal: the test would be empty"
        for refs in self.reference_values():
            for values in unrelated:
                d = self._closest(refs, values)
                assert d > self.signal.THRESHOLD, f"unrelated picture at {d}"

    def test_no_signal_is_empty(self) -> None:
        for img in self.no_signal_images():
            assert self.signal.hash(ImageInput.from_pil(img)) == []
            assert self.signal.hash(ImageInput.from_bytes(jpeg_bytes(img))) == []


def make_video(path: str | Path, scenes: list[tuple[Image.Image, float]], *,
               size: tuple[int, int] = (640, 360), fps: int = 25, pan: int = 1,
               faststart: bool = True, keyint: int = 250, crf: int = 28,
               x264_params: str = "") -> Path:
    """Write an H.264 MP4 of ``scenes`` (picture, seconds) with PyAV, for tests and benches.

    Each scene pans ``pan`` pixels a frame over its picture (slightly enlarged), so frames
    within a scene differ a little, as in real footage; x264 puts an I-frame at each cut
    (its scene-cut detection) and every ``keyint`` frames. ``faststart`` puts the index
    (``moov``) first, as streaming sites do, so a truncated copy stays readable.
    ``x264_params`` go to libx264 as they are (``scenecut=0``: no I-frame at the cuts;
    ``min-keyint=250``: cuts become ordinary, non-IDR I-frames).
    """
    import av  # only needed here

    out_path = Path(path)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(out_path), mode="w", format="mp4", options=options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": str(crf), "g": str(keyint)}
        if x264_params:
            stream.options = {**stream.options, "x264-params": x264_params}
        for picture, seconds in scenes:
            n = max(1, round(seconds * fps))
            margin = pan * n
            big = picture.convert("RGB").resize((size[0] + margin, size[1] + margin // 2 + 1),
                                                Image.Resampling.BILINEAR)
            for i in range(n):
                x, y = i * pan, (i * pan) // 2
                arr = np.asarray(big.crop((x, y, x + size[0], y + size[1])))
                frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return out_path
