"""Shared helpers for hash signals: hex <-> bits, Hamming distance, validation."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from matchers.signals.base import SignalType

_HEX = re.compile(r"^[0-9a-f]+$")


def validate_hex(value: str, nbits: int, signal: str) -> str:
    """``value`` if it is exactly ``nbits`` bits of lowercase hex, else ``ValueError``."""
    if not isinstance(value, str):
        raise ValueError(f"{signal}: expected a hex string, got {type(value).__name__}")
    if len(value) != nbits // 4 or not _HEX.match(value):
        raise ValueError(f"{signal}: expected {nbits // 4} lowercase hex digits, got {value[:80]!r}")
    return value


def hex_to_array(value: str) -> npt.NDArray[np.uint8]:
    """Packed bits, most significant bit first (``np.packbits`` order)."""
    return np.frombuffer(bytes.fromhex(value), dtype=np.uint8).copy()


def bits_to_hex(bits: npt.NDArray[np.bool_] | npt.NDArray[np.uint8]) -> str:
    """Hex of a flat bit array, first bit = most significant bit of the first byte."""
    return np.packbits(np.asarray(bits, dtype=np.uint8).ravel()).tobytes().hex()


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex strings of the same length."""
    if len(a) != len(b):
        raise ValueError(f"cannot compare hashes of {len(a) * 4} and {len(b) * 4} bits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


class HammingSignal(SignalType):
    """A signal whose values are hex bit strings compared by Hamming distance.

    pdq, phash and face_pdq share this: distance, validation and the packed-bit array.
    """

    kind: ClassVar[Literal["hamming", "euclidean"]] = "hamming"

    def distance(self, a: str, b: str) -> float:
        return float(hamming(self.validate(a), self.validate(b)))

    def validate(self, value: str) -> str:
        return validate_hex(value, self.nbits, self.name)

    def to_array(self, value: str) -> npt.NDArray[np.uint8]:
        return hex_to_array(self.validate(value))

