"""Tiny SignalTypes over synthetic values, for unit tests of the banks and the policy.

They are real implementations of the SignalType contract on made-up values (hex bit
strings, base64 float32 vectors), not mocks: the banks only ever see serialized values.
"""

from __future__ import annotations

import base64

import numpy as np
import numpy.typing as npt

from matchers.signals.base import SignalType, SignalValue


class FakeBitsSignal(SignalType):
    """256-bit hex values; the image's ``name`` is taken as its hash."""

    name = "fbits"
    kind = "hamming"
    nbits = 256
    THRESHOLD = 31

    def hash(self, image: object) -> list[SignalValue]:
        return [SignalValue(self.name, str(getattr(image, "name", "")))]

    def distance(self, a: str, b: str) -> float:
        return float(bin(int(a, 16) ^ int(b, 16)).count("1"))

    def validate(self, value: str) -> str:
        if len(value) != self.nbits // 4:
            raise ValueError("bad length")
        int(value, 16)
        return value

    def to_array(self, value: str) -> npt.NDArray[np.uint8]:
        return np.frombuffer(bytes.fromhex(value), dtype=np.uint8).copy()


class FakeBits64Signal(FakeBitsSignal):
    name = "fbits64"
    nbits = 64
    THRESHOLD = 10


class FakeVecSignal(SignalType):
    """4-d float32 vectors, base64."""

    name = "fvec"
    kind = "euclidean"
    dims = 4
    THRESHOLD = 0.5

    def hash(self, image: object) -> list[SignalValue]:
        return []

    def distance(self, a: str, b: str) -> float:
        return float(np.linalg.norm(self.to_array(a) - self.to_array(b)))

    def validate(self, value: str) -> str:
        self.to_array(value)
        return value

    def to_array(self, value: str) -> npt.NDArray[np.float32]:
        arr = np.frombuffer(base64.b64decode(value), dtype=np.float32)
        if arr.shape != (self.dims,):
            raise ValueError("bad dims")
        return arr.copy()


def bits_hex(rng: np.random.Generator, nbits: int = 256) -> str:
    return rng.integers(0, 256, nbits // 8, dtype=np.uint8).tobytes().hex()


def flip(hexval: str, n: int, rng: np.random.Generator) -> str:
    arr = bytearray(bytes.fromhex(hexval))
    for pos in rng.choice(len(arr) * 8, n, replace=False):
        arr[pos // 8] ^= 1 << (pos % 8)
    return bytes(arr).hex()


def vec_b64(v: list[float] | npt.NDArray[np.float32]) -> str:
    return base64.b64encode(np.asarray(v, dtype=np.float32).tobytes()).decode()


def fake_types() -> dict[str, SignalType]:
    return {t.name: t for t in (FakeBitsSignal(), FakeBits64Signal(), FakeVecSignal())}
