"""Browser readiness checks of the adapters run in a real Chromium against their fixtures,
served at their real URLs by request interception (nothing leaves the machine)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.platforms.adapters_util import all_adapters, fixture_path

# Pages that are rendered in the browser: every page of a NEEDS_BROWSER adapter, the search
# pages of one whose search mode alone needs it.
READY = [(name, cls, case) for name, cls in sorted(all_adapters().items())
         if cls.BROWSER_READY for case in cls.TESTS
         if cls.NEEDS_BROWSER or (cls.SEARCH_NEEDS_BROWSER and "/search" in case["url"])]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from tests import chromium

    with chromium.launched() as b:
        yield b


@pytest.mark.browser
@pytest.mark.parametrize(("name", "cls", "case"), READY,
                         ids=[f"{n}-{i}" for i, (n, _c, _k) in enumerate(READY)])
def test_browser_ready_holds_on_the_rendered_fixture(browser: Any, name: str, cls: Any,
                                                     case: dict) -> None:
    body = fixture_path(cls, case).read_text(encoding="utf-8")
    page = browser.new_page()
    try:
        def serve(route: Any) -> None:
            if route.request.url == case["url"]:
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)
            else:
                route.abort()  # scripts, images: no network in tests

        page.route("**/*", serve)
        page.goto(case["url"], wait_until="load")
        assert page.evaluate(f"({cls.BROWSER_READY})()") is True
        # and on a feed or search page whose results are not rendered yet, it is not ready
        if cls.NEEDS_BROWSER and any(p in case["url"] for p in ("/search", "/profile")):
            page.set_content("<html><body><div id='root'></div></body></html>")
            assert page.evaluate(f"({cls.BROWSER_READY})()") is False
    finally:
        page.close()
