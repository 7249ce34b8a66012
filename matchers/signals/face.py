"""face: dlib's 128-d face embedding, one value per face found (``matchers/faces.py``).

The value is the base64 of the 128 float32 numbers; ``box`` says where the face is.
Distance is Euclidean. ``FACE_THRESHOLD`` is the signal's own single threshold (the photo
search and the conformance tests use it); the matcher decides faces per person and per
face against a background cohort instead, in two tiers (``matchers/calibration.py``,
``matchers/tiers.py``): on unseen faces no single threshold both found face swaps and
kept look-alikes out (issue 13).
"""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from matchers.faces import detect_faces, reference_embedding
from matchers.images import ImageInput
from matchers.signals.base import SignalType, SignalValue

# Measured on sandbox/assets/faces (uniform studio headshots, 30 people, dlib 20.0.1,
# detection as in matchers/faces.py), references as enrolment stores them (mean of 10
# views, ``hash_reference``), candidates single views:
# - the same photo re-encoded, resized, brightened, barred or re-framed: <= 0.25;
# - another photo of the person (the ten pairs, clean and after JPEG q20-30, brightness
#   +30%, subtitle bar, halving: 50 pairs): at most 0.500;
# - different people (5,800 pairs, the same transforms): never below 0.517.
# 0.505 sits in that gap, nearer the same-person side because a false alert costs more
# than a miss that PDQ, face_pdq or another reference may still catch. (With single-view
# references the two sides overlapped: 0.528 against 0.519. dlib's customary 0.6 would
# confuse these look-alike headshots: 3 of 435 clean pairs lie under it.)
FACE_THRESHOLD = 0.505
# Below this no different-person pair came, even with single-view references (0.519).
FACE_STRONG_THRESHOLD = 0.50
FACE_DIMS = 128


def encode_embedding(vec: npt.NDArray[np.float32]) -> str:
    """Base64 of the float32 little-endian bytes."""
    return base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode("ascii")


class FaceSignal(SignalType):
    """One 128-d embedding per face in the image."""

    kind: ClassVar[Literal["hamming", "euclidean"]] = "euclidean"
    dims: ClassVar[int] = FACE_DIMS
    THRESHOLD: ClassVar[float] = FACE_THRESHOLD
    EXAMPLES: ClassVar[list[str]] = [
        encode_embedding(np.zeros(FACE_DIMS, dtype=np.float32)),
        encode_embedding(np.full(FACE_DIMS, 0.0883883, dtype=np.float32)),  # unit norm
        encode_embedding(np.linspace(-0.2, 0.2, FACE_DIMS, dtype=np.float32)),
    ]

    def hash(self, image: ImageInput) -> list[SignalValue]:
        return [SignalValue(self.name, encode_embedding(f.embedding),
                            quality=round(f.score, 3), box=f.box)
                for f in detect_faces(image)]

    def hash_reference(self, image: ImageInput) -> list[SignalValue]:
        """One embedding per face, the mean of 10 views (``faces.reference_embedding``)."""
        return [SignalValue(self.name, encode_embedding(reference_embedding(f)),
                            quality=round(f.score, 3), box=f.box)
                for f in detect_faces(image)]

    def distance(self, a: str, b: str) -> float:
        return float(np.linalg.norm(self.to_array(a) - self.to_array(b)))

    def validate(self, value: str) -> str:
        self.to_array(value)
        return value

    def to_array(self, value: str) -> npt.NDArray[np.float32]:
        if not isinstance(value, str):
            raise ValueError(f"{self.name}: expected base64 text, got {type(value).__name__}")
        try:
            raw = base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as e:
            raise ValueError(f"{self.name}: not base64: {e}") from e
        if len(raw) != FACE_DIMS * 4:
            raise ValueError(f"{self.name}: expected {FACE_DIMS} float32 ({FACE_DIMS * 4} bytes), "
                             f"got {len(raw)} bytes")
        vec = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        if not np.all(np.isfinite(vec)):
            raise ValueError(f"{self.name}: embedding has NaN or infinite numbers")
        return vec
