"""Signal types, one module each; ``all_signal_types()`` maps storage names to instances."""

from __future__ import annotations

from functools import cache

from matchers.signals.base import Comparison, Match, SignalType, SignalValue

__all__ = ["Comparison", "Match", "SignalType", "SignalValue", "all_signal_types",
           "get_signal_type", "IMAGE_HASH_SIGNALS", "FACE_SIGNALS"]

# Whole-image hashes (cheap) and face-level signals (need face detection).
IMAGE_HASH_SIGNALS = ("pdq", "phash")
FACE_SIGNALS = ("face", "face_pdq")


@cache
def all_signal_types() -> dict[str, SignalType]:
    """``{"pdq": ..., "phash": ..., "face": ..., "face_pdq": ...}`` (same instances each call)."""
    from matchers.signals.face import FaceSignal
    from matchers.signals.face_pdq import FacePdqSignal
    from matchers.signals.pdq import PdqSignal
    from matchers.signals.phash import PhashSignal

    types: list[SignalType] = [PdqSignal(), PhashSignal(), FaceSignal(), FacePdqSignal()]
    return {t.name: t for t in types}


def get_signal_type(name: str) -> SignalType:
    """One signal type by storage name; ``KeyError`` for an unknown one."""
    return all_signal_types()[name]
