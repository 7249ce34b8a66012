"""The api role serves the webapp beside the other roles (with /metrics, and /api/health
showing the roles' heartbeats), and stops with the daemon."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

from likewatch.work.db import reset_catalog
from scheduler import daemon


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_api_role_serves_until_the_daemon_stops():
    reset_catalog()
    port = _free_port()
    stop = threading.Event()
    thread = threading.Thread(target=daemon.run, args=(["alerter", "api"],), kwargs={
        "tick": 0.5, "stop": stop, "install_signals": False, "api_port": port})
    thread.start()
    try:
        body, metrics = None, ""
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    body = json.loads(r.read())
                roles = {r["role"]: r for r in body["roles"]}
                if set(roles) == {"alerter", "api"} and roles["alerter"]["last_tick_at"]:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                                timeout=5) as r:
                        metrics = r.read().decode()
                    break
            except OSError:
                pass
            time.sleep(0.1)
        assert body and body["ok"] is True
        assert {r["role"] for r in body["roles"]} == {"alerter", "api"}  # heartbeats
        assert 'likewatch_role_workers{role="api"} 1.0' in metrics
        assert 'likewatch_role_ticks_total{outcome="ok",role="alerter"}' in metrics
    finally:
        stop.set()
        thread.join(timeout=30)
        reset_catalog()
    assert not thread.is_alive()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # no longer listening
