"""face_pdq: PDQ of each aligned face crop, so reuse of one face picture is caught where
the rest of the image changed (re-framed, cropped, overlaid, pasted into another scene).

The crop is dlib's aligned face chip (``matchers/faces.py``): rotation, scale and
position of the face are normalised before hashing, which a whole-image hash cannot do.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from matchers.faces import detect_faces
from matchers.images import ImageInput
from matchers.signals.base import SignalType, SignalValue
from matchers.signals.hamming import hamming, hex_to_array, validate_hex
from matchers.signals.pdq import pdq_of_array

# See tests/matchers/test_signals_face_pdq.py and bench: measured on sandbox/assets/faces.
FACE_PDQ_THRESHOLD = 40
# Aligned faces are never flat; below this PDQ quality the crop is a blur.
FACE_PDQ_MIN_QUALITY = 30


class FacePdqSignal(SignalType):
    """One 256-bit PDQ per face, of its aligned crop."""

    name: ClassVar[str] = "face_pdq"
    kind: ClassVar[Literal["hamming", "euclidean"]] = "hamming"
    nbits: ClassVar[int] = 256
    THRESHOLD: ClassVar[float] = FACE_PDQ_THRESHOLD
    EXAMPLES: ClassVar[list[str]] = ["0" * 64, "f" * 64, "5a" * 32]

    def hash(self, image: ImageInput) -> list[SignalValue]:
        out = []
        for face in detect_faces(image):
            hx, quality = pdq_of_array(np.asarray(face.crop))
            if quality >= FACE_PDQ_MIN_QUALITY:
                out.append(SignalValue(self.name, hx, quality=float(quality), box=face.box))
        return out

    def distance(self, a: str, b: str) -> float:
        return float(hamming(self.validate(a), self.validate(b)))

    def validate(self, value: str) -> str:
        return validate_hex(value, self.nbits, self.name)

    def to_array(self, value: str) -> npt.NDArray[np.uint8]:
        return hex_to_array(self.validate(value))
