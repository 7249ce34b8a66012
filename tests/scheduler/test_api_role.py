"""The api role serves the webapp beside the other roles, and stops with the daemon."""

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
        "tick": 1.0, "stop": stop, "install_signals": False, "api_port": port})
    thread.start()
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.1)
        assert body and body["ok"] is True
    finally:
        stop.set()
        thread.join(timeout=30)
        reset_catalog()
    assert not thread.is_alive()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # no longer listening
