"""Contributions a package makes to the ones below it, declared as entry points.

The layers go one way (``docs/architecture.md``, enforced by import-linter in
``make test``): a lower package never imports a higher one. Where a lower package needs a
service that a higher one provides, the higher one declares it as an entry point in
``pyproject.toml`` and the lower one asks for the group here, by name, without knowing who
answers. Three groups exist:

- ``likewatch.commands``: each package's ``register(subparsers)``, gathered by
  ``likewatch/cli.py`` into the one ``likewatch`` command;
- ``likewatch.page_parsers``: ``(url, html) -> (platform, item) | None`` functions that read
  a content page's fields (``crawler.pages.parse_page``, the platform adapters), used by
  evidence capture to fill a manual capture's title, uploader and media URLs;
- ``likewatch.metrics``: ``(catalog) -> [(name, labels, value)]`` functions whose samples
  ``/metrics`` adds to the core's (``likewatch/metrics.py``): adapter health
  (``crawler.health``), alerts by tier (``alerts.metrics``).

A new entry is one line in ``pyproject.toml``; ``make venv`` reinstalls the metadata.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

COMMANDS = "likewatch.commands"
PAGE_PARSERS = "likewatch.page_parsers"
METRICS = "likewatch.metrics"


def declared(group: str) -> list[EntryPoint]:
    """The entry points of ``group``, sorted by name."""
    return sorted(entry_points(group=group), key=lambda ep: ep.name)


def load(group: str) -> list[Any]:
    """The objects declared in ``group``, loaded, in name order."""
    return [ep.load() for ep in declared(group)]
