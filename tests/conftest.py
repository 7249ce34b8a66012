"""Shared fixtures. Every test gets its own LIKEWATCH_HOME so nothing leaks between tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]

# Property-based tests (Hypothesis) over the parsers and checkers that read foreign bytes:
# a bounded, reproducible run in `make test`; `make fuzz` selects the long profile.
settings.register_profile("default", max_examples=25, deadline=None, derandomize=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("LIKEWATCH_HYPOTHESIS_PROFILE", "default"))
SHARED_DATA = REPO.parent / "shared" / "data"

pytest_plugins = ["tests.sandbox_plugin"]


@pytest.fixture(autouse=True)
def likewatch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "likewatch-home"
    home.mkdir()
    before = {k: v for k, v in os.environ.items() if k.startswith("LIKEWATCH_")}
    monkeypatch.setenv("LIKEWATCH_HOME", str(home))
    yield home
    # Settings are read from the environment: one test changing it by hand must not change
    # what the next one sees (that made results depend on test order once).
    for key in [k for k in os.environ if k.startswith("LIKEWATCH_")]:
        if key not in before:
            del os.environ[key]
    os.environ.update(before)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared test data not found at {SHARED_DATA} (expected beside the repo)")
    return SHARED_DATA
