"""A crude face-swap composite for ``likewatch eval``: a person's face on someone else's photo.

Both faces are located with dlib's HOG detector and 5-point landmarks (the same model
files as ``matchers.faces``, found with ``matchers.faces.model_dir``); the source photo is
warped onto the target by the similarity transform that best maps the source landmarks
onto the target's (least squares, Umeyama), colour-matched inside the face region, and
blended through a feathered elliptical mask. That is roughly what cheap "face swap" apps
produce, and what a likeness matcher must still recognise. Used only inside the
evaluation; nothing generated here leaves it.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from matchers.faces import model_dir

_LOCK = threading.Lock()
_MODELS: tuple[Any, Any] | None = None


def _models() -> tuple[Any, Any]:
    global _MODELS
    if _MODELS is None:
        import dlib

        _MODELS = (dlib.get_frontal_face_detector(),
                   dlib.shape_predictor(str(model_dir() / "shape_predictor_5_face_landmarks.dat")))
    return _MODELS


def landmarks(img: Image.Image) -> tuple[npt.NDArray[np.float64], tuple[int, int, int, int]] | None:
    """The 5 landmarks (x, y) and the box of the largest face, or None."""
    rgb = np.ascontiguousarray(np.asarray(img.convert("RGB")))
    with _LOCK:
        detector, predictor = _models()
        rects = list(detector(rgb, 1))
        if not rects:
            return None
        rect = max(rects, key=lambda r: r.width() * r.height())
        shape = predictor(rgb, rect)
    pts = np.array([(shape.part(i).x, shape.part(i).y) for i in range(5)], dtype=np.float64)
    return pts, (rect.left(), rect.top(), rect.right(), rect.bottom())


def similarity(src: npt.NDArray[np.float64], dst: npt.NDArray[np.float64]
               ) -> npt.NDArray[np.float64]:
    """2x3 matrix of the similarity transform taking ``src`` points onto ``dst`` (Umeyama)."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    e = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        e[1, 1] = -1
    rot = u @ e @ vt
    scale = np.trace(np.diag(sig) @ e) / s.var(0).sum()
    t = md - scale * rot @ ms
    return np.hstack([scale * rot, t[:, None]])


def face_swap(src: Image.Image, dst: Image.Image, *, scale: float = 1.4,
              colour: bool = True) -> Image.Image | None:
    """``src``'s face blended onto the face in ``dst``; None when either has no face.

    The mask is an ellipse ``scale`` times dlib's face box (which runs from the brows to
    the chin): at 1.4 it takes forehead, cheeks and jaw, as face-swap apps replace the
    whole face. On the eval's data a mask the size of the box (1.0) kept so much of the
    target that the hardest pair (0.53 apart as photos) drifted to 0.54-0.64.
    """
    a, b = landmarks(src), landmarks(dst)
    if a is None or b is None:
        return None
    (sp, _), (dp, box) = a, b
    m = similarity(sp, dp)
    # PIL wants the inverse map (output pixel -> input pixel).
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    warped = src.convert("RGB").transform(dst.size, Image.Transform.AFFINE,
                                          tuple(inv.ravel()), Image.Resampling.BILINEAR)
    left, top, right, bottom = box
    w, h = (right - left) * scale, (bottom - top) * scale
    cx, cy = (left + right) / 2, (top + bottom) / 2 + 0.05 * h
    mask = Image.new("L", dst.size, 0)
    ImageDraw.Draw(mask).ellipse((cx - 0.42 * w, cy - 0.52 * h, cx + 0.42 * w, cy + 0.5 * h),
                                 fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(max(2.0, 0.08 * w)))
    alpha = np.asarray(mask, dtype=np.float32)[..., None] / 255.0
    wa = np.asarray(warped, dtype=np.float32)
    da = np.asarray(dst.convert("RGB"), dtype=np.float32)
    inside = alpha[..., 0] > 0.5
    if colour and inside.sum() > 16:  # colour-match the source face to the target's skin and light
        ws, ds = wa[inside], da[inside]
        wa = (wa - ws.mean(0)) / (ws.std(0) + 1e-3) * ds.std(0) + ds.mean(0)
    out = da * (1 - alpha) + np.clip(wa, 0, 255) * alpha
    return Image.fromarray(out.round().astype(np.uint8), "RGB")
