"""Small HTTP helpers for the sandbox tests (stdlib only, so they test the server alone)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

NEXT_DATA = re.compile(
    r'<script id="__NEXT_DATA__" type="application/json">(.*?)</script>', re.S)


def fetch(url: str, timeout: float = 15) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET, without raising on HTTP error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


def get_json(url: str) -> Any:
    status, _, body = fetch(url)
    assert status == 200, (url, status, body[:200])
    return json.loads(body.decode("utf-8"))


def get_text(url: str) -> str:
    status, _, body = fetch(url)
    assert status == 200, (url, status)
    return body.decode("utf-8")


def next_data(html: str) -> dict[str, Any]:
    """The item in a detail page's `__NEXT_DATA__` (raises ValueError when malformed)."""
    match = NEXT_DATA.search(html)
    if match is None:
        raise ValueError("no __NEXT_DATA__ script")
    return json.loads(match.group(1))["props"]["pageProps"]["item"]  # type: ignore[no-any-return]
