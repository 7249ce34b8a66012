"""The search page needs a browser: results exist only after its script runs."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser

from sandbox.faults import FaultConfig
from sandbox.server import SandboxServer
from tests import chromium
from tests.sandbox.helpers import get_json

pytestmark = pytest.mark.browser

RESULTS_JS = "els => els.map(e => [e.getAttribute('href'), e.textContent])"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium.launched() as b:
        yield b


def test_search_results_appear_with_javascript(
        browser: Browser, sandbox_server: SandboxServer) -> None:
    q = "霸道"
    page = browser.new_page()
    response = page.goto(f"{sandbox_server.base_url}/search?q={urllib.parse.quote(q)}")
    assert response is not None and response.status == 200
    page.wait_for_selector("#results a.result", timeout=15_000)
    got = page.eval_on_selector_all("#results a.result", RESULTS_JS)
    api = get_json(f"{sandbox_server.base_url}/api/search?q={urllib.parse.quote(q)}")["items"]
    assert got == [[f"/video/{it['id']}", it["title"]] for it in api]
    assert all(q in title for _, title in got)


def test_search_script_retries_after_429(
        browser: Browser, sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = sandbox_factory(faults=FaultConfig(
        rate_429=1.0, rate_500=0.0, rate_slow=0.0, slow_seconds=0.0, rate_broken_thumbnail=0.0,
        rate_truncated_video=0.0, rate_malformed_state=0.0))
    page = browser.new_page()
    url = f"{server.base_url}/search?q="
    statuses = []
    for _ in range(3):
        response = page.goto(url)
        assert response is not None
        statuses.append(response.status)
    assert statuses == [429, 429, 200]
    # The page's own fetch of /api/search gets 429 twice, waits Retry-After, then succeeds.
    page.wait_for_selector("#results a.result", timeout=15_000)
    assert len(page.query_selector_all("#results a.result")) == 50
    assert server.faults.counts["429"] >= 4  # page, api (and favicon) twice each
