"""Fixtures for the crawler tests: one full crawl per session, reused by several tests.

Crawls run for real: ``crawler.run.crawl`` starts ``python -m crawler.run`` (Scrapy, and
Chromium for search) against a sandbox served on 127.0.0.1 from this process. The sandbox is
reachable only because the tests put 127.0.0.1 in ``allow_private_hosts`` (through the
environment, as a deployment would), never through a hole in the URL guard.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.faults import FaultConfig
from sandbox.server import SandboxServer


class RequestLog(logging.Handler):
    """Collects the request lines the in-process sandbox logs (logger ``sandbox.http``)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def paths(self, prefix: str = "") -> list[str]:
        """Requested paths (from '"GET /path HTTP/1.1" 200 -' lines) starting with prefix."""
        out = []
        for line in self.lines:
            if '"GET ' in line:
                path = line.split('"GET ', 1)[1].split(" ", 1)[0]
                if path.startswith(prefix):
                    out.append(path)
        return out

    def clear(self) -> None:
        self.lines.clear()


@contextlib.contextmanager
def sandbox_log(handler: logging.Handler) -> Iterator[None]:
    """``handler`` receives every request line the in-process sandbox logs, meanwhile."""
    logger = logging.getLogger("sandbox.http")
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


@pytest.fixture(scope="session")
def request_log() -> Iterator[RequestLog]:
    handler = RequestLog()
    with sandbox_log(handler):
        yield handler


@pytest.fixture(scope="session")
def session_sandbox(sandbox_data: Path) -> Iterator[SandboxServer]:
    """The DEFAULT sandbox (seed 1, its default small fault rates) for the whole session;
    nothing publishes on it."""
    with SandboxServer(sandbox_data, seed=1, faults=FaultConfig()) as server:
        yield server


def fault_sets(server: SandboxServer, items: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Which of ``items`` the server spoils for good: malformed state, broken thumbnail,
    truncated video (the latter two only among items whose state parses)."""
    plan = server.faults
    malformed = {i["id"] for i in items if plan.malformed_state(i["id"])}
    ok = [i for i in items if i["id"] not in malformed]
    return {
        "malformed": malformed,
        "broken": {i["id"] for i in ok if plan.broken_thumbnail(i["id"])},
        "truncated": {i["id"] for i in ok if i["videoUrl"] and plan.truncated_video(i["id"])},
    }


def run_crawl(home: Path, url: str, allow: str = "127.0.0.1", **kwargs: Any) -> dict[str, Any]:
    """crawl() with LIKEWATCH_HOME and the allow-list set as a deployment would set them."""
    from crawler.run import crawl

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIKEWATCH_HOME", str(home))
        mp.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", allow)
        return crawl(url, timeout=300, **kwargs)


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crawl-home")


@pytest.fixture(scope="session")
def full_crawl(
    session_sandbox: SandboxServer, session_home: Path, request_log: RequestLog
) -> dict[str, Any]:
    """One full listing crawl of the default sandbox into ``session_home``."""
    request_log.clear()
    summary = run_crawl(session_home, session_sandbox.base_url)
    summary["_requested"] = list(request_log.paths())
    return summary


@pytest.fixture
def use_home(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point this test's LIKEWATCH_HOME at another home (e.g. the session's)."""

    def use(home: Path) -> Path:
        monkeypatch.setenv("LIKEWATCH_HOME", str(home))
        return home

    return use


def environ_home() -> Path:
    return Path(os.environ["LIKEWATCH_HOME"])
