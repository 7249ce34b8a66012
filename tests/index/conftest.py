"""Fixtures for the candidate index: both backends, each test on fresh indices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from matchers.index.base import CandidateIndex
from matchers.index.elastic import ElasticsearchIndex
from matchers.index.embedded import EmbeddedIndex
from tests.index.esnode import Node, session_node, unique_prefix


@pytest.fixture(scope="session")
def es_node_info() -> Iterator[Node]:
    """The real Elasticsearch node of this test session (never skipped)."""
    with session_node() as node:
        yield node


@pytest.fixture(scope="session")
def es_url(es_node_info: Node) -> str:
    return es_node_info.url


@pytest.fixture
def es_index(es_url: str, tmp_path: Path) -> Iterator[ElasticsearchIndex]:
    index = ElasticsearchIndex(es_url, prefix=unique_prefix(), queue_path=tmp_path / "queue.db")
    try:
        yield index
    finally:
        index.drop()
        index.close()


@pytest.fixture
def embedded_index(tmp_path: Path) -> Iterator[EmbeddedIndex]:
    index = EmbeddedIndex(tmp_path / "index.sqlite3")
    yield index
    index.close()


@pytest.fixture(params=["embedded", "elasticsearch"])
def index(request: pytest.FixtureRequest) -> CandidateIndex:
    """A fresh, empty index: the contract suite runs once per backend."""
    name = "embedded_index" if request.param == "embedded" else "es_index"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@contextmanager
def open_backend(backend: str, folder: Path, es_url: str | None) -> Iterator[CandidateIndex]:
    """A fresh index of ``backend`` with its files under ``folder``; dropped afterwards."""
    if backend == "embedded":
        with EmbeddedIndex(folder / "index.sqlite3") as emb:
            yield emb
        return
    assert es_url is not None
    es = ElasticsearchIndex(es_url, prefix=unique_prefix(), queue_path=folder / "queue.db")
    try:
        yield es
    finally:
        es.drop()
        es.close()


@pytest.fixture(scope="module", params=["embedded", "elasticsearch"])
def module_index(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[CandidateIndex]:
    """One index per backend shared by a module's read-only tests (creating Elasticsearch
    indices costs about a second each)."""
    url = request.getfixturevalue("es_url") if request.param == "elasticsearch" else None
    with open_backend(request.param, tmp_path_factory.mktemp("index"), url) as index:
        yield index
