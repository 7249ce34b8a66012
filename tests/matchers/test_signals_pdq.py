"""PDQ: conformance, Meta's published hashes, dihedral variants, pinned values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from matchers.images import ImageInput
from matchers.signals import all_signal_types
from matchers.signals.grid import luma_grid
from matchers.signals.hamming import bits_to_hex, hamming
from matchers.signals.pdq import (
    DIHEDRAL_VARIANTS,
    PDQ_MIN_QUALITY,
    PdqSignal,
    pdq_dct,
    pdq_dihedral,
    pdq_of_array,
    pdq_of_grid,
)
from matchers.signals.pdq_grid import PDQ_EXACT_BELOW, jarosz_matrix, meta_grid, pdq_grid
from matchers.testing import SignalConformance
from tests.matchers._signal_data import face, load, scene

# Published PDQ hashes of Meta's own test images: ThreatExchange's pure-Python PDQ port
# asserts these in pdq/python/pdqhashing/tests/pdq_test.py at commit
# baefb4ed67b6cdc1d4c82dbaef858d50866ac424 (github.com/facebook/ThreatExchange), with a
# Hamming tolerance of 16 bits; copied from ../shared/data/pdq/expected-python-port.csv
# (see its README). (path under ../shared/data/pdq, hex, quality class)
META_PDQ = [
    ("misc-images/c.png", "e64cc9d91e623842f8d1f1d9a398e78c9f199a3bd87924f2b7e11e0bf061b064"),
    ("misc-images/small.jpg", "0007001f003f003f007f00ff00ff00ff01ff01ff01ff03ff03ff03ff03ff03ff"),
    ("misc-images/wee.jpg", "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d"),
    ("reg-test-input/labelme-subset/q0003.jpg", "54a977c221d14c1c43ba5e6e21d4a13989a3553f1462611cbb85fda7be83b677"),
    ("reg-test-input/labelme-subset/q0004.jpg", "992d44af36d69e6ca6b812585928bac11def254ef5398c6d07466c9abcc65b92"),
    ("reg-test-input/labelme-subset/q0122.jpg", "cfb2009ddd21c6dab0046a7745b5984757a8a4535b3377aea2591d32b33ff940"),
    ("reg-test-input/labelme-subset/q0291.jpg", "a0fe94f1e5cc1cc8dd855948498dc9243f7ca27336f036d7f212b74bc103c9a7"),
    ("reg-test-input/labelme-subset/q0746.jpg", "1049d96239e24d4dca2c55512b8bdb77425f4dbcf575a0a95555aaab5554aaaa"),
    ("reg-test-input/labelme-subset/q1050.jpg", "489db672e9190276d452aeab41eba20f02375fe4092d88defdf491a5c55c5f70"),
    ("reg-test-input/labelme-subset/q2821.jpg", "b150231ffae4710ffcf4f18bb574b109a576f14bb8543189f8743289f174b109"),
    ("reg-test-input/dih/bridge-1-original.jpg", "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"),
    ("reg-test-input/dih/bridge-2-rotate-90.jpg", "38a50efd71c83f429013d68d0ffffc52e34e0e15ada952a9d29684214aa9e5af"),
    ("reg-test-input/dih/bridge-3-rotate-180.jpg", "2dadda64b5a142e5d362209057da895ae63b8c7fc277b4b766b319361f893188"),
    ("reg-test-input/dih/bridge-4-rotate-270.jpg", "a5f0a457248995e8c9065c275aaa54d8b61ba4bdf8fcfc0387c32f8b0bfc4f05"),
    ("reg-test-input/dih/bridge-5-flipx.jpg", "d8f80f31e0f417b00e37f5dd028f980fb36ed12a9662c1e233e64c634e9c64dd"),
    ("reg-test-input/dih/bridge-6-flipy.jpg", "0dad259bb1a1bd18d362576556da32a1e63b7380c2374b4866b3c6c91b89ce77"),
    ("reg-test-input/dih/bridge-7-flip-plus-1.jpg", "f0a5e10271dcc0bd9c5309720fff018de34ef1e8ada9a956d2967ade1ea91a50"),
    ("reg-test-input/dih/bridge-8-flip-minus-1.jpg", "69f05aa8a4996a17c146a2da5aaaab07b61b5b60f8fc07fc83c3d0740bfcb0fa"),
]
# ThreatExchange's own tolerance for these vectors (its README: implementations agree
# within 10 bits on quality >= 80 images; ports drift 6-8 bits on the same image).
META_TOLERANCE = 16
LOW_QUALITY = {"misc-images/small.jpg", "reg-test-input/labelme-subset/q0003.jpg",
               "reg-test-input/labelme-subset/q0004.jpg"}
DIH = [p for p, _ in META_PDQ if "/dih/" in p]


class TestPdqConformance(SignalConformance):
    signal = PdqSignal()

    def sample_images(self) -> list[Image.Image]:
        return [scene("reg-test-input/dih/bridge-1-original.jpg"),
                scene("reg-test-input/labelme-subset/q2821.jpg"),
                load(face("A000370_1")), load(face("D000615_1"))]

    def unrelated_images(self) -> list[Image.Image]:
        return [scene("misc-images/c.png"), scene("reg-test-input/labelme-subset/q0291.jpg"),
                load(face("M001190_1")), load(face("S001191_1"))]


def test_registered() -> None:
    assert isinstance(all_signal_types()["pdq"], PdqSignal)


@pytest.mark.parametrize("rel,expected", META_PDQ)
def test_pdq_core_agrees_with_meta(shared_data: Path, rel: str, expected: str) -> None:
    """pdqhash on the full decode, our bit order: within Meta's tolerance of the published hash.

    This is what catches a pdqhash build that emits its 16-bit words reversed (that
    would put every image about 128 bits away).
    """
    rgb = np.asarray(Image.open(shared_data / "pdq" / rel).convert("RGB"))
    got, quality = pdq_of_array(rgb)
    assert hamming(got, expected) <= META_TOLERANCE
    assert (quality < PDQ_MIN_QUALITY) == (rel in LOW_QUALITY)


@pytest.mark.parametrize("rel,expected", META_PDQ)
def test_pdq_signal_agrees_with_meta(shared_data: Path, rel: str, expected: str) -> None:
    """The hash as computed in production (``pdq_grid``: full decode and Meta's filter
    below PDQ_EXACT_BELOW, the reduced-decode grid above) on every one of Meta's photos,
    the 256x256 ones and the low-quality ones included (a partner's hash list comes from
    Meta's implementation). The 256x256 q0122 was 74 bits off when small pictures went
    through the reduced decode too."""
    image = ImageInput.from_path(shared_data / "pdq" / rel)
    got, _ = pdq_of_grid(pdq_grid(image))
    assert hamming(got, expected) <= META_TOLERANCE
    values = PdqSignal().hash(image)
    assert [v.value for v in values] == ([] if rel in LOW_QUALITY else [got])


@pytest.mark.parametrize("rel", [p for p, _ in META_PDQ])
def test_meta_grid_is_pdqhash_on_the_full_picture(shared_data: Path, rel: str) -> None:
    """Our matrix form of Meta's Jarosz filter gives pdqhash's own bits on the full decode."""
    rgb = np.asarray(Image.open(shared_data / "pdq" / rel).convert("RGB"))
    assert pdq_of_grid(meta_grid(rgb))[0] == pdq_of_array(rgb)[0]


def test_small_pictures_take_the_exact_path(shared_data: Path) -> None:
    small = ImageInput.from_path(shared_data / "pdq" / "reg-test-input/labelme-subset/q0122.jpg")
    large = ImageInput.from_path(shared_data / "pdq" / DIH[0])
    assert min(small.size) < PDQ_EXACT_BELOW <= min(large.size)
    assert not np.array_equal(pdq_grid(small), luma_grid(small))
    assert pdq_grid(large) is luma_grid(large)


@pytest.mark.parametrize("n", [1, 7, 64, 65, 127, 128, 129, 256, 300, 1001])
def test_jarosz_matrix_matches_the_box_passes(n: int) -> None:
    """Each row of the matrix is Meta's two box passes and decimation applied to a unit
    picture: check against a direct transcription of box1DFloat's four phases."""
    def box(vec: list[float], window: int) -> list[float]:
        half = (window + 2) // 2
        out, total, count, li, ri = [], 0.0, 0, 0, 0
        for _ in range(half - 1):
            total, count, li = total + vec[li], count + 1, li + 1
        for _ in range(window - half + 1):
            total, count, li = total + vec[li], count + 1, li + 1
            out.append(total / count)
        for _ in range(len(vec) - window):
            total, li, ri = total + vec[li] - vec[ri], li + 1, ri + 1
            out.append(total / count)
        for _ in range(half - 1):
            total, count, ri = total - vec[ri], count - 1, ri + 1
            out.append(total / count)
        return out

    m = jarosz_matrix(n)
    window = max(1, (n + 127) // 128)
    rng = np.random.default_rng(n)
    vec = rng.uniform(0, 255, n).tolist()
    if window <= n:
        filtered = box(box(vec, window), window)
        expected = [filtered[int((k + 0.5) * n / 64)] for k in range(64)]
        np.testing.assert_allclose(m @ np.array(vec, np.float32), expected, rtol=1e-5)


@pytest.mark.parametrize("rel", sorted(LOW_QUALITY))
def test_low_quality_gives_no_signal(shared_data: Path, rel: str) -> None:
    assert PdqSignal().hash(ImageInput.from_path(shared_data / "pdq" / rel)) == []


def test_dihedral_reference_catches_every_rotation_and_flip(shared_data: Path) -> None:
    sig = PdqSignal()
    refs = sig.hash_reference(ImageInput.from_path(shared_data / "pdq" / DIH[0]))
    assert [r.variant for r in refs] == list(DIHEDRAL_VARIANTS)
    assert refs[0].value == sig.hash(ImageInput.from_path(shared_data / "pdq" / DIH[0]))[0].value
    for rel in DIH:
        got = sig.hash(ImageInput.from_path(shared_data / "pdq" / rel))[0].value
        best = min(sig.distance(r.value, got) for r in refs)
        assert best <= sig.THRESHOLD, (rel, best)
        # ...and only thanks to the variants for the rotated and flipped files.
        if rel != DIH[0]:
            assert sig.distance(refs[0].value, got) > sig.THRESHOLD


@pytest.mark.parametrize("rel", [*DIH[:2], "misc-images/c.png", "reg-test-input/labelme-subset/q0122.jpg"])
def test_numpy_pdq_equals_pdqhash_on_the_grid(shared_data: Path, rel: str) -> None:
    """pdq_of_grid and our dihedral variants give pdqhash's bits exactly, on the same grid."""
    grid = pdq_grid(ImageInput.from_path(shared_data / "pdq" / rel))
    rgb = np.repeat(grid.round().astype(np.uint8)[:, :, None], 3, axis=2)
    exact = grid.round()
    assert pdq_of_grid(exact) == pdq_of_array(rgb)
    bits, _ = pdqhash.compute_dihedral(rgb)
    assert pdq_dihedral(pdq_dct(exact)[0]) == [bits_to_hex(b) for b in bits]


# Golden values of our pipeline (pdqhash 0.2.8, Pillow 13.0), to catch regressions. These
# headshots are small (225-300 px): their hash is pdqhash's on the full picture, bit for bit.
PINNED = {
    "A000370_1": "a5acda41cbcc17c9b21da75896bc8d5271ac1e05f52da9e16b58e8f287905d0f",
    "D000615_2": "cfa91a341f3958341a7b598538f34b3130c6cd73e58738f2e7a592c3c38c32c7",
    "M001190_1": "7399c55e92cec79d33e60e59b31a4a6d9cd82d257258a5b656e4c69619acc312",
}
PINNED_BRIDGE = "78f870cee0f4a84f0e37022a038f67f0b36e26f596621e1d33e6b39c4e9c9b22"


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_values(name: str) -> None:
    image = ImageInput.from_path(face(name))
    values = PdqSignal().hash(image)
    assert [v.value for v in values] == [PINNED[name]]
    assert pdq_of_array(np.asarray(image.full()))[0] == PINNED[name]
    assert values[0].quality == 100.0


def test_pinned_bridge(shared_data: Path) -> None:
    got = PdqSignal().hash(ImageInput.from_path(shared_data / "pdq" / DIH[0]))
    assert got[0].value == PINNED_BRIDGE
