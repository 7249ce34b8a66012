"""The Chromium the browser tests drive through Playwright: the one the product launches
(the ``chromium_path`` setting, ``likewatch.guardproxy.CHROMIUM_ARGS``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

from likewatch import settings
from likewatch.guardproxy import CHROMIUM_ARGS


@contextmanager
def launched() -> Iterator[Browser]:
    """A running Chromium, closed afterwards (a module's ``browser`` fixture yields it)."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=settings.get("chromium_path"), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
