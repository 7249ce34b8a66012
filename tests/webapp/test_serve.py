"""The acceptance, against `likewatch serve` as its own process on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from likewatch.catalog import Catalog
from tests.webapp import world


def get(url: str, token: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}
                                 if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_likewatch_serve_acceptance(shared_data: Path) -> None:
    with Catalog.open() as cat:
        w = world.build(cat, shared_data / "faces")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "likewatch.cli", "serve", "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(f"{base}/api/health")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "likewatch serve did not answer in 60 s"
            time.sleep(0.3)
        for path in ("/api/alerts", "/api/persons", "/api/search?q=x"):
            assert get(base + path)[0] == 401, path
        token_a = w.tokens["owner_a"]
        status, body = get(f"{base}/api/alerts", token_a)
        assert status == 200 and {a["id"] for a in body["alerts"]} == set(w.alerts[world.A])
        status, body = get(f"{base}/api/persons", token_a)
        assert [(p["key"], p["client"]) for p in body["persons"]] == [("demo-a", world.A)]
        for ref in (*w.alerts[world.B], *map(str, w.numbers[world.B])):
            assert get(f"{base}/api/alerts/{ref}", token_a)[0] in (403, 404)
        assert get(f"{base}/api/persons/{w.persons[world.B]}", token_a)[0] in (403, 404)
        status, spec = get(f"{base}/openapi.json", token_a)
        assert status == 200
        validate(spec)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
