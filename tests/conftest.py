"""Shared fixtures. Every test gets its own LIKEWATCH_HOME so nothing leaks between tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

pytest_plugins = ["tests.sandbox_plugin"]


@pytest.fixture(autouse=True)
def likewatch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "likewatch-home"
    home.mkdir()
    monkeypatch.setenv("LIKEWATCH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared test data not found at {SHARED_DATA} (expected beside the repo)")
    return SHARED_DATA
