"""face: dlib's 128-d face embedding, one value per face found (``matchers/faces.py``).

The value is the base64 of the 128 float32 numbers; ``box`` says where the face is.
Distance is Euclidean. See ``FACE_THRESHOLD`` for how the threshold was chosen.
"""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from matchers.faces import detect_faces
from matchers.images import ImageInput
from matchers.signals.base import SignalType, SignalValue

# Measured on sandbox/assets/faces (uniform studio headshots, 30 people, dlib 20.0.1,
# detection as in matchers/faces.py): the ten same-person pairs of different photos
# lie at 0.20-0.53; different people at 0.55 and above (3 of 435 pairs below 0.60).
# dlib's customary 0.6 would confuse look-alike headshots, so the threshold sits
# between the two: 0.54 keeps every same-person pair and no different-person pair.
FACE_THRESHOLD = 0.54
# Re-encoding moves an embedding by up to about 0.2 (q30, brightness, subtitle bar,
# re-framing: 0.08-0.24 on these photos), so a degraded copy of one person can come
# closer to a look-alike: over 7,700 (copy of person A, reference of person B) pairs from
# sandbox/assets/faces, 2 fell under 0.54 (0.519, 0.538; the 0.55 pair after JPEG q30 and
# re-framing) and none under 0.50. Matches in [FACE_STRONG_THRESHOLD, FACE_THRESHOLD] are
# therefore weak: a matching policy may ask for a second reference or signal there.
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
