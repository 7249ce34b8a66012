"""face_pdq: PDQ of each aligned face crop, so reuse of one face picture is caught where
the rest of the image changed (re-framed, cropped, overlaid, pasted into another scene).

The crop is the centre ``FACE_PDQ_CROP`` pixels of dlib's aligned face chip
(``matchers/faces.py``, 150 px with padding 0.25): rotation, scale and position of the
face are normalised before hashing, which a whole-image hash cannot do, and most of the
background and hair the chip's padding holds is left out (a subtitle bar or a crop then
moves the hash less: bar max 52 -> 28 bits, crop 20% max 88 -> 58).
The reference side also stores the crop of the mirrored picture (detected and aligned
afresh: alignment is not symmetric, so flipping the crop itself caught only 65% of
mirrored copies of our 40 headshots), so a flipped re-upload is caught.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image

from matchers.faces import FaceResult, detect_faces, mirrored_face_crops
from matchers.images import ImageInput
from matchers.signals.base import SignalValue
from matchers.signals.hamming import HammingSignal
from matchers.signals.pdq import pdq_of_array

# Centre of the 150 px chip that is hashed (the face from brows to chin).
FACE_PDQ_CROP = 120

# Measured on sandbox/assets/faces (40 photos, 30 people; each transform applied to 20
# of them): different people, 770 pairs of look-alike studio headshots, never below 74
# bits (1st percentile 86); the same photo after JPEG q30 <= 32, brightness/contrast
# +30% <= 38, subtitle bar <= 28, rotation 5 degrees <= 46, crop 20% median 25 (max 58).
# 48 leaves 26 bits of margin to the closest different person. Another photo of the
# same person is the embedding's job (face_pdq: 78-130 bits, except one near-copy at 24).
FACE_PDQ_THRESHOLD = 48
# Below this PDQ quality the crop is a blur: no signal.
FACE_PDQ_MIN_QUALITY = 30


def face_crop(chip: Image.Image) -> Image.Image:
    """The centre ``FACE_PDQ_CROP`` pixels of an aligned face chip."""
    m = (chip.width - FACE_PDQ_CROP) // 2
    return chip.crop((m, m, m + FACE_PDQ_CROP, m + FACE_PDQ_CROP))


class FacePdqSignal(HammingSignal):
    """One 256-bit PDQ per face, of its aligned crop."""

    name: ClassVar[str] = "face_pdq"
    nbits: ClassVar[int] = 256
    THRESHOLD: ClassVar[float] = FACE_PDQ_THRESHOLD
    EXAMPLES: ClassVar[list[str]] = ["0" * 64, "f" * 64, "5a" * 32]

    def _values(self, faces: list[FaceResult], variant: str = "") -> list[SignalValue]:
        out = []
        for face in faces:
            hx, quality = pdq_of_array(np.asarray(face_crop(face.crop)))
            if quality >= FACE_PDQ_MIN_QUALITY:
                out.append(SignalValue(self.name, hx, quality=float(quality), box=face.box,
                                       variant=variant))
        return out

    def hash(self, image: ImageInput) -> list[SignalValue]:
        return self._values(detect_faces(image))

    def hash_reference(self, image: ImageInput) -> list[SignalValue]:
        plain = self._values(detect_faces(image))
        seen = {v.value for v in plain}
        flipped = [v for v in self._values(mirrored_face_crops(image), "flipx")
                   if v.value not in seen]
        return plain + flipped
