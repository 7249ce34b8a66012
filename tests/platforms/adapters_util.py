"""Shared helpers for the platform tests: every adapter, its cases, the expectation checker."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import crawler.platforms as platforms_pkg
from crawler.platforms.base import Adapter, CandidateItem, Page
from crawler.platforms.generic import load_sites

FIXTURES = Path(platforms_pkg.__file__).resolve().parent / "fixtures"
PAGE_KEYS = ("items", "detail_urls", "next_url", "next_cursor", "errors", "shape")


def discovered_adapters() -> dict[str, type[Adapter]]:
    """Adapters found by walking crawler/platforms/ and crawler/sites/ (independent of the
    registry, so the registry can be checked against it)."""
    found: dict[str, type[Adapter]] = {}
    for info in pkgutil.iter_modules(platforms_pkg.__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"crawler.platforms.{info.name}")
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, Adapter) and obj.__module__ == module.__name__
                    and "NAME" in vars(obj)):
                found[obj.NAME] = obj
    found.update(load_sites())
    return found


def all_adapters() -> dict[str, type[Adapter]]:
    """The registry's adapters when it exists, plus anything it missed (reported by a test)."""
    merged = dict(discovered_adapters())
    registry = getattr(platforms_pkg, "all_adapters", None)
    if registry is not None:
        merged.update(registry())
    return merged


def fixture_path(cls: type[Adapter], case: dict[str, Any]) -> Path:
    base = getattr(cls, "FIXTURE_DIR", None) or FIXTURES / cls.NAME
    return Path(base) / case["fixture"]


def cases() -> list[tuple[str, int, type[Adapter], dict[str, Any]]]:
    return [(name, i, cls, case) for name, cls in sorted(all_adapters().items())
            for i, case in enumerate(cls.TESTS)]


def _actual(page: Page, key: str) -> Any:
    if key in PAGE_KEYS:
        return getattr(page, key)
    m = re.fullmatch(r"items\[(\d+)\]\.(\w+)", key)
    index, field = (int(m.group(1)), m.group(2)) if m else (0, key)
    assert len(page.items) > index, f"expected an item #{index} for {key!r}, page has {len(page.items)}"
    item: CandidateItem = page.items[index]
    assert hasattr(item, field), f"unknown item field {field!r}"
    return getattr(item, field)


def check_expected(page: Page, expected: dict[str, Any], *, live: bool = False) -> None:
    """Compare a parsed page with a case's expectations (exact, "re:", type, ("count", n)).

    Live runs keep the structure (types, non-empty values, counts > 0, ids exact) and drop
    values that change on a real site (titles get edited, counts grow)."""
    for key, want in expected.items():
        got = _actual(page, key)
        where = f"{key}: got {got!r}, expected {want!r}"
        if isinstance(want, (tuple, list)) and len(want) == 2 and want[0] == "count":
            if live:
                assert (len(got) > 0) == (want[1] > 0), where
            else:
                assert len(got) == want[1], where
        elif isinstance(want, type):
            assert isinstance(got, want), where
        elif live and key not in ("item_id",) and not key.endswith(".item_id"):
            assert got not in (None, "", []), where
        elif isinstance(want, str) and want.startswith("re:"):
            assert got is not None and re.search(want[3:], str(got)), where
        elif isinstance(got, dt.datetime) and isinstance(want, str):
            assert got.isoformat() == want, where
        else:
            assert got == want, where
