"""The platform registry: every adapter, found by name or by URL.

Adapters are discovered, not listed: every module in ``crawler/platforms/`` (other than
``base`` and ``testing``) is imported and each :class:`~crawler.platforms.base.Adapter`
subclass it defines with a ``NAME`` is registered. A module may also define
``extra_adapters() -> dict[str, type[Adapter]]`` for adapters built at run time, which is how
YAML site definitions become adapters.

    from crawler.platforms import all_adapters, adapter_for_url, get_adapter
    all_adapters()["sandbox"]          # the class
    adapter_for_url("http://127.0.0.1:8700/video/v00001")  # the class claiming the URL
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import lru_cache
from pathlib import Path

from crawler.platforms.base import Adapter, AdapterError

_SKIP = {"base", "testing"}


@lru_cache(maxsize=1)
def _discover() -> dict[str, type[Adapter]]:
    found: dict[str, type[Adapter]] = {}
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.name in _SKIP or info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        classes = {
            obj.NAME: obj
            for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Adapter)
            and obj.__module__ == module.__name__
            and isinstance(getattr(obj, "NAME", None), str)
        }
        extra = getattr(module, "extra_adapters", None)
        if callable(extra):
            classes.update(extra())
        for name, cls in classes.items():
            if name in found and found[name] is not cls:
                raise AdapterError(f"two adapters named {name!r}: {found[name]} and {cls}")
            found[name] = cls
    return found


def all_adapters() -> dict[str, type[Adapter]]:
    """Every adapter by its NAME (a storage key)."""
    return dict(_discover())


def get_adapter(name: str) -> type[Adapter]:
    """The adapter class called ``name``; AdapterError listing the known ones otherwise."""
    adapters = _discover()
    try:
        return adapters[name]
    except KeyError:
        raise AdapterError(
            f"unknown platform {name!r}; known: {', '.join(sorted(adapters)) or 'none'}"
        ) from None


def adapter_for_url(url: str) -> type[Adapter] | None:
    """The adapter whose VALID_URL claims ``url``, or None. Exactly one may claim a URL."""
    claiming = [cls for cls in _discover().values() if cls.suitable(url)]
    if len(claiming) > 1:
        names = ", ".join(sorted(c.NAME for c in claiming))
        raise AdapterError(f"{url} is claimed by several adapters: {names}")
    return claiming[0] if claiming else None
