"""The bounded reader shared by the container walkers (see containers.py for what is read
and the limits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

# An XMP packet in a JPEG is at most 64 KB per segment; real XMP with a TC260 label is a
# few KB. 1 MiB leaves room for large packets (edit histories) and keeps hostile ones out.
MAX_ITEM_BYTES = 1 << 20
MAX_TOTAL_BYTES = 4 << 20
MAX_STRUCTURES = 20_000
MAX_DEPTH = 8

XMP_JPEG_ID = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXT_JPEG_ID = b"http://ns.adobe.com/xmp/extension/\x00"
XMP_PNG_KEY = "XML:com.adobe.xmp"
AIGC_KEY = "aigc"  # PNG text keyword and MP4 metadata key, compared case-insensitively
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
C2PA_UUID = bytes.fromhex("D8FEC3D61B0E483C92975828877EC481")
# Boxes whose children are walked for metadata (ISO BMFF / QuickTime).
CONTAINER_BOXES = {b"moov", b"udta", b"trak"}


@dataclass(frozen=True)
class Payload:
    """One metadata item that may carry a label: an XMP packet or a label's JSON text."""

    carrier: str  # e.g. "jpeg/app1-xmp", "png/itxt-AIGC", "mp4/udta-meta-AIGC"
    kind: str  # "xmp" | "json"
    data: bytes


@dataclass
class ContainerScan:
    """What one walk of a file found."""

    container: str = "unknown"  # jpeg | png | webp | isobmff | unknown
    mime: str = ""
    payloads: list[Payload] = field(default_factory=list)
    c2pa: bool = False  # an embedded C2PA manifest store was seen
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # conformance remarks (bad CRC, ...)


class Stop(Exception):
    """The walk must end here (truncated, hostile or over budget); the message says why."""


class Walk:
    def __init__(self, f: BinaryIO, size: int, scan: ContainerScan) -> None:
        self.f = f
        self.size = size
        self.scan = scan
        self.read_total = 0
        self.items = 0

    def count(self) -> None:
        self.items += 1
        if self.items > MAX_STRUCTURES:
            raise Stop(f"more than {MAX_STRUCTURES} structures: not read further")

    def read(self, n: int, what: str) -> bytes:
        if n > MAX_ITEM_BYTES:
            raise Stop(f"{what}: {n} bytes is over the {MAX_ITEM_BYTES}-byte cap")
        if self.read_total + n > MAX_TOTAL_BYTES:
            raise Stop(f"{what}: metadata over {MAX_TOTAL_BYTES} bytes in total")
        data = self.f.read(n)
        self.read_total += len(data)
        if len(data) < n:
            raise Stop(f"{what}: truncated ({len(data)} of {n} bytes)")
        return data

    def header(self, n: int, what: str) -> bytes:
        data = self.f.read(n)
        if len(data) < n:
            raise Stop(f"{what}: truncated")
        return data

    def add(self, carrier: str, kind: str, data: bytes) -> None:
        self.scan.payloads.append(Payload(carrier, kind, data))
