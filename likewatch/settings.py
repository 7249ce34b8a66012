"""The settings registry: every setting has a name, a default, a type and a help line.

Values come, in order of precedence, from the environment (``LIKEWATCH_<NAME>`` in upper
case), from ``$LIKEWATCH_HOME/config.yaml``, and from the default declared here. A test
(`tests/likewatch/test_settings.py`) fails when a setting is missing from `docs/settings.md`.

Packages register their own settings by calling :func:`register` at import time of
``likewatch.settings_catalog`` (one place, so the docs test sees them all).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class SettingsError(ValueError):
    """A setting has a value of the wrong type or an unknown name."""


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"not a boolean: {raw!r}")


def _parse_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


_PARSERS: dict[type, Callable[[str], Any]] = {
    str: str,
    int: int,
    float: float,
    bool: _parse_bool,
    list: _parse_list,
}


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    type: type
    help: str

    @property
    def env_var(self) -> str:
        return "LIKEWATCH_" + self.name.upper()

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, self.type) and not (self.type is int and isinstance(raw, bool)):
            return raw
        if self.type is list and isinstance(raw, (list, tuple)):
            return [str(x) for x in raw]
        try:
            return _PARSERS[self.type](str(raw))
        except (ValueError, KeyError) as exc:
            raise SettingsError(
                f"setting {self.name} ({self.env_var}): expected {self.type.__name__}, got {raw!r}"
            ) from exc


_REGISTRY: dict[str, Setting] = {}


def register(name: str, default: Any, type_: type, help_: str) -> Setting:
    """Declare a setting. Names are storage keys in config files: never rename one."""
    if name in _REGISTRY:
        raise SettingsError(f"setting {name} registered twice")
    setting = Setting(name, default, type_, help_)
    _REGISTRY[name] = setting
    return setting


def all_settings() -> Iterator[Setting]:
    _load_catalog()
    yield from sorted(_REGISTRY.values(), key=lambda s: s.name)


def _load_catalog() -> None:
    # Importing the catalog module registers every setting exactly once.
    from likewatch import settings_catalog  # noqa: F401


def home() -> Path:
    """The data directory: catalog, media, configuration. ``LIKEWATCH_HOME``, default ./.likewatch."""
    return Path(os.environ.get("LIKEWATCH_HOME", ".likewatch")).resolve()


def _config_file_values() -> dict[str, Any]:
    path = home() / "config.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of setting names to values")
    return data


def get(name: str) -> Any:
    """The current value of a setting (environment, then config.yaml, then default)."""
    _load_catalog()
    try:
        setting = _REGISTRY[name]
    except KeyError:
        raise SettingsError(f"unknown setting {name!r}") from None
    raw = os.environ.get(setting.env_var)
    if raw is not None:
        return setting.parse(raw)
    file_values = _config_file_values()
    if name in file_values:
        return setting.parse(file_values[name])
    return setting.default
