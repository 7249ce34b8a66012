"""The settings registry: every setting has a name, a default, a type and a help line.

Values come, in order of precedence, from the environment (``LIKEWATCH_<NAME>`` in upper
case), from ``$LIKEWATCH_HOME/config.yaml``, and from the default declared here. Every
setting is declared in ``likewatch/settings_catalog.py`` (one place) and documented in
``docs/settings.md``; ``tests/likewatch/test_settings.py`` fails when one is missing there,
and when the code reads a ``LIKEWATCH_*`` variable that is neither a setting nor listed
among the few variables outside the registry.

When values are read:

- the environment on every :func:`get` (a dictionary lookup: tests ``monkeypatch.setenv``);
- ``config.yaml`` once per process and data directory: the file is parsed on the first
  :func:`get` and kept (a key that is no setting is an error naming the closest one) (a process that switches ``LIKEWATCH_HOME`` reads the new home's
  file). :func:`update_config` writes the file and drops what was kept; anything else that
  changes the file under a running process calls :func:`reload` (a daemon is restarted).

Settings that Scrapy reads too (``scrapy=True``: retries, pacing, progress of the crawler)
are handed to it under their environment names by ``crawler.run.scrapy_settings``.
"""

from __future__ import annotations

import os
import threading
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
    scrapy: bool = False  # also a Scrapy setting of the crawler, named like the variable

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


def register(name: str, default: Any, type_: type, help_: str, *, scrapy: bool = False
             ) -> Setting:
    """Declare a setting. Names are storage keys in config files: never rename one."""
    if name in _REGISTRY:
        raise SettingsError(f"setting {name} registered twice")
    setting = Setting(name, default, type_, help_, scrapy)
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


def config_path() -> Path:
    """``$LIKEWATCH_HOME/config.yaml``."""
    return home() / "config.yaml"


_config: dict[Path, dict[str, Any]] = {}
_config_lock = threading.Lock()


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise SettingsError(f"{path}{line}: not valid YAML: "
                            f"{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of setting names to values")
    _check_names(path, data)
    return data


def _check_names(path: Path, data: dict[str, Any]) -> None:
    """A key that is no setting is a mistake (a typo would otherwise be ignored in silence):
    name it, and the closest setting."""
    import difflib

    _load_catalog()
    for key in data:
        if str(key) in _REGISTRY:
            continue
        close = difflib.get_close_matches(str(key), list(_REGISTRY), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else "; `likewatch settings` lists them"
        raise SettingsError(f"{path}: unknown setting {key!r}{hint}")


def _config_file_values() -> dict[str, Any]:
    path = config_path()
    values = _config.get(path)
    if values is None:
        with _config_lock:
            values = _config.get(path)
            if values is None:
                values = _config[path] = _read_config(path)
    return values


def reload() -> None:
    """Forget what was read from ``config.yaml``: the next :func:`get` parses it again."""
    with _config_lock:
        _config.clear()


def update_config(values: dict[str, Any], *, merge_lists: bool = True) -> Path:
    """Merge ``values`` into ``$LIKEWATCH_HOME/config.yaml`` (atomically) and return its path.

    Lists are merged (existing entries kept, new ones appended) when ``merge_lists``; other
    values replace what was there. This process sees the new values at once; child
    processes (crawls) read the same file.
    """
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    current = dict(_read_config(path))
    for name, value in values.items():
        old = current.get(name)
        if merge_lists and isinstance(value, list) and isinstance(old, list):
            current[name] = old + [v for v in value if v not in old]
        else:
            current[name] = value
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(current, allow_unicode=True, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    reload()
    return path


def allow_loopback() -> Path:
    """Allow-list 127.0.0.1 by configuration, so the sandbox and local receivers are reachable."""
    return update_config({"allow_private_hosts": ["127.0.0.1"]})


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
