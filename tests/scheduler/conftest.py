"""Fixtures of the scheduler tests: a real PostgreSQL server (Debian's postgresql, started
once per module that asks for it: demo/services.py), and a fresh database per test."""

from __future__ import annotations

import pytest

from demo.services import create_database, postgres_server


@pytest.fixture(scope="module")
def pg_server():
    """Never skipped: without PostgreSQL installed the tests using it fail, saying so."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def pg_url(pg_server, monkeypatch):
    url = create_database(pg_server)
    monkeypatch.setenv("LIKEWATCH_CATALOG_URL", url)
    return url
