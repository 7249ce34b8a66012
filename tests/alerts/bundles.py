"""Evidence bundles made without a browser, for tests of verification on hostile zips."""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib
from pathlib import Path

from alerts.evidence import zipfmt
from alerts.evidence.bundle import export_bundle
from alerts.evidence.capture import MANIFEST_FORMAT
from alerts.evidence.keys import canonical_json
from alerts.evidence.log import TransparencyLog
from likewatch.catalog import Catalog
from likewatch.catalog.evidence import EvidenceCapture

PNG = (b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + struct.pack(">II", 1, 1)
       + b"\x08\x02\0\0\0" + struct.pack(">I", zlib.crc32(b"IHDR" + struct.pack(">II", 1, 1)
                                                           + b"\x08\x02\0\0\0")))


def sealed_bundle(catalog: Catalog, out: Path, files: dict[str, bytes] | None = None,
                  capture_id: str = "c-1", big: dict[str, int] | None = None) -> Path:
    """Seal a capture holding ``files`` (name under files/ -> bytes) and ``big`` (name ->
    size of a file of that many pseudo-random bytes, written in pieces) and export it."""
    files = files if files is not None else {"page.html": "<p>肖像</p>".encode(),
                                             "page.png": PNG}
    directory = catalog.home / "evidence" / capture_id
    (directory / "files").mkdir(parents=True)
    entries = []
    for name, data in files.items():
        (directory / "files" / name).write_bytes(data)
        entries.append({"name": f"files/{name}", "role": "test", "content_type": "x",
                        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    for name, size in (big or {}).items():
        sha = hashlib.sha256()
        with (directory / "files" / name).open("wb") as fh:
            block = hashlib.sha512(name.encode()).digest() * (1 << 14)  # 1 MiB
            left = size
            while left:
                piece = block[:min(left, len(block))]
                fh.write(piece)
                sha.update(piece)
                left -= len(piece)
        entries.append({"name": f"files/{name}", "role": "test", "content_type": "x",
                        "sha256": sha.hexdigest(), "size": size})
    manifest = {"format": MANIFEST_FORMAT, "capture_id": capture_id,
                "captured_at": "2026-11-26T00:00:00.000Z",
                "alert": {"alert_id": capture_id, "url": "https://x.invalid/v/1"},
                "files": sorted(entries, key=lambda e: e["name"]), "errors": []}
    data = canonical_json(manifest)
    (directory / "manifest.json").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    index, _ = TransparencyLog(catalog).append(data, sha, capture_id)
    with catalog.session() as s:
        s.add(EvidenceCapture(capture_id=capture_id, alert_id=capture_id,
                              dir=f"evidence/{capture_id}", manifest_sha256=sha,
                              leaf_index=index))
    return export_bundle(catalog, capture_id, out)


def members_of(path: Path) -> tuple[list[tuple[str, bytes]], tuple[int, int, int, int, int, int]]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        return [(i.filename, zf.read(i)) for i in infos], infos[0].date_time


def rebuilt(path: Path, members: list[tuple[str, bytes]],
            when: tuple[int, int, int, int, int, int]) -> Path:
    path.write_bytes(zipfmt.build(members, when))
    return path


def deflated_zeros_zip(path: Path, members: list[tuple[str, bytes]], bomb_name: str,
                       bomb_size: int, at: int = 2) -> Path:
    """The bundle's members with a deflated member of ``bomb_size`` zero bytes inserted at
    position ``at``, written in pieces (the bomb is never held in memory)."""
    with zipfile.ZipFile(path, "w") as zf:
        for i, (name, data) in enumerate(members):
            if i == at:
                _write_zeros(zf, bomb_name, bomb_size)
            zf.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data)
    return path


def _write_zeros(zf: zipfile.ZipFile, name: str, size: int) -> None:
    info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    zero = bytes(1 << 20)
    with zf.open(info, "w", force_zip64=size > 0x7FFFFFFF) as fh:
        left = size
        while left:
            fh.write(zero[:min(left, len(zero))])
            left -= min(left, len(zero))
