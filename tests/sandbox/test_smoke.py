"""The sandbox starts, serves its listing and stops."""

from __future__ import annotations

import urllib.request

from sandbox.server import SandboxServer


def test_server_serves_listing(sandbox_server: SandboxServer) -> None:
    with urllib.request.urlopen(sandbox_server.base_url + "/browse?page=1", timeout=10) as r:
        body = r.read().decode("utf-8")
    assert r.status == 200
    assert body.count('<a class="item" href="/video/') == 24
