"""A real Elasticsearch node for the tests: the one deploy/run-tests.sh started
(LIKEWATCH_TEST_ES_URL), or one started here with deploy/es-node on a free port."""

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
    url: str
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
