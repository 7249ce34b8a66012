"""Reading an evidence bundle for verification in bounded memory, whatever it holds.

A bundle comes from outside (a court, the other side, a colleague's mail), so it is read
as hostile bytes:

- the end-of-central-directory record is read first, from the file's tail: more than
  :data:`MAX_MEMBERS` members or a central directory over :data:`MAX_DIRECTORY_BYTES` is
  refused before :mod:`zipfile` reads the directory;
- a name that occurs twice is a problem of its own (``<name>: appears N times``): a viewer
  opens one copy, a verifier might check the other;
- a member that declares more than :data:`MAX_MEMBER_BYTES`, or expands more than
  :data:`MAX_RATIO` times its compressed size, is refused by name and never decompressed;
  the bundle's own small files (README, manifest, proofs, key, signature, time stamp) may
  not exceed :data:`MAX_OWN_FILE_BYTES`;
- every member is read in :data:`CHUNK`-sized pieces into its SHA-256, CRC-32 and size;
  only the bundle's own small files are kept as bytes, to be parsed.

Bundles written by Likewatch are stored (not compressed), so their ratio is 1; the limits
are far above anything a capture holds (``evidence_video_max_bytes`` defaults to 20 MB).
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from alerts.evidence import zipfmt

MAX_MEMBERS = 10_000
MAX_DIRECTORY_BYTES = 4 << 20
MAX_MEMBER_BYTES = 512 << 20
MAX_OWN_FILE_BYTES = 4 << 20
MAX_RATIO = 100  # uncompressed / compressed, checked for members over RATIO_FLOOR
RATIO_FLOOR = 1 << 20
CHUNK = zipfmt.CHUNK

READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, NotImplementedError,
               EOFError, RuntimeError)


@dataclass
class Member:
    """What verification knows of one member: its digest, and its bytes if it is small and
    the bundle's own (not under ``files/``)."""

    size: int
    sha256: str | None = None  # None: refused or unreadable (a problem names it)
    crc32: int = 0
    data: bytes | None = None


def own_file(name: str) -> bool:
    return not name.startswith("files/")


def digest_stream(chunks: Iterator[bytes], keep: bool) -> Member:
    sha, crc, size, kept = hashlib.sha256(), 0, 0, bytearray() if keep else None
    for chunk in chunks:
        sha.update(chunk)
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        if kept is not None:
            kept += chunk
    return Member(size, sha.hexdigest(), crc & 0xFFFFFFFF, bytes(kept) if kept is not None else None)


def _chunks(fh: IO[bytes], limit: int) -> Iterator[bytes]:
    left = limit
    while left > 0 and (chunk := fh.read(min(CHUNK, left))):
        left -= len(chunk)
        yield chunk


def check_directory(path: Path) -> str | None:
    """Why the zip's central directory may not be read, or None."""
    with path.open("rb") as fh:
        try:
            entries, size = zipfmt.central_directory_extent(fh)
        except (ValueError, OSError):
            return None  # zipfile reports an unreadable zip itself
    if entries > MAX_MEMBERS:
        return f"declares {entries} members, more than the {MAX_MEMBERS} a bundle may hold"
    if size > MAX_DIRECTORY_BYTES:
        return (f"its central directory declares {size} bytes, more than "
                f"{MAX_DIRECTORY_BYTES}")
    return None


def duplicates(infos: list[zipfile.ZipInfo]) -> dict[str, int]:
    return {name: n for name, n in Counter(i.filename for i in infos).items() if n > 1}


def limit_problem(name: str, declared: int, compressed: int) -> str | None:
    """Why a member may not be read, from its declared sizes, or None."""
    cap = MAX_OWN_FILE_BYTES if own_file(name) else MAX_MEMBER_BYTES
    if declared > cap:
        return f"declares {declared} bytes, more than the {cap} allowed: not read"
    if declared > RATIO_FLOOR and declared > MAX_RATIO * max(compressed, 1):
        return (f"expands {declared} / {compressed} = {declared // max(compressed, 1)} times, "
                f"more than {MAX_RATIO}: a decompression bomb, not read")
    return None


_ORDER = {"README.txt": 0, "manifest.json": 1, "proof.json": 3, "tree_head.json": 4,
          "public_key.pem": 5, "timestamp.tsr": 6, "SHA256SUMS": 7, "SHA256SUMS.sig": 8}


def order_problem(names: list[str], manifest: bytes | None) -> str | None:
    """Why the members are not in the order a bundle is exported in, or None: README.txt,
    manifest.json, the files in the manifest's order, proof.json, tree_head.json,
    public_key.pem, timestamp.tsr, SHA256SUMS, SHA256SUMS.sig."""
    listed: list[str] = []
    try:
        import json

        listed = [f["name"] for f in json.loads(manifest or b"{}").get("files", [])]
    except (ValueError, TypeError, KeyError, AttributeError):
        pass  # an unreadable manifest is a problem of its own

    def key(name: str) -> tuple[int, int]:
        if name.startswith("files/"):
            return 2, listed.index(name) if name in listed else len(listed)
        return _ORDER.get(name, 9), 0

    keys = [key(n) for n in names]
    for i in range(1, len(keys)):
        if keys[i] < keys[i - 1]:
            return (f"members out of the exported order: {names[i]} comes after "
                    f"{names[i - 1]}: the zip was re-arranged after export")
    return None


def read_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Member:
    """Stream one member (never more than it declares); raises READ_ERRORS when damaged."""
    with zf.open(info) as fh:
        member = digest_stream(_chunks(fh, info.file_size + 1), keep=own_file(info.filename))
    if member.size != info.file_size:
        raise ValueError(f"{member.size} bytes, {info.file_size} declared")
    return member


def zip_member_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    with zf.open(info) as fh:
        yield from _chunks(fh, info.file_size)


def read_folder(folder: Path) -> tuple[dict[str, Member], list[tuple[str, str]]]:
    """The members of an unpacked bundle, and (name, problem) for files refused by size."""
    members: dict[str, Member] = {}
    problems: list[tuple[str, str]] = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        name = p.relative_to(folder).as_posix()
        size = p.stat().st_size
        why = limit_problem(name, size, size)
        if why is not None:
            problems.append((name, why))
            members[name] = Member(size)
            continue
        with p.open("rb") as fh:
            members[name] = digest_stream(_chunks(fh, size + 1), keep=own_file(name))
    return members, problems
