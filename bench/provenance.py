"""What reading a file's AI-content labels costs beside what the pipeline already does with it.

    .venv/bin/python bench/provenance.py [--repeat 50]

Per file kind (a 720x1280 JPEG thumbnail with an XMP label, a PNG with an iTXt label, a
60 MB MP4 whose metadata comes after its media data, a C2PA-signed JPEG), the median time of
``read_provenance`` and of a baseline measured in the same run: SHA-256 of the whole file
(the media store hashes every file it keeps) for the MP4, decoding the image with Pillow
(what hashing a thumbnail starts with) for images. Ratio: provenance / baseline. Also the
peak Python memory of reading the 60 MB MP4's labels (tracemalloc).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import struct
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' C2PA signer

LABEL = {"Label": "1", "ContentProducer": "001191110108MA01KP2T5U00000",
         "ProduceID": "bench", "ReservedCode1": "", "ContentPropagator": "",
         "PropagateID": "", "ReservedCode2": ""}


def _xmp() -> str:
    value = json.dumps(LABEL).replace("&", "&amp;").replace('"', "&quot;")
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            'rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/">'
            f"<TC260:AIGC>{value}</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta>")


def _picture() -> Image.Image:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (80, 45, 3), dtype=np.uint8)
    return Image.fromarray(small, "RGB").resize((720, 1280))


def make_files(tmp: Path) -> dict[str, Path]:
    import av

    buf = io.BytesIO()
    _picture().save(buf, "JPEG", quality=85)
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + _xmp().encode()
    data = buf.getvalue()
    (tmp / "thumb.jpg").write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2)
                                    + payload + data[2:])
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", _xmp())
    _picture().save(tmp / "thumb.png", pnginfo=info)
    small = tmp / "small.mp4"
    with av.open(str(small), "w", options={"movflags": "use_metadata_tags"}) as out:
        out.metadata["AIGC"] = json.dumps(LABEL)
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(10):
            frame = np.full((64, 64, 3), i * 20, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    raw = small.read_bytes()
    pos, moov = 0, b""
    while pos < len(raw):
        size, btype = struct.unpack(">I4s", raw[pos:pos + 8])
        moov = raw[pos:pos + size] if btype == b"moov" else moov
        pos += size
    big = tmp / "big.mp4"
    with big.open("wb") as f:  # ftyp, 60 MB of media data (random, not sparse), then moov
        f.write(struct.pack(">I4s", 20, b"ftyp") + b"isom\x00\x00\x02\x00isom")
        f.write(struct.pack(">I4s", 8 + 60_000_000, b"mdat"))
        rng = np.random.default_rng(1)
        for _ in range(60):
            f.write(rng.integers(0, 255, 1_000_000, dtype=np.uint8).tobytes())
        f.write(moov)
    return {"jpeg": tmp / "thumb.jpg", "png": tmp / "thumb.png", "mp4 60 MB": big}


def c2pa_file(tmp: Path) -> Path:
    from tests.matchers.provenance_files import c2pa_signed_jpeg

    path = tmp / "c2pa.jpg"
    path.write_bytes(c2pa_signed_jpeg())
    return path


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    from matchers.provenance import read_provenance

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        files = make_files(tmp)
        files["c2pa jpeg"] = c2pa_file(tmp)
        print(f"{'file':<12}{'provenance ms':>15}{'baseline ms':>13}{'ratio':>8}  baseline")
        for kind, path in files.items():
            prov = read_provenance(path)
            assert prov.ai_label == "1" or prov.c2pa is not None, kind
            ours = median_ms(lambda p=path: read_provenance(p), args.repeat)
            if kind.startswith("mp4"):
                base = median_ms(lambda p=path: hashlib.file_digest(p.open("rb"), "sha256"),
                                 max(3, args.repeat // 10))
                what = "sha256 of the file"
            else:
                base = median_ms(lambda p=path: Image.open(p).load(), args.repeat)
                what = "Pillow decode"
            print(f"{kind:<12}{ours:>15.2f}{base:>13.2f}{ours / base:>8.3f}  {what}")
        tracemalloc.start()
        read_provenance(files["mp4 60 MB"])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"peak Python memory reading the 60 MB MP4's labels: {peak / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
