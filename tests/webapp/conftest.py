"""The desk with two tenants, shared by a module's tests (building it enrols real photos)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from likewatch.catalog import Catalog
from matchers.index import open_index
from matchers.index.base import CandidateIndex
from tests.conftest import SHARED_DATA
from tests.webapp import world
from webapp.app import create_app


@dataclass
class Desk:
    catalog: Catalog
    index: CandidateIndex
    world: world.World
    app: Any
    home: Path

    def client(self, token: str | None = None, **kwargs: Any) -> TestClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return TestClient(self.app, base_url="https://testserver", headers=headers, **kwargs)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    home = tmp_path_factory.mktemp("desk-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIKEWATCH_HOME", str(home))
        catalog = Catalog.open()
        index = open_index("embedded")
        try:
            w = world.build(catalog, SHARED_DATA / "faces")
            from matchers.index.sync import sync_catalog

            sync_catalog(catalog, index, full=True)
            app = create_app(catalog, index, allowed_hosts=["testserver", "127.0.0.1"],
                             secure_cookies=True)
            yield Desk(catalog, index, w, app, home)
        finally:
            index.close()
            catalog.close()
