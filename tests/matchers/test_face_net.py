"""matchers.face_net runs dlib's ResNet with numpy: it must give dlib's own descriptors."""

from __future__ import annotations

from pathlib import Path

import dlib
import numpy as np
import pytest

from matchers import faces
from matchers.face_net import FaceNet, ModelFormatError
from matchers.images import ImageInput

REPO = Path(__file__).resolve().parents[2]
MODEL = "dlib_face_recognition_resnet_model_v1.dat"


@pytest.fixture(scope="module")
def net() -> FaceNet:
    return FaceNet(faces.model_dir() / MODEL)


@pytest.fixture(scope="module")
def chips() -> list[np.ndarray]:
    photos = sorted((REPO / "sandbox" / "assets" / "faces").glob("*.jpg"))
    assert len(photos) >= 10
    out = []
    for photo in photos:
        found = faces.detect_faces(ImageInput.from_bytes(photo.read_bytes()))
        assert len(found) == 1, photo.name
        out.append(np.asarray(found[0].crop))
    return out


def test_equals_dlib_on_every_committed_face(net: FaceNet, chips: list[np.ndarray]) -> None:
    reference = dlib.face_recognition_model_v1(str(faces.model_dir() / MODEL))
    worst = 0.0
    for chip in chips:
        want = np.asarray(reference.compute_face_descriptor(chip), dtype=np.float32)
        got = net.embed(chip)
        assert got.shape == (1, 128) and got.dtype == np.float32
        worst = max(worst, float(np.linalg.norm(got[0] - want)))
    # float32 rounding only; the face threshold is 0.505 and its margins are 1e-2.
    assert worst < 1e-4


def test_batch_equals_one_by_one(net: FaceNet, chips: list[np.ndarray]) -> None:
    batch = net.embed(np.stack(chips[:5]))
    singles = np.concatenate([net.embed(c) for c in chips[:5]])
    assert np.allclose(batch, singles, atol=1e-5)
    # different faces give different descriptors (the network is not constant)
    assert float(np.linalg.norm(batch[0] - batch[1])) > 0.2


def test_detect_faces_uses_it(net: FaceNet, chips: list[np.ndarray]) -> None:
    photo = sorted((REPO / "sandbox" / "assets" / "faces").glob("*.jpg"))[0]
    found = faces.detect_faces(ImageInput.from_bytes(photo.read_bytes()))
    chip = np.asarray(found[0].crop)  # a picture's face: the chip and its mirror, averaged
    assert np.allclose(found[0].embedding, net.embed(np.stack([chip, chip[:, ::-1]])).mean(0),
                       atol=1e-5)
    frame = faces.single_view(ImageInput.from_bytes(photo.read_bytes()))
    assert np.allclose(faces.detect_faces(frame)[0].embedding, net.embed(chip)[0], atol=1e-5)


def test_rejects_wrong_chip_shape(net: FaceNet) -> None:
    with pytest.raises(ValueError, match="150"):
        net.embed(np.zeros((120, 150, 3), dtype=np.uint8))


def test_rejects_other_model_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError):
        FaceNet(faces.model_dir() / "shape_predictor_5_face_landmarks.dat")
    data = (faces.model_dir() / MODEL).read_bytes()
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError):
        FaceNet(truncated)
