"""Candidate faces: a picture's face is the mean of its chip and the chip's mirror; a video
frame's face is one view (``matchers.faces.single_view``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from matchers.faces import _models, detect_faces, single_view
from matchers.images import ImageInput

FACES = Path(__file__).resolve().parents[2] / "sandbox" / "assets" / "faces"


def _encode(chips: list[np.ndarray]) -> np.ndarray:
    return np.asarray(_models().encoder.embed(np.stack(chips)))


def test_a_picture_face_is_the_mean_of_the_chip_and_its_mirror() -> None:
    face = detect_faces(ImageInput.from_path(FACES / "A000370_1.jpg"))[0]
    chip = np.asarray(face.crop)
    both = _encode([chip, chip[:, ::-1]])
    np.testing.assert_allclose(face.embedding, both.mean(0), atol=1e-5)
    assert np.linalg.norm(both[0] - both[1]) > 1e-3  # the mirror is another view


def test_a_video_frame_face_is_one_view_and_the_mirror_brings_views_closer() -> None:
    """A frame marked as a video frame gets the chip's own embedding. A mirrored picture
    and the original land closer together with the mirror view averaged in."""
    img = Image.open(FACES / "B001229_1.jpg").convert("RGB")
    frame = single_view(ImageInput.from_array(np.asarray(img)))
    face = detect_faces(frame)[0]
    np.testing.assert_allclose(face.embedding, _encode([np.asarray(face.crop)])[0], atol=1e-5)
    flipped = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    two = [detect_faces(ImageInput.from_pil(p))[0].embedding for p in (img, flipped)]
    one = [detect_faces(single_view(ImageInput.from_array(np.asarray(p))))[0].embedding
           for p in (img, flipped)]
    assert np.linalg.norm(two[0] - two[1]) < np.linalg.norm(one[0] - one[1])
