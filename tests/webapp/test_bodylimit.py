"""The request body limit (webapp/bodylimit.py): a declared length over it is refused
unread, a chunked body is counted and cut off where it passes, and the client gets a 413
JSON error whatever the application made of the cut-off body. On the middleware itself,
then through the desk."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.webapp.conftest import Desk
from webapp.bodylimit import BodyLimit, BodyTooLarge


class Echo:
    """An application that reads the whole body and answers its length."""

    def __init__(self, swallow: bool = False) -> None:
        self.calls = 0
        self.read = 0
        self.swallow = swallow  # like FastAPI: a failed body read becomes the app's own 400

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        status, body = 200, b""
        try:
            while True:
                message = await receive()
                self.read += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body = str(self.read).encode()
        except BodyTooLarge:
            if not self.swallow:
                raise
            status, body = 400, b"There was an error parsing the body"
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})


def run(app: Any, body: list[bytes], *, length: int | None = None,
        path: str = "/x") -> tuple[int, bytes, int]:
    """(status, answer, body messages the server was asked for)."""
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    pending = list(body)
    asked = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        chunk = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], answer, asked


def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs() -> None:
    inner = Echo()
    status, answer, asked = run(BodyLimit(inner, default=lambda: 1000), [b"x" * 10],
                                length=1001)
    assert (status, inner.calls, asked) == (413, 0, 0)
    assert json.loads(answer) == {"error": "request body larger than 1000 bytes"}


@pytest.mark.parametrize("swallow", [False, True])
def test_a_chunked_body_is_cut_off_where_it_passes_the_limit(swallow: bool) -> None:
    inner = Echo(swallow)
    chunks = [b"x" * 400] * 100  # 40 000 bytes announced by no header
    status, answer, asked = run(BodyLimit(inner, default=lambda: 1000), chunks)
    assert status == 413 and "larger than 1000 bytes" in json.loads(answer)["error"]
    assert asked == 3 and inner.read == 800  # the third chunk passed it: never handed over


def test_a_body_within_the_limit_passes_untouched() -> None:
    assert run(BodyLimit(Echo(), default=lambda: 1000), [b"x" * 500, b"y" * 500],
               length=1000) == (200, b"1000", 2)
    assert run(BodyLimit(Echo(), default=lambda: 1000), [b"x" * 500, b"y" * 500]) \
        == (200, b"1000", 2)


def test_a_path_may_have_a_lower_limit() -> None:
    app = BodyLimit(Echo(), limits={"/photo": 100}, default=lambda: 1000)
    assert run(app, [b"x" * 500], path="/photo")[0] == 413
    assert run(app, [b"x" * 500], path="/other")[0] == 200


def test_the_desk_refuses_a_body_over_the_setting(desk: Desk,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWATCH_WEBAPP_MAX_BODY_BYTES", "5000")
    owner = desk.client(desk.world.tokens["owner_a"])
    files = [("photos", ("a.jpg", b"\xff" * 6000, "image/jpeg"))]
    resp = owner.post("/api/persons", data={"client": "x", "person": "p"}, files=files)
    assert resp.status_code == 413
    assert resp.json()["error"] == "request body larger than 5000 bytes"
    resp = owner.post("/api/persons", data={"client": "no such client", "person": "p"},
                      files=[("photos", ("a.jpg", b"\xff" * 100, "image/jpeg"))])
    assert resp.status_code == 404  # under the limit: the route answers


def test_the_photo_search_takes_one_image_of_at_most_20_mb(desk: Desk) -> None:
    analyst = desk.client(desk.world.tokens["analyst_a"])
    big = b"\0" * (21 << 20)
    resp = analyst.post("/api/search/by-photo", files={"file": ("x.png", big, "image/png")})
    assert resp.json() == {"error": f"request body larger than {(20 << 20) + 65536} bytes"}
    just_over = b"\0" * ((20 << 20) + 1)  # within the body limit, over the file's
    resp = analyst.post("/api/search/by-photo", files={"file": ("x.png", just_over, "image/png")})
    assert resp.status_code == 413
    assert resp.json() == {"error": f"upload larger than {20 << 20} bytes"}
    resp = analyst.post("/api/search/by-photo", files={"file": ("x.png", b"", "image/png")})
    assert resp.status_code == 400 and "no image uploaded" in resp.json()["error"]
