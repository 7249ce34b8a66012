"""face: conformance, the calibration its threshold comes from, detection in frames."""

from __future__ import annotations

import numpy as np
from PIL import Image

from matchers.images import ImageInput
from matchers.signals import all_signal_types
from matchers.signals.face import FACE_THRESHOLD, FaceSignal
from matchers.testing import SignalConformance, flat_image, jpeg_bytes
from tests.matchers._signal_data import PAIRS, face, face_input, framed, load, scene


class TestFaceConformance(SignalConformance):
    signal = FaceSignal()

    def sample_images(self) -> list[Image.Image]:
        return [load(face("A000370_1")), load(face("D000615_1")), load(face("T000468_2"))]

    def unrelated_images(self) -> list[Image.Image]:
        return [load(face("M001190_1")), load(face("K000210_1")), load(face("P000608_1"))]

    def no_signal_images(self) -> list[Image.Image]:
        return [flat_image(), scene("reg-test-input/dih/bridge-1-original.jpg")]


def test_registered() -> None:
    assert isinstance(all_signal_types()["face"], FaceSignal)


def test_value_is_base64_of_128_float32_with_box() -> None:
    values = FaceSignal().hash(face_input("A000370_1"))
    assert len(values) == 1
    v = values[0]
    assert v.box is not None and v.box[2] > v.box[0] and v.box[3] > v.box[1]
    vec = FaceSignal().to_array(v.value)
    assert vec.shape == (128,) and vec.dtype == np.float32
    assert np.all(np.isfinite(vec)) and float(np.linalg.norm(vec)) > 0.1


def test_threshold_separates_the_pairs_of_the_calibration_set() -> None:
    """FACE_THRESHOLD's measurement, re-run on clean photos: each paired person's first
    photo enrolled (``hash_reference``), their second photo within the threshold, every
    other person's photos beyond it.
    """
    sig = FaceSignal()
    refs = {p: sig.to_array(sig.hash_reference(face_input(f"{p}_1"))[0].value) for p in PAIRS}
    photos = {f"{p}_{i}": sig.to_array(sig.hash(face_input(f"{p}_{i}"))[0].value)
              for p in PAIRS for i in (1, 2)}
    same = [float(np.linalg.norm(refs[p] - photos[f"{p}_2"])) for p in PAIRS]
    diff = [float(np.linalg.norm(refs[p] - vec))
            for p in PAIRS for name, vec in photos.items() if name[:7] != p]
    assert max(same) <= FACE_THRESHOLD < min(diff), (sorted(same)[-3:], sorted(diff)[:3])


def test_face_found_in_360p_frames_large_and_small() -> None:
    """A face in a 640x360 frame is found at ~100 px (upsample 0) and at ~50 px (retry at 1)."""
    sig = FaceSignal()
    ref = sig.hash(face_input("D000623_1"))[0].value
    photo = load(face("D000623_1"))
    for height in (300, 150):
        frame = framed(photo, height=height)
        values = sig.hash(ImageInput.from_bytes(jpeg_bytes(frame, 85)))
        assert len(values) == 1, height
        assert sig.distance(ref, values[0].value) <= FACE_THRESHOLD
        left, top, right, bottom = values[0].box or (0, 0, 0, 0)
        assert 170 <= left and right <= 170 + photo.width * height // photo.height + 10


def test_another_photo_of_the_person_in_a_720p_frame() -> None:
    sig = FaceSignal()
    ref = sig.hash(face_input("S001191_1"))[0].value
    frame = framed(load(face("S001191_2")), size=(1280, 720), x=500)
    values = sig.hash(ImageInput.from_bytes(jpeg_bytes(frame, 80)))
    assert [v for v in values if sig.distance(ref, v.value) <= FACE_THRESHOLD]


def test_two_faces_two_values() -> None:
    frame = framed(load(face("A000370_1")), x=20)
    frame.paste(load(face("M001190_1")).resize((245, 300)), (360, 30))
    values = FaceSignal().hash(ImageInput.from_pil(frame))
    assert len(values) == 2
    assert values[0].box and values[1].box and values[0].box[0] < values[1].box[0]
