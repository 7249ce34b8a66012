"""Pytest fixtures for tests that need the sandbox platform.

- ``sandbox_data`` (session): the generated data directory for seed 1. Generation takes
  about half a minute, so it happens once: the directory is the one the demo uses too
  (``.cache/sandbox/seed-1``, :func:`sandbox.generate.default_data_dir`) and is reused
  while its stamp matches the generator's code. ``LIKEWATCH_SANDBOX_DATA`` overrides it.
- ``sandbox_server`` (function): a started :class:`SandboxServer` on an ephemeral port,
  faults off, stopped after the test.
- ``sandbox_factory`` (function): ``sandbox_factory(faults=..., publish_every=...)`` starts
  more servers on the same data, each stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.faults import FaultConfig
from sandbox.generate import default_data_dir, ensure_generated
from sandbox.server import SandboxServer

SANDBOX_SEED = 1


@pytest.fixture(scope="session")
def sandbox_data() -> Path:
    """The sandbox data directory for seed 1, generated at most once."""
    path = default_data_dir(SANDBOX_SEED)
    ensure_generated(path, SANDBOX_SEED)
    return path


@pytest.fixture
def sandbox_factory(sandbox_data: Path) -> Iterator[Callable[..., SandboxServer]]:
    """Start sandbox servers on the session data dir (faults off unless given)."""
    started: list[SandboxServer] = []

    def make(**kwargs: Any) -> SandboxServer:
        kwargs.setdefault("faults", FaultConfig.none())
        kwargs.setdefault("seed", SANDBOX_SEED)
        server = SandboxServer(sandbox_data, **kwargs)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def sandbox_server(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    """A running sandbox (seed 1, no faults) on an ephemeral port of 127.0.0.1."""
    return sandbox_factory()
