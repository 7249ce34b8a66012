"""face_pdq: conformance, and the reuse cases it exists for."""

from __future__ import annotations

from PIL import Image, ImageDraw

from matchers.images import ImageInput
from matchers.signals import all_signal_types
from matchers.signals.face_pdq import FACE_PDQ_THRESHOLD, FacePdqSignal
from matchers.testing import SignalConformance, flat_image, jpeg_bytes
from tests.matchers._signal_data import face, face_input, framed, load, scene


class TestFacePdqConformance(SignalConformance):
    signal = FacePdqSignal()

    def sample_images(self) -> list[Image.Image]:
        return [load(face("A000370_1")), load(face("D000615_1")), load(face("T000468_2"))]

    def unrelated_images(self) -> list[Image.Image]:
        return [load(face("M001190_1")), load(face("K000210_1")), load(face("P000608_1")),
                load(face("S001195_2"))]

    def no_signal_images(self) -> list[Image.Image]:
        return [flat_image(), scene("reg-test-input/dih/bridge-1-original.jpg")]


def test_registered() -> None:
    assert isinstance(all_signal_types()["face_pdq"], FacePdqSignal)


def _closest(refs: list[str], img: Image.Image) -> float:
    sig = FacePdqSignal()
    got = sig.hash(ImageInput.from_bytes(jpeg_bytes(img, 80)))
    return min((sig.distance(r, g.value) for r in refs for g in got), default=999.0)


def test_reframed_overlaid_and_mirrored_copies_match() -> None:
    """The whole picture changed (new scene, subtitle bar, mirror): the face crop did not."""
    sig = FacePdqSignal()
    refs = [v.value for v in sig.hash_reference(face_input("M001196_1"))]
    assert {v.variant for v in sig.hash_reference(face_input("M001196_1"))} == {"", "flipx"}
    photo = load(face("M001196_1"))
    in_scene = framed(photo, size=(1280, 720), x=700)
    barred = photo.copy()
    ImageDraw.Draw(barred).rectangle((0, int(photo.height * 0.85), photo.width, photo.height),
                                     fill=(0, 0, 0))
    mirrored = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for name, img in (("scene", in_scene), ("bar", barred), ("mirror", mirrored)):
        assert _closest(refs, img) <= FACE_PDQ_THRESHOLD, name
    # The whole-image PDQ does not survive the re-framing: that is why face_pdq exists.
    pdq = all_signal_types()["pdq"]
    whole = [v.value for v in pdq.hash_reference(face_input("M001196_1"))]
    got = pdq.hash(ImageInput.from_pil(in_scene))[0].value
    assert min(pdq.distance(r, got) for r in whole) > pdq.THRESHOLD
