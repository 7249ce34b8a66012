"""pHash: conformance, equality with imagehash's definition, pinned values."""

from __future__ import annotations

import imagehash
import pytest
from PIL import Image

from matchers.images import ImageInput
from matchers.signals import all_signal_types
from matchers.signals.grid import GRID_MIN_SIDE
from matchers.signals.phash import PhashSignal, phash_of_pil
from matchers.testing import SignalConformance, flat_image
from tests.matchers._signal_data import face, load, scene


class TestPhashConformance(SignalConformance):
    signal = PhashSignal()

    def sample_images(self) -> list[Image.Image]:
        return [scene("reg-test-input/dih/bridge-1-original.jpg"),
                scene("reg-test-input/labelme-subset/q2821.jpg"),
                load(face("A000370_1")), load(face("D000615_1"))]

    def unrelated_images(self) -> list[Image.Image]:
        return [scene("misc-images/c.png"), scene("reg-test-input/labelme-subset/q0291.jpg"),
                load(face("M001190_1")), load(face("S001191_1"))]

    def no_signal_images(self) -> list[Image.Image]:
        # Flat, and nearly flat (a faint gradient: std below PHASH_MIN_STD).
        ramp = Image.linear_gradient("L").resize((320, 180)).point(lambda v: 100 + v // 32)
        return [*super().no_signal_images(), ramp.convert("RGB")]


def test_registered() -> None:
    assert isinstance(all_signal_types()["phash"], PhashSignal)


@pytest.mark.parametrize("name", ["A000370_1", "B001229_1", "S001191_2"])
def test_same_bits_as_imagehash(name: str) -> None:
    img = load(face(name))
    assert phash_of_pil(img)[0] == str(imagehash.phash(img))


# Golden values (reduced greyscale decode, Pillow 13.0) of committed pictures.
PINNED = {"A000370_1": "b67804a78dc7dad0", "D000615_2": "9ef118e152677067",
          "M001190_1": "cb241eb493b68dd2"}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_values(name: str) -> None:
    assert [v.value for v in PhashSignal().hash(ImageInput.from_path(face(name)))] == [PINNED[name]]


def test_pinned_bridge(shared_data) -> None:
    path = shared_data / "pdq" / "reg-test-input" / "dih" / "bridge-1-original.jpg"
    assert PhashSignal().hash(ImageInput.from_path(path))[0].value == "aca29c1c33dc23d7"


def test_reduced_decode_matches_full_decode_within_two_bits() -> None:
    """The reduced decode the signal uses barely moves the hash (docs/measurements.md: median 0)."""
    sig = PhashSignal()
    for name in ("A000370_1", "C001070_1", "T000468_2"):
        reduced = sig.hash(ImageInput.from_path(face(name)))[0].value
        full = str(imagehash.phash(load(face(name))))
        assert sig.distance(reduced, full) <= 2, name
    assert min(ImageInput.from_path(face("A000370_1")).reduced_grey(GRID_MIN_SIDE).size) >= 90


def test_flat_array_no_signal() -> None:
    assert PhashSignal().hash(ImageInput.from_pil(flat_image((64, 64)))) == []
