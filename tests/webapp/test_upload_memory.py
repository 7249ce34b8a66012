"""Finding 4 (photo search) of issue 14: a request body is bounded before it is read,
uploads are decoded a few at a time, and nothing decoded is kept. A real server
(`likewatch serve`) on loopback, searched with an analyst's token as the desk requires."""

from __future__ import annotations

import concurrent.futures
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from likewatch.catalog import Catalog
from webapp.accounts import service

LIKEWATCH = str(Path(sys.executable).parent / "likewatch")
PHOTO_LIMIT = (20 << 20) + 65536  # webapp.search.routes.BODY_LIMITS
BOUNDARY = "b0undary"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _analyst_token(home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An analyst of one client, in the server's catalog (made before it starts)."""
    from alerts import registry

    monkeypatch.setenv("LIKEWATCH_HOME", str(home))
    with Catalog.open() as cat:
        registry.add_client(cat, "Star Studio", "studio")
        service.add_user(cat, "analyst@example.com", role="analyst", client="Star Studio")
        return service.create_token(cat, "analyst@example.com")[0]


def multipart(data: bytes, name: str = "x.png") -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n").encode() \
        + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def part_head() -> bytes:
    """The start of a multipart body, up to where the file's bytes begin."""
    return multipart(b"").partition(b"\r\n\r\n")[0] + b"\r\n\r\n"


class Server:
    def __init__(self, home: Path, token: str, **env: str) -> None:
        self.port = _free_port()
        self.token = token
        self.proc = subprocess.Popen(
            [LIKEWATCH, "serve", "--port", str(self.port)],
            env=dict(os.environ, LIKEWATCH_HOME=str(home), **env),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/api/health", timeout=2).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.2)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def memory_mb(self) -> dict[str, float]:
        """VmRSS (now) and VmHWM (peak) of the server process, in MB."""
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
        return out

    def post(self, body: bytes) -> tuple[int, bytes]:
        """POST the multipart body on a keep-alive connection (urllib's ``Connection:
        close`` would have the server close it, unread body and all, once it answered)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request("POST", "/api/search/by-photo", body=body, headers={
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Authorization": f"Bearer {self.token}"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def raw(self, headers: dict[str, str], send: Iterator[bytes]) -> tuple[int, dict[str, str]]:
        """Send the request line, ``headers`` and what ``send`` yields (stopping early if
        the server stops reading), then read the answer: (status, JSON body)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
            head = "".join(f"{k}: {v}\r\n" for k, v in {
                "Host": "127.0.0.1", "Authorization": f"Bearer {self.token}",
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **headers}.items())
            sock.sendall(f"POST /api/search/by-photo HTTP/1.1\r\n{head}\r\n".encode())
            try:
                for piece in send:
                    sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed: read what it said
            answer = b""
            while b"\r\n\r\n" not in answer or not _complete(answer):
                data = sock.recv(65536)  # a server still waiting for the body: timeout
                if not data:
                    break
                answer += data
        status = int(answer.split(b" ", 2)[1])
        return status, json.loads(answer.partition(b"\r\n\r\n")[2])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    home = tmp_path / "home"
    srv = Server(home, _analyst_token(home, monkeypatch),
                 LIKEWATCH_PHOTO_SEARCH_CONCURRENCY="1")
    yield srv
    srv.stop()


def _png(w: int, h: int) -> bytes:
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 255 // w, y * 255 // h, (x + y) % 256], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def test_an_upload_over_the_limit_is_refused_unread(server: Server) -> None:
    status, reply = server.post(multipart(b"\0" * (25 << 20)))
    assert status == 413 and json.loads(reply) == {
        "error": f"request body larger than {PHOTO_LIMIT} bytes"}
    assert server.memory_mb()["VmHWM"] < 400  # not 25 MB per copy held and parsed


def test_a_declared_length_over_the_limit_is_answered_before_the_body_is_sent(
        server: Server) -> None:
    status, body = server.raw({"Content-Length": str(10 << 30)}, iter([part_head()]))
    assert status == 413 and "larger than" in body["error"]


def test_a_chunked_body_is_cut_off_where_it_passes_the_limit(server: Server) -> None:
    def chunks() -> Iterator[bytes]:  # the body never ends: only the limit answers it
        piece = b"\0" * (1 << 20)
        yield b"%x\r\n%s\r\n" % (len(part_head()), part_head())
        for _ in range(PHOTO_LIMIT // len(piece) + 2):
            yield b"%x\r\n%s\r\n" % (len(piece), piece)

    status, body = server.raw({"Transfer-Encoding": "chunked"}, chunks())
    assert status == 413 and body == {"error": f"request body larger than {PHOTO_LIMIT} bytes"}


def test_forty_megapixel_pngs_are_refused_from_their_headers(server: Server) -> None:
    png = multipart(_png(7999, 5000))  # 40 Mpix: past the limit for PNG (decoded in full)
    before = server.memory_mb()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: server.post(png), range(8)))
    assert {status for status, _ in replies} == {400}
    assert all("image too large" in json.loads(reply)["error"] for _, reply in replies)
    after = server.memory_mb()
    print(f"server memory before {before}, after eight 40 MP PNGs {after} (MB)")
    assert after["VmHWM"] < before["VmHWM"] + 100  # no pixel decoded


@pytest.mark.slow
def test_eight_large_pngs_at_once_cost_what_one_does(server: Server) -> None:
    w, h = 4999, 3200  # 16 Mpix: the largest PNG decoded (in full)
    picture_mb = w * h * 3 / 2**20  # one decoded picture, RGB
    png = multipart(_png(w, h))
    assert server.post(png)[0] == 200
    one = server.memory_mb()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: server.post(png)[0], range(8)))
    assert codes == [200] * 8
    eight = server.memory_mb()
    print(f"server memory after one 16 MP upload {one}, after eight at once {eight} (MB); "
          f"one picture decoded: {picture_mb:.0f} MB")
    # decoded one at a time (the setting is 1): the peak of eight is the peak of one
    assert eight["VmHWM"] < one["VmHWM"] + picture_mb
    # and nothing decoded is kept: freed memory is handed back (malloc_trim) after each
    assert eight["VmRSS"] < one["VmRSS"] + picture_mb
