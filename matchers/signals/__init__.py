"""Signal types, one module each; ``all_signal_types()`` maps storage names to instances.

Signal types are discovered, not listed (as the platform adapters are): every module of
this package is imported and each concrete :class:`SignalType` subclass it defines is one
signal type, under its frozen ``name``. Everything else derives from them: the reference
banks, the pipeline, the candidate index's fields and their sizes
(``matchers/index/base.py``: ``nbits`` of hamming signals, ``dims`` of euclidean ones). So
a new signal is one module here plus its tests (the conformance suite of
``matchers/testing.py``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache
from pathlib import Path

from matchers.signals.base import Comparison, Match, SignalType, SignalValue

__all__ = ["Comparison", "Match", "SignalType", "SignalValue", "all_signal_types",
           "get_signal_type"]


@cache
def all_signal_types() -> dict[str, SignalType]:
    """``{"face": ..., "face_pdq": ..., "pdq": ..., "phash": ...}`` by name (same instances
    each call)."""
    found: dict[str, type[SignalType]] = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, SignalType) and cls.__module__ == module.__name__
                    and not inspect.isabstract(cls)):
                if found.get(cls.name, cls) is not cls:
                    raise TypeError(f"two signal types named {cls.name!r}: "
                                    f"{found[cls.name]} and {cls}")
                found[cls.name] = cls
    return {name: found[name]() for name in sorted(found)}


def get_signal_type(name: str) -> SignalType:
    """One signal type by storage name; ``KeyError`` for an unknown one."""
    return all_signal_types()[name]
