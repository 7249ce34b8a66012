"""Real Elasticsearch for the tests: the node deploy/run-tests.sh started
(LIKEWATCH_TEST_ES_URL), or one started here with deploy/es-node on a free port; and a
cluster of three nodes (LIKEWATCH_TEST_ES_CLUSTER_URL, else started here with
``deploy/es-node cluster start``)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ES_NODE = REPO / "deploy" / "es-node"


def es_node(*args: str, timeout: float = 300) -> str:
    """Run deploy/es-node; its output, or an AssertionError with what it printed."""
    proc = subprocess.run([str(ES_NODE), *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"deploy/es-node {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout.strip()


@contextmanager
def running_node(name: str) -> Iterator[str]:
    """Start node ``name`` on a free port, yield its URL, stop it afterwards."""
    es_node("start", "--name", name, "--port", "auto", "--fresh")
    try:
        yield es_node("url", "--name", name)
    finally:
        es_node("stop", "--name", name)


@dataclass(frozen=True)
class Node:
    url: str  # a cluster's: every node's URL, comma-separated
    name: str  # the deploy/es-node --name, so a test can stop and restart it

    @property
    def port(self) -> str:
        return self.url.rsplit(":", 1)[1]


@contextmanager
def session_node() -> Iterator[Node]:
    """The node deploy/run-tests.sh started (LIKEWATCH_TEST_ES_URL and _NODE), else our own."""
    url = os.environ.get("LIKEWATCH_TEST_ES_URL")
    if url:
        yield Node(url, os.environ.get("LIKEWATCH_TEST_ES_NODE", "test"))
        return
    name = f"pytest-{os.getpid()}"
    with running_node(name) as url:
        yield Node(url, name)


def unique_prefix() -> str:
    return f"lwtest-{uuid.uuid4().hex[:10]}"


@contextmanager
def session_cluster() -> Iterator[Node]:
    """The cluster deploy/run-tests.sh started (LIKEWATCH_TEST_ES_CLUSTER_URL and
    LIKEWATCH_TEST_ES_CLUSTER, its name), else three nodes started here (a minute or more
    on a loaded machine), deleted afterwards."""
    url = os.environ.get("LIKEWATCH_TEST_ES_CLUSTER_URL")
    if url:
        yield Node(url, os.environ.get("LIKEWATCH_TEST_ES_CLUSTER", "test-cluster"))
        return
    name = f"pytest-c{os.getpid()}"
    es_node("cluster", "start", "--name", name, "--nodes", "3", "--fresh", timeout=900)
    try:
        yield Node(es_node("cluster", "url", "--name", name), name)
    finally:
        es_node("cluster", "delete", "--name", name, timeout=120)
