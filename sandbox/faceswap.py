"""Face-swap composites for the sandbox: one person's face blended onto another's photo.

dlib's HOG detector and 5-point landmark model (the files shipped by
`face_recognition_models`, located with `importlib.util.find_spec`, never downloaded)
give both faces' landmarks; a similarity transform aligns the donor face to the target,
an elliptical feathered mask around the eyes and nose keeps the inner face, and the
donor's colours are matched to the target's skin before alpha blending. Crude next to
a real deepfake, but the identity that a face embedding sees is the donor's.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


class NoFaceError(RuntimeError):
    """dlib found no face where the sandbox expected exactly one."""


@lru_cache(maxsize=1)
def _models() -> tuple[Any, Any]:
    import dlib

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise RuntimeError("face_recognition_models is not installed")
    model = Path(spec.origin).parent / "models" / "shape_predictor_5_face_landmarks.dat"
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(model))


def landmarks(image: Image.Image) -> np.ndarray:
    """The 5 landmark points (x, y) of the largest face, as a (5, 2) float array."""
    detector, predictor = _models()
    arr = np.asarray(image.convert("RGB"))
    faces = detector(arr, 1)
    if len(faces) == 0:
        raise NoFaceError("no face found")
    face = max(faces, key=lambda r: r.width() * r.height())
    shape = predictor(arr, face)
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(5)], dtype=np.float64)


def _similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity (Umeyama) mapping src points onto dst points: dst ≈ A @ src + t."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rot = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / s0.var(0).sum()
    a = scale * rot
    return a, mu_d - a @ mu_s


def swap(donor: Image.Image, target: Image.Image) -> Image.Image:
    """`target` with its inner face replaced by the face in `donor`."""
    donor = donor.convert("RGB")
    target = target.convert("RGB")
    p_donor, p_target = landmarks(donor), landmarks(target)
    # Map target coordinates to donor coordinates (what PIL's AFFINE transform wants).
    a, t = _similarity(p_target, p_donor)
    warped = donor.transform(target.size, Image.Transform.AFFINE,
                             data=(a[0, 0], a[0, 1], t[0], a[1, 0], a[1, 1], t[1]),
                             resample=Image.Resampling.BILINEAR)
    eyes = (p_target[0] + p_target[1]) / 2, (p_target[2] + p_target[3]) / 2
    eye_dist = float(np.linalg.norm(eyes[0] - eyes[1]))
    eye_mid = (eyes[0] + eyes[1]) / 2
    centre = (eye_mid + p_target[4]) / 2 + np.array([0.0, 0.25 * eye_dist])
    rx, ry = 1.0 * eye_dist, 1.3 * eye_dist
    mask = Image.new("L", target.size, 0)
    ImageDraw.Draw(mask).ellipse(
        (centre[0] - rx, centre[1] - ry, centre[0] + rx, centre[1] + ry), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(max(2.0, 0.18 * eye_dist)))
    m = np.asarray(mask, dtype=np.float32)[..., None] / 255.0
    w = np.asarray(warped, dtype=np.float32)
    tg = np.asarray(target, dtype=np.float32)
    inside = m[..., 0] > 0.5
    if inside.sum() > 10:
        # Match the donor's colour statistics to the target's inside the mask.
        w_mean, w_std = w[inside].mean(0), w[inside].std(0) + 1e-3
        t_mean, t_std = tg[inside].mean(0), tg[inside].std(0) + 1e-3
        w = (w - w_mean) / w_std * t_std + t_mean
    out = m * w + (1 - m) * tg
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
