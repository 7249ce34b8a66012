"""The SignalType contract, after python-threatexchange's SignalType and Thorn's perception.

A signal type is one class in one module under ``matchers/signals/``:

- ``name``: frozen storage key, derived from the class name (``PdqSignal`` -> ``pdq``,
  ``FacePdqSignal`` -> ``face_pdq``). Never renamed once released.
- ``kind``: ``"hamming"`` (value is hex of ``nbits`` bits) or ``"euclidean"`` (value is a
  base64 float32 vector of ``dims`` numbers).
- ``THRESHOLD``: named constant with the measurement it comes from (see each module).
- ``hash(image)``: the values of an image; an empty list means "no signal" (no face,
  too flat), never an exception.
- ``hash_reference(image)``: what a reference photo stores; by default ``hash``; PDQ adds
  its 8 dihedral variants here so mirrored/rotated reuse is caught.
- ``compare(a, b)``: ``Comparison(matched, distance, threshold)``, never a bare bool.
- ``validate(value)``: raises ``ValueError`` for a malformed serialized value.
- ``EXAMPLES``: valid serialized values, used by the conformance suite.
- ``to_array(value)``: the value as numpy: packed ``uint8`` bits for hamming signals,
  ``float32`` vector for euclidean ones (what reference banks and indexes store).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from matchers.images import ImageInput


@dataclass(frozen=True)
class SignalValue:
    """One value of one signal from one image (a face signal yields one per face)."""

    signal: str
    value: str
    quality: float | None = None
    # For face-level signals: the face box (left, top, right, bottom) in the image.
    box: tuple[int, int, int, int] | None = None
    # Which variant of a reference this is ("" for the original, e.g. "flipx" for PDQ).
    variant: str = ""


@dataclass(frozen=True)
class Comparison:
    matched: bool
    distance: float
    threshold: float


@dataclass(frozen=True)
class Match:
    """A candidate image matched a person's reference on one signal."""

    person: str
    signal: str
    distance: float
    threshold: float
    reference_id: int | None = None
    frame: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    # "alert": pushed to subscribers; "review": held for a person's decision
    # (``matchers.tiers``).
    tier: str = "alert"


def _snake(name: str) -> str:
    name = re.sub(r"Signal$", "", name)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class SignalType(ABC):
    name: ClassVar[str]
    kind: ClassVar[Literal["hamming", "euclidean"]]
    nbits: ClassVar[int] = 0  # hamming signals
    dims: ClassVar[int] = 0  # euclidean signals
    THRESHOLD: ClassVar[float]
    CONTENT_TYPES: ClassVar[frozenset[str]] = frozenset({"image", "video_frame"})
    EXAMPLES: ClassVar[list[str]] = []

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = _snake(cls.__name__)

    @abstractmethod
    def hash(self, image: ImageInput) -> list[SignalValue]: ...

    def hash_reference(self, image: ImageInput) -> list[SignalValue]:
        return self.hash(image)

    @abstractmethod
    def distance(self, a: str, b: str) -> float: ...

    def compare(self, a: str, b: str, threshold: float | None = None) -> Comparison:
        t = self.THRESHOLD if threshold is None else threshold
        d = self.distance(a, b)
        return Comparison(d <= t, d, t)

    @abstractmethod
    def validate(self, value: str) -> str: ...

    @abstractmethod
    def to_array(self, value: str) -> npt.NDArray[np.uint8] | npt.NDArray[np.float32]: ...
