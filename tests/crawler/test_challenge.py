"""A 200 page that is really a captcha / verify page is counted as ``challenged``.

Real crawls against the sandbox, which answers some detail pages with a small 200
"安全验证" page (``FaultConfig.rate_challenge``), as platforms do to suspected crawlers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from crawler.health import platform_health, record_crawl
from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate
from sandbox.faults import FaultConfig
from sandbox.server import SandboxServer
from tests.crawler.conftest import run_crawl


def _ids(home: Path) -> set[str]:
    with Catalog.open(home=home) as catalog, catalog.session() as s:
        return {c.item_id for c in s.scalars(select(Candidate)).all()}


def test_verify_pages_are_challenged_not_parse_errors_and_retried(
    sandbox_factory: Callable[..., SandboxServer], likewatch_home: Path
) -> None:
    faults = FaultConfig(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, rate_challenge=0.3)
    server = sandbox_factory(faults=faults)
    items = [i["id"] for i in server.published()[::-1][:24]]  # the first listing page
    challenged = {i for i in items if server.faults.challenged(i, 0)}
    assert 0 < len(challenged) < 24  # the seed gives some of each

    first = run_crawl(likewatch_home, server.base_url, max_pages=1)
    assert first["errors"].get("challenged") == len(challenged)
    assert "parse_error" not in first["errors"]
    assert _ids(likewatch_home) == set(items) - challenged

    with Catalog.open(home=likewatch_home) as catalog:
        record_crawl(catalog, {**first, "platform": "sandbox"})
        (report,) = platform_health(catalog)
    assert report.challenged == len(challenged)

    # the next crawl asks for them again (not given up on, as a parse error would be)
    second = run_crawl(likewatch_home, server.base_url, max_pages=1,
                       extra_settings={"LIKEWATCH_MAX_PARSE_ATTEMPTS": 1})
    again = {i for i in challenged if server.faults.challenged(i, 1)}
    assert second["detail_pages"] == len(challenged)
    assert second["errors"].get("challenged", 0) == len(again)
    assert _ids(likewatch_home) == set(items) - again
