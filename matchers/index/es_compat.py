"""Talking to Elasticsearch 8.x servers with the 9.x Python client.

The client marks every request ``Accept`` / ``Content-Type:
application/vnd.elasticsearch+json; compatible-with=9`` (REST API compatibility), which an
8.x server refuses ("Accept version must be either version 8 or 7, but found 9"). A
machine without Java >= 21 runs Elasticsearch 8.19 (deploy/es-node), so the transport
node here asks its server's major version once (a plain ``application/json`` request to
the nodes info API: ``GET /`` answers 405 on the integ-test distribution) and, for an
older server, asks for that server's own version instead. Everything else (the API calls,
their bodies) is the same for 8.19 and 9.5: the contract suite runs on both.
"""

from __future__ import annotations

import json
import re
import threading
from importlib import metadata

from elastic_transport import HttpHeaders, NodeConfig, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse
from elastic_transport.client_utils import DEFAULT, DefaultType

CLIENT_MAJOR = int(metadata.version("elasticsearch").split(".")[0])
_VERSION_TARGET = "/_nodes/_local?filter_path=nodes.*.version"
_COMPAT = re.compile(r"compatible-with=\d+")


def server_major(body: bytes) -> int:
    """The major version in a nodes info answer (``{"nodes": {id: {"version": ...}}}``)."""
    nodes = json.loads(body or b"{}").get("nodes") or {}
    versions = [str(n.get("version", "")) for n in nodes.values()]
    if not versions or not versions[0].split(".")[0].isdigit():
        raise ValueError(f"no node version in {body[:200]!r}")
    return int(versions[0].split(".")[0])


def compat_headers(headers: HttpHeaders | None, major: int) -> HttpHeaders | None:
    """``headers`` asking for REST API version ``major`` instead of the client's."""
    if headers is None or major >= CLIENT_MAJOR:
        return headers
    out = headers.copy()
    for name in ("accept", "content-type"):
        value = out.get(name)
        if value:
            out[name] = _COMPAT.sub(f"compatible-with={major}", value)
    return out


class CompatNode(Urllib3HttpNode):
    """The client's default HTTP node, speaking the REST API version of its server."""

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self._major: int | None = None
        self._lock = threading.Lock()

    def _detect(self, request_timeout: float | None | DefaultType) -> int:
        with self._lock:
            if self._major is None:
                resp = super().perform_request(
                    "GET", _VERSION_TARGET, headers=HttpHeaders({"accept": "application/json"}),
                    request_timeout=request_timeout)
                try:
                    self._major = server_major(resp.body) if resp.meta.status == 200 else None
                except ValueError:
                    self._major = None
                # Not an answer we understand (auth, a proxy): the headers stay as the
                # client made them, and the server says what it thinks of them.
                self._major = self._major or CLIENT_MAJOR
            return self._major

    def perform_request(self, method: str, target: str, body: bytes | None = None,
                        headers: HttpHeaders | None = None,
                        request_timeout: float | None | DefaultType = DEFAULT,
                        ) -> NodeApiResponse:
        major = self._major if self._major is not None else self._detect(request_timeout)
        return super().perform_request(method, target, body=body,
                                       headers=compat_headers(headers, major),
                                       request_timeout=request_timeout)
