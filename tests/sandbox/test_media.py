"""Served media decode: 640x360 JPEG thumbnails, H.264 clips of the stated length with cuts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
import numpy as np
from PIL import Image

from sandbox.server import SandboxServer
from tests.sandbox.helpers import fetch, get_json


def frame_jumps(data: bytes) -> tuple[str, tuple[int, int], float, list[float]]:
    """(codec, size, duration in s, mean absolute difference between consecutive frames)."""
    diffs: list[float] = []
    previous = None
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        codec, size = stream.codec_context.name, (stream.width, stream.height)
        n = 0
        for frame in container.decode(stream):
            gray = np.asarray(frame.to_image().convert("L").resize((80, 45)), dtype=np.float32)
            if previous is not None:
                diffs.append(float(np.abs(gray - previous).mean()))
            previous = gray
            n += 1
        rate = float(stream.average_rate)
    return codec, size, n / rate, diffs


def test_thumbnails_decode(sandbox_server: SandboxServer) -> None:
    for item in get_json(sandbox_server.base_url + "/api/feed?limit=100")["items"][::9]:
        status, _, body = fetch(sandbox_server.base_url + item["thumbnailUrl"])
        assert status == 200
        with Image.open(io.BytesIO(body)) as im:
            im.load()
            assert im.format == "JPEG" and im.size == (640, 360)


def test_videos_decode_with_stated_duration_and_cuts(
        sandbox_server: SandboxServer, sandbox_data: Path) -> None:
    plans = json.loads((sandbox_data / "catalog.json").read_text(encoding="utf-8"))["plans"]
    items = [it for it in get_json(sandbox_server.base_url + "/api/search?q=")["items"]
             if it["videoUrl"]]
    items += [it for it in get_json(sandbox_server.base_url + "/api/feed?limit=100")["items"]
              if it["videoUrl"]]
    assert len(items) >= 10
    for item in items[:12]:
        status, headers, body = fetch(sandbox_server.base_url + item["videoUrl"])
        assert status == 200 and headers["Content-Type"] == "video/mp4"
        codec, size, duration, diffs = frame_jumps(body)
        assert codec == "h264" and size == (640, 360)
        assert 3.0 <= duration <= 6.0
        assert abs(duration - item["duration"]) < 0.1, (item["id"], duration)
        # Hard cuts stand out against the slow zoom inside each scene.
        cuts = len(plans[item["id"]]["video"]["scene_lengths"]) - 1
        big = sum(d > 12 for d in diffs)
        assert 2 <= cuts <= 4 and big == cuts, (item["id"], cuts, sorted(diffs)[-6:])
        # Frames inside a scene are not identical (slight motion).
        assert sum(d > 0.05 for d in diffs) >= len(diffs) // 2
