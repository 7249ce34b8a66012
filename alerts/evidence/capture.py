"""Capture and seal the evidence for one alert.

    from alerts.evidence import EvidenceSubject, capture_evidence
    result = capture_evidence(EvidenceSubject(alert_id="42", url="https://...", ...))

The input is a plain record (no catalog row needed; see :mod:`alerts.evidence.adapter`
for building it from an ``Alert``). The capture writes, under
``$LIKEWATCH_HOME/evidence/<capture_id>/``:

- ``files/page.png`` full-page screenshot, ``files/page.html`` rendered HTML,
  ``files/http.json`` response (and request) headers, status, server address, TLS details,
  ``files/embedded_state.json`` the page's embedded JSON (``__NEXT_DATA__`` ...),
- ``files/media/<sha256>.<ext>`` the thumbnail and matching keyframes from the MediaStore
  (or given as bytes), ``files/thumbnail.<ext>`` the thumbnail as served at capture time,
  ``files/video.<ext>`` the video if within ``evidence_video_max_bytes``,
- ``manifest.json``: canonical JSON listing every file's sha256 and size, the alert, the
  capture time (UTC) and the crawler's identity, then appended to the transparency log.

A part that fails (video too large, thumbnail gone) is named in the manifest's ``errors``
and the capture is ``partial``; only a page that cannot be loaded at all fails the capture.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import re
import socket
import urllib.error
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from alerts.evidence.browser import BrowserWorker, PageCapture, shared_browser
from alerts.evidence.enrich import fill_subject
from alerts.evidence.keys import TreeHead, canonical_json
from alerts.evidence.log import TransparencyLog, utc_timestamp
from likewatch import netguard, nethttp, private, settings
from likewatch.catalog import Catalog
from likewatch.catalog.evidence import EvidenceCapture
from likewatch.log import get_logger
from likewatch.media import MediaStore

log = get_logger(__name__)
MANIFEST_FORMAT = "likewatch-evidence/1"


@dataclass
class EvidenceSubject:
    """What an alert says, as plain values: everything evidence and notices need."""

    alert_id: str
    url: str
    platform: str = ""
    person_label: str = ""
    rights_holder: str = ""
    agent: str = ""  # the client (studio, agency) acting for the rights holder
    uploader: str = ""
    title: str = ""
    published_at: dt.datetime | None = None
    found_at: dt.datetime | None = None
    signal: str = ""
    distance: float | None = None
    threshold: float | None = None
    media_sha256s: Sequence[str] = ()  # thumbnail + matching keyframes in the MediaStore
    media: dict[str, bytes] = field(default_factory=dict)  # or given as bytes, by name
    thumbnail_url: str = ""
    video_url: str = ""
    video_sha256: str | None = None
    extra_urls: Sequence[str] = ()  # more infringing URLs (mirrors, re-uploads)

    def alert_record(self) -> dict[str, Any]:
        def when(value: dt.datetime | None) -> str | None:
            return utc_timestamp(value) if value else None

        return {
            "alert_id": str(self.alert_id), "url": self.url, "platform": self.platform,
            "person": self.person_label, "rights_holder": self.rights_holder,
            "agent": self.agent,
            "uploader": self.uploader, "title": self.title,
            "published_at": when(self.published_at), "found_at": when(self.found_at),
            "signal": self.signal, "distance": self.distance, "threshold": self.threshold,
            "extra_urls": list(self.extra_urls),
        }


@dataclass
class CaptureResult:
    capture_id: str
    directory: Path
    manifest_sha256: str
    leaf_index: int
    tree_head: TreeHead
    errors: list[str]


_MAGIC = [(b"\x89PNG", ".png", "image/png"), (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
          (b"GIF8", ".gif", "image/gif"), (b"RIFF", ".webp", "image/webp"),
          (b"\x1aE\xdf\xa3", ".webm", "video/webm")]


def sniff(data: bytes) -> tuple[str, str]:
    """File extension and content type from the first bytes."""
    for magic, ext, ctype in _MAGIC:
        if data.startswith(magic):
            return ext, ctype
    if data[4:8] == b"ftyp":
        return ".mp4", "video/mp4"
    return ".bin", "application/octet-stream"


def crawler_identity(browser_version: str = "") -> dict[str, str]:
    try:
        version = importlib.metadata.version("likewatch")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {"software": "likewatch", "software_version": version, "host": socket.gethostname(),
            "user_agent": str(settings.get("user_agent")), "browser": browser_version}


TooLarge = nethttp.TooLarge  # a download over its size limit


def fetch_limited(url: str, max_bytes: int, timeout: float) -> tuple[bytes, dict[str, str]]:
    """GET ``url`` through the address guard (every connection, redirects included, is
    checked where it is made); refuses more than ``max_bytes``."""
    with nethttp.urlopen(url, headers={"User-Agent": str(settings.get("user_agent"))},
                         timeout=timeout, follow_redirects=True) as resp:
        return nethttp.read_limited(resp, max_bytes), dict(resp.headers.items())


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "x"


def capture_evidence(subject: EvidenceSubject, *, catalog: Catalog | None = None,
                     browser: BrowserWorker | None = None) -> CaptureResult:
    """Capture, seal and log the evidence for ``subject``; see the module docstring.

    Raises :class:`likewatch.netguard.BlockedURL` when the URL may not be fetched and
    :class:`CaptureError` when the page cannot be captured at all.
    """
    netguard.check_url(subject.url)
    own_catalog = catalog is None
    catalog = catalog or Catalog.open()
    try:
        return _capture(subject, catalog, browser or shared_browser())
    finally:
        if own_catalog:
            catalog.close()


def _capture(subject: EvidenceSubject, catalog: Catalog, browser: BrowserWorker
             ) -> CaptureResult:
    started = dt.datetime.now(dt.UTC)
    capture_id = f"{_safe(str(subject.alert_id))}-{started.strftime('%Y%m%dT%H%M%S%fZ')}"
    rel_dir = f"evidence/{capture_id}"
    directory = catalog.home / rel_dir
    private.private_dir(directory)
    (directory / "files").mkdir(mode=private.DIR_MODE)
    files: list[dict[str, Any]] = []
    errors: list[str] = []

    def keep(name: str, data: bytes, role: str, content_type: str, **extra: Any) -> None:
        path = directory / "files" / name
        private.private_dir(path.parent)
        private.write_private(path, data)
        files.append({"name": f"files/{name}", "role": role, "content_type": content_type,
                      "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), **extra})

    page: PageCapture = browser.capture(subject.url, float(settings.get("evidence_page_timeout")))
    subject = fill_subject(subject, page.final_url or subject.url, page.html)
    keep("page.png", page.screenshot_png, "screenshot", "image/png")
    keep("page.html", page.html.encode("utf-8"), "rendered_html", "text/html; charset=utf-8")
    http = {"requested_url": page.requested_url, "final_url": page.final_url,
            "status": page.status, "status_text": page.status_text,
            "response_headers": page.response_headers, "request_headers": page.request_headers,
            "server_addr": page.server_addr, "tls": page.security_details,
            "blocked_subrequests": page.blocked_requests, "notes": page.notes}
    keep("http.json", canonical_json(http), "http_exchange", "application/json")
    keep("embedded_state.json", canonical_json(page.embedded_json), "embedded_state",
         "application/json")

    store = MediaStore(catalog.home)
    for sha in dict.fromkeys(subject.media_sha256s):
        try:
            data = store.get(sha)
        except FileNotFoundError:
            errors.append(f"matched media {sha} is not in the media store")
            continue
        ext, ctype = sniff(data)
        keep(f"media/{sha}{ext}", data, "matched_media", ctype)
    for name, data in sorted(subject.media.items()):
        ext, ctype = sniff(data)
        stem = _safe(Path(name).stem)
        keep(f"media/{stem}{Path(name).suffix or ext}", data, "matched_media", ctype)

    timeout = float(settings.get("media_timeout"))
    if subject.thumbnail_url:
        thumb_url = urljoin(page.final_url or subject.url, subject.thumbnail_url)
        try:
            data, _ = fetch_limited(thumb_url, int(settings.get("media_max_bytes")), timeout)
            ext, ctype = sniff(data)
            keep(f"thumbnail{ext}", data, "thumbnail", ctype, source_url=thumb_url)
        except (OSError, TooLarge, netguard.BlockedURL) as exc:
            errors.append(f"thumbnail {thumb_url}: {exc}")
    _keep_video(subject, page, store, keep, errors, timeout)

    manifest = {
        "format": MANIFEST_FORMAT, "capture_id": capture_id,
        "captured_at": utc_timestamp(started), "completed_at": utc_timestamp(),
        "alert": subject.alert_record(), "crawler": crawler_identity(page.browser_version),
        "page": {"requested_url": page.requested_url, "final_url": page.final_url,
                 "status": page.status, "title": page.title},
        "files": sorted(files, key=lambda f: f["name"]), "errors": errors,
    }
    manifest_bytes = canonical_json(manifest)
    private.write_private(directory / "manifest.json", manifest_bytes)
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    tlog = TransparencyLog(catalog)
    leaf_index, head = tlog.append(manifest_bytes, manifest_sha, capture_id)
    with catalog.session() as s:
        s.add(EvidenceCapture(capture_id=capture_id, alert_id=str(subject.alert_id),
                              platform=subject.platform, url=subject.url, captured_at=started,
                              dir=rel_dir, manifest_sha256=manifest_sha, leaf_index=leaf_index,
                              status="partial" if errors else "complete"))
    _maybe_timestamp(tlog, head)
    log.info("evidence captured", alert_id=str(subject.alert_id), capture_id=capture_id,
             files=len(files), errors=len(errors), manifest_sha256=manifest_sha)
    return CaptureResult(capture_id, directory, manifest_sha, leaf_index, head, errors)


def _keep_video(subject: EvidenceSubject, page: PageCapture, store: MediaStore, keep: Any,
                errors: list[str], timeout: float) -> None:
    limit = int(settings.get("evidence_video_max_bytes"))
    if subject.video_sha256:
        path = store.path(subject.video_sha256)
        if path.exists() and path.stat().st_size <= limit:
            data = path.read_bytes()
            ext, ctype = sniff(data)
            keep(f"video{ext}", data, "video", ctype, source_url=subject.video_url)
            return
        if path.exists():
            errors.append(f"video {subject.video_sha256}: {path.stat().st_size} bytes, "
                          f"limit {limit}: not kept (its sha256 is recorded here)")
            return
    if subject.video_url:
        url = urljoin(page.final_url or subject.url, subject.video_url)
        try:
            data, _ = fetch_limited(url, limit, timeout)
            ext, ctype = sniff(data)
            keep(f"video{ext}", data, "video", ctype, source_url=url)
        except (OSError, TooLarge, netguard.BlockedURL) as exc:
            errors.append(f"video {url}: {exc}")


def _maybe_timestamp(tlog: TransparencyLog, head: TreeHead) -> None:
    url = str(settings.get("tsa_url"))
    if not url:
        return
    from alerts.evidence import tsa

    ca_file = str(settings.get("tsa_ca_file"))
    try:
        roots = Path(ca_file).read_bytes() if ca_file else None
        token = tsa.request_timestamp(url, head.signing_input(), roots_pem=roots)
    except (tsa.TimestampError, OSError, urllib.error.URLError, netguard.BlockedURL) as exc:
        log.warning("timestamp authority failed; tree head stays unstamped", error=str(exc))
        return
    tlog.set_timestamp_token(head.tree_size, token)


def load_manifest(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "manifest.json").read_bytes())
    return data
