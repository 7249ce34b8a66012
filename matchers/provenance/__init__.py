"""Provenance of media: AI-content labels read from the files themselves.

    from matchers.provenance import read_provenance
    p = read_provenance(Path("clip.mp4"))
    p.ai_label          # "1" | "2" | "3" | None  (GB 45438-2025 implicit label)
    p.to_json()         # the "provenance" object of `likewatch scan --json`

One module per label kind: ``gb45438`` (China's implicit label, found by ``containers``,
which walks JPEG/PNG/WebP/MP4 structure in bounded memory) and ``c2pa_manifest`` (C2PA
Content Credentials through the ``c2pa-python`` library). The platform's own AI-content
flag comes from the crawled page, not the file (``likewatch.catalog.provenance
.set_platform_flag``; ``platform_flag`` here is for callers that have one).
``record`` stores a candidate's provenance in the catalog (``candidate_provenance``).
Bad or hostile input never raises: it gives no label and an error saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matchers.provenance.c2pa_manifest import C2paInfo, read_manifest
from matchers.provenance.containers import scan_file
from matchers.provenance.gb45438 import AigcLabel, find_labels

__all__ = ["AigcLabel", "C2paInfo", "Provenance", "read_provenance", "scan_provenance"]


@dataclass
class Provenance:
    """What one media file says about its own origin."""

    label: AigcLabel | None = None
    c2pa: C2paInfo | None = None
    platform_flag: Any = None  # the platform's own AI-content flag (candidates only)
    container: str = ""
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ai_label(self) -> str | None:
        """The GB 45438 ``Label`` ("1" generated, "2" possibly, "3" suspected) or None."""
        return self.label.valid_label if self.label else None

    @property
    def producer(self) -> str | None:
        return (self.label.content_producer or None) if self.label else None

    def to_json(self) -> dict[str, Any]:
        """The ``provenance`` object of ``likewatch scan --json``."""
        return {
            "ai_label": self.ai_label,
            "producer": self.producer,
            "propagator": (self.label.content_propagator or None) if self.label else None,
            "c2pa": self.c2pa.to_json() if self.c2pa else None,
            "platform_flag": self.platform_flag,
            "label": self.label.to_json() if self.label else None,
            "errors": self.errors + self.notes,
        }


def read_provenance(path: Path, *, platform_flag: Any = None) -> Provenance:
    """Read the GB 45438 label and the C2PA manifest of one media file; never raises on bad
    input (errors are listed in the result)."""
    scan = scan_file(path)
    labels = find_labels(scan.payloads)
    prov = Provenance(label=labels.best, platform_flag=platform_flag,
                      container=scan.container, errors=[*scan.errors, *labels.errors],
                      notes=list(scan.notes))
    if scan.c2pa:
        prov.c2pa = read_manifest(path, scan.mime)
    return prov


def scan_provenance(path: Path) -> dict[str, Any] | None:
    """The ``provenance`` object of ``likewatch scan --json`` for ``path`` (None when it is
    not a regular file)."""
    return read_provenance(path).to_json() if path.is_file() else None
