"""Finding 4 (photo search) of issue 14: uploads are read with a byte limit, decoded a few
at a time, and nothing decoded is kept. A real server (`likewatch serve`) on loopback."""

from __future__ import annotations

import concurrent.futures
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

LIKEWATCH = str(Path(sys.executable).parent / "likewatch")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, home: Path, **env: str) -> None:
        self.port = _free_port()
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

    def post(self, body: bytes, ctype: str) -> tuple[int, bytes]:
        req = urllib.request.Request(f"{self.base}/api/search/by-photo", data=body,
                                     method="POST", headers={"Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "home", LIKEWATCH_PHOTO_SEARCH_CONCURRENCY="1")
    yield srv
    srv.stop()


def _png_40mp() -> bytes:
    w, h = 7999, 5000  # 39.995 megapixels, just under the decoder's limit
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 255 // w, y * 255 // h, (x + y) % 256], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def test_a_multipart_upload_over_the_limit_is_refused_while_reading(server: Server) -> None:
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n").encode() \
        + b"\0" * (25 << 20) + f"\r\n--{boundary}--\r\n".encode()
    status, reply = server.post(body, f"multipart/form-data; boundary={boundary}")
    assert status == 413 and "larger than" in json.loads(reply)["error"]
    assert server.memory_mb()["VmHWM"] < 400  # not 25 MB per copy held and parsed


@pytest.mark.slow
def test_eight_40_megapixel_pngs_at_once_cost_what_one_does(server: Server) -> None:
    png = _png_40mp()
    assert server.post(png, "image/png")[0] == 200
    one = server.memory_mb()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: server.post(png, "image/png")[0], range(8)))
    assert codes == [200] * 8
    eight = server.memory_mb()
    print(f"server memory after one 40 MP upload {one}, after eight at once {eight} (MB)")
    assert eight["VmHWM"] < one["VmHWM"] + 100  # decoded one at a time (the setting is 1)
    assert eight["VmRSS"] < one["VmRSS"] + 100  # nothing decoded is kept
