"""Peak memory under the hostile inputs of issue 14 (finding 4), against the issue's figures.

    .venv/bin/python bench/hostile_memory.py [--only scan,match-pending,verify,server]

Each command runs as its own process in a fresh LIKEWATCH_HOME; its peak resident set is
``ru_maxrss`` of that process (``tests.hostile.run_measured``), the server's is its VmHWM.
The inputs are made here, on loopback and in temporary folders:

- scan and match-pending: a ~10 MB 720p H.264 MP4 whose every frame is an IDR keyframe
  showing something new (2 a second), with one enrolled person's face pasted in;
- evidence verify: a sealed bundle with a deflated 1 GiB member (about 1 MB on disk);
- the photo search (``likewatch serve``, an analyst's token): eight 40-megapixel PNGs at
  once (refused from their headers; the issue's input), then eight 16-megapixel PNGs (the
  largest decoded; compared with the same 1.3 GB).

Two ratios are printed per figure: to the figure issue 14 measured before the fix (2.3 GB
scan, 4.0 GB match-pending, 3.2 GB verify, 1.3 GB server), and to a baseline measured in
the same run, the same command on a benign input (one photo, one thumbnail, a small valid
bundle, the server after one small search): near 1 means the hostile input costs about
what any input costs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the test helpers that build sealed bundles and servers

import av  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tests.hostile import run_measured  # noqa: E402

LIKEWATCH = str(Path(sys.executable).parent / "likewatch")
FACE = REPO / "sandbox" / "assets" / "faces" / "A000370_1.jpg"
PDQ = REPO.parent / "shared" / "data" / "pdq"
ISSUE_MB = {"scan": 2300, "match-pending": 4000, "verify": 3200, "server": 1300}


def keyframe_video(path: Path, target_bytes: int = 10 << 20) -> Path:
    """720p, every frame a keyframe with new content, until ``target_bytes`` of packets."""
    pics = [img for img in (Image.open(p).convert("RGB") for p in sorted(PDQ.rglob("*.jpg")))
            if img.width > 400 and img.height > 250]
    face = Image.open(FACE).convert("RGB").resize((300, 300))
    rng = np.random.default_rng(0)
    written = 0
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=2)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "28", "g": "1"}
        i = 0
        while written < target_bytes:
            bg = pics[i % len(pics)]
            x, y = int(rng.integers(0, bg.width - 400)), int(rng.integers(0, bg.height - 250))
            img = bg.crop((x, y, x + 400, y + 250)).resize((1280, 720))
            img.paste(face, (int(rng.integers(0, 980)), int(rng.integers(0, 420))))
            for packet in stream.encode(av.VideoFrame.from_image(img)):  # type: ignore[no-untyped-call]
                written += packet.size
                out.mux(packet)
            i += 1
        for packet in stream.encode():
            out.mux(packet)
    return path


def _lw(home: Path, *args: str) -> float:
    m = run_measured([LIKEWATCH, *args], timeout=1800, env=dict(os.environ, LIKEWATCH_HOME=str(home)))
    if m.returncode not in (0, 1):
        raise SystemExit(f"likewatch {' '.join(args)}: exit {m.returncode}\n{m.stderr[-2000:]}")
    return m.peak_rss_mb


def _home(tmp: Path, name: str) -> Path:
    from likewatch.catalog import Catalog
    from matchers.enroll import enroll

    home = tmp / name
    with Catalog.open(home=home) as cat:
        enroll(cat, "demo-a", [FACE])
    return home


def bench_scan(tmp: Path, video: Path) -> tuple[float, float]:
    home = _home(tmp, "scan")
    return _lw(home, "scan", str(video)), _lw(home, "scan", str(FACE))


def bench_match_pending(tmp: Path, video: Path) -> tuple[float, float]:
    from likewatch.catalog import Catalog
    from tests.matchers.test_pipeline import _candidate

    thumb = FACE.read_bytes()
    figures = []
    for name, clip in (("mp-hostile", video.read_bytes()), ("mp-benign", None)):
        home = _home(tmp, name)
        with Catalog.open(home=home) as cat:
            _candidate(cat, "v", thumb, video=clip)
        figures.append(_lw(home, "match-pending"))
    return figures[0], figures[1]


def bench_verify(tmp: Path) -> tuple[float, float]:
    from likewatch.catalog import Catalog
    from tests.alerts.bundles import deflated_zeros_zip, members_of, sealed_bundle

    home = tmp / "verify"
    os.environ["LIKEWATCH_HOME"] = str(home)
    with Catalog.open(home=home) as cat:
        small = sealed_bundle(cat, tmp / "small.zip")
    members, _ = members_of(small)
    bomb = deflated_zeros_zip(tmp / "bomb.zip", [m for m in members if m[0] != "files/page.html"],
                              "files/page.html", 1 << 30)
    print(f"  bundle with a 1 GiB member: {bomb.stat().st_size / 2**20:.1f} MB on disk")
    return _lw(home, "evidence", "verify", str(bomb)), _lw(home, "evidence", "verify", str(small))


def bench_server(tmp: Path) -> tuple[float, float, float]:
    from alerts import registry
    from likewatch.catalog import Catalog
    from tests.webapp.test_upload_memory import Server, _png, multipart
    from webapp.accounts import service

    home = tmp / "server"
    os.environ["LIKEWATCH_HOME"] = str(home)
    with Catalog.open(home=home) as cat:
        registry.add_client(cat, "Star Studio", "studio")
        service.add_user(cat, "analyst@example.com", role="analyst", client="Star Studio")
        token = service.create_token(cat, "analyst@example.com")[0]
    server = Server(home, token)
    try:
        server.post(multipart(FACE.read_bytes(), "face.jpg"))
        base = server.memory_mb()["VmHWM"]
        for w, h in ((7999, 5000), (4999, 3200)):
            body = multipart(_png(w, h))
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                codes = sorted({s for s, _ in pool.map(server.post, [body] * 8)})
            hwm = server.memory_mb()["VmHWM"]
            print(f"  eight {w * h / 1e6:.0f} Mpix PNGs at once: HTTP {codes}, VmHWM {hwm:.0f} MB")
            if w == 7999:
                forty = hwm
        return forty, hwm, base
    finally:
        server.stop()


def report(name: str, hostile: float, benign: float, issue: str = "") -> dict[str, float]:
    before = ISSUE_MB[issue or name]
    print(f"{name}: peak {hostile:.0f} MB hostile, {benign:.0f} MB benign (same run): "
          f"{hostile / benign:.2f}x benign; issue 14 before the fix {before} MB: "
          f"{hostile / before:.3f}x ({before / hostile:.1f} times less)")
    return {"name": name, "hostile_mb": round(hostile), "benign_mb": round(benign),  # type: ignore[dict-item]
            "issue_mb": before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="scan,match-pending,verify,server")
    args = parser.parse_args()
    only = set(args.only.split(","))
    rows = []
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if only & {"scan", "match-pending"}:
            video = keyframe_video(tmp / "keyframes.mp4")
            print(f"  keyframe video: {video.stat().st_size / 2**20:.1f} MB, 1280x720")
        if "scan" in only:
            rows.append(report("scan", *bench_scan(tmp, video)))
        if "match-pending" in only:
            rows.append(report("match-pending", *bench_match_pending(tmp, video)))
        if "verify" in only:
            rows.append(report("verify", *bench_verify(tmp)))
        if "server" in only:
            forty, sixteen, base = bench_server(tmp)
            rows.append(report("server, eight 40 Mpix PNGs", forty, base, "server"))
            rows.append(report("server, eight 16 Mpix PNGs (decoded)", sixteen, base, "server"))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
