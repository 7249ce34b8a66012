"""Evidence of a sandbox content page (the local platform), exported and verified."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path

import pytest

from alerts.evidence import EvidenceSubject, capture_evidence
from alerts.evidence.bundle import export_bundle
from alerts.evidence.verify import verify_bundle
from likewatch.catalog import Catalog
from tests.alerts.test_evidence_capture import browser  # noqa: F401 - module-scoped fixture


@pytest.mark.browser
def test_sandbox_item_is_captured_sealed_and_verifies(
        sandbox_server, browser, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        tmp_path: Path) -> None:
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    base = sandbox_server.base_url
    with urllib.request.urlopen(f"{base}/api/feed?limit=50") as resp:
        item = next(i for i in json.load(resp)["items"] if i.get("videoUrl"))
    with urllib.request.urlopen(base + item["thumbnailUrl"]) as resp:
        thumb = resp.read()
    subject = EvidenceSubject(alert_id="sb-1", url=f"{base}/video/{item['id']}",
                              platform="sandbox", person_label="Demo person A",
                              title=item["title"], uploader=item["uploader"]["name"],
                              thumbnail_url=item["thumbnailUrl"], video_url=item["videoUrl"])
    with Catalog.open() as catalog:
        result = capture_evidence(subject, catalog=catalog, browser=browser)
        bundle = export_bundle(catalog, "sb-1", tmp_path / "sb.zip")
    assert result.errors == []
    state = json.loads((result.directory / "files/embedded_state.json").read_bytes())
    assert state["script:__NEXT_DATA__"]["props"]["pageProps"]["item"]["id"] == item["id"]
    html = (result.directory / "files/page.html").read_text("utf-8")
    assert item["title"] in html  # Chinese title intact in the rendered page
    assert (result.directory / "files/thumbnail.jpg").read_bytes() == thumb
    video = (result.directory / "files/video.mp4").read_bytes()
    assert video[4:8] == b"ftyp"
    manifest = json.loads((result.directory / "manifest.json").read_bytes())
    by_name = {f["name"]: f for f in manifest["files"]}
    assert by_name["files/video.mp4"]["sha256"] == hashlib.sha256(video).hexdigest()
    report = verify_bundle(bundle)
    assert report.ok, report.problems


@pytest.mark.browser
def test_bare_url_capture_is_filled_in_by_the_platform_adapter(
        sandbox_server, browser, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    base = sandbox_server.base_url
    with urllib.request.urlopen(f"{base}/api/feed?limit=50") as resp:
        item = next(i for i in json.load(resp)["items"] if i.get("videoUrl"))
    with Catalog.open() as catalog:
        result = capture_evidence(EvidenceSubject(alert_id="bare", url=f"{base}/video/{item['id']}"),
                                  catalog=catalog, browser=browser)
    manifest = json.loads((result.directory / "manifest.json").read_bytes())
    alert = manifest["alert"]
    assert (alert["platform"], alert["title"]) == ("sandbox", item["title"])
    assert alert["uploader"] == item["uploader"]["name"]
    assert {"files/thumbnail.jpg", "files/video.mp4"} <= {f["name"] for f in manifest["files"]}
