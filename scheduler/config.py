"""Small helpers for writing `$LIKEWATCH_HOME/config.yaml` (used by the demo and benches)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from likewatch import settings


def update_config(values: dict[str, Any], *, merge_lists: bool = True) -> Path:
    """Merge ``values`` into ``$LIKEWATCH_HOME/config.yaml`` and return its path.

    Lists are merged (existing entries kept, new ones appended) when ``merge_lists``; other
    values replace what was there. Child processes (crawls) read the same file.
    """
    home = settings.home()
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.yaml"
    current: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(loaded, dict):
            current = loaded
    for name, value in values.items():
        old = current.get(name)
        if merge_lists and isinstance(value, list) and isinstance(old, list):
            current[name] = old + [v for v in value if v not in old]
        else:
            current[name] = value
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(current, allow_unicode=True, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path


def allow_loopback() -> Path:
    """Allow-list 127.0.0.1 by configuration, so the sandbox and local receivers are reachable."""
    return update_config({"allow_private_hosts": ["127.0.0.1"]})
