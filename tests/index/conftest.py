"""Fixtures for the candidate index: both backends, each test on fresh indices.

The backend-parametrized fixtures (``index``, ``module_index``: the contract suite) run
each test on the embedded store, on one Elasticsearch node, and on a cluster of three
(marked ``cluster``: ``-m "not cluster"`` leaves it out)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from matchers.index.base import CandidateIndex
from matchers.index.elastic import ElasticsearchIndex
from matchers.index.embedded import EmbeddedIndex
from tests.index.esnode import Node, session_cluster, session_node, unique_prefix

BACKENDS = ["embedded", "elasticsearch",
            pytest.param("es-cluster", marks=[pytest.mark.cluster, pytest.mark.elasticsearch])]


@pytest.fixture(scope="session")
def es_node_info() -> Iterator[Node]:
    """The real Elasticsearch node of this test session (never skipped)."""
    with session_node() as node:
        yield node


@pytest.fixture(scope="session")
def es_url(es_node_info: Node) -> str:
    return es_node_info.url


@pytest.fixture(scope="session")
def es_cluster_info() -> Iterator[Node]:
    """A real three-node Elasticsearch cluster of this test session (never skipped)."""
    with session_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def es_cluster_url(es_cluster_info: Node) -> str:
    return es_cluster_info.url


def _es_index(url: str, folder: Path) -> Iterator[ElasticsearchIndex]:
    index = ElasticsearchIndex(url, prefix=unique_prefix(), queue_path=folder / "queue.db")
    try:
        yield index
    finally:
        index.drop()
        index.close()


@pytest.fixture
def es_index(es_url: str, tmp_path: Path) -> Iterator[ElasticsearchIndex]:
    yield from _es_index(es_url, tmp_path)


@pytest.fixture
def es_cluster_index(es_cluster_url: str, tmp_path: Path) -> Iterator[ElasticsearchIndex]:
    yield from _es_index(es_cluster_url, tmp_path)


@pytest.fixture
def embedded_index(tmp_path: Path) -> Iterator[EmbeddedIndex]:
    index = EmbeddedIndex(tmp_path / "index.sqlite3")
    yield index
    index.close()


_FIXTURE = {"embedded": "embedded_index", "elasticsearch": "es_index",
            "es-cluster": "es_cluster_index"}
_URL = {"elasticsearch": "es_url", "es-cluster": "es_cluster_url"}


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest) -> CandidateIndex:
    """A fresh, empty index: the contract suite runs once per backend."""
    return request.getfixturevalue(_FIXTURE[request.param])  # type: ignore[no-any-return]


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


@pytest.fixture(scope="module", params=BACKENDS)
def module_index(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[CandidateIndex]:
    """One index per backend shared by a module's read-only tests (creating Elasticsearch
    indices costs about a second each)."""
    url = request.getfixturevalue(_URL[request.param]) if request.param in _URL else None
    backend = "embedded" if request.param == "embedded" else "elasticsearch"
    with open_backend(backend, tmp_path_factory.mktemp("index"), url) as index:
        yield index
