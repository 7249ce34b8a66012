"""From an Alert row to sealed evidence and a filled notice (the alerter's path)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from alerts.evidence.adapter import capture_missing, subject_for_alert
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.evidence import EvidenceCapture
from likewatch.catalog.models import Candidate, CandidateSignal, Client, Media, Person
from likewatch.cli import main
from likewatch.media import MediaStore
from tests.alerts.test_evidence_capture import (  # noqa: F401 - fixtures
    TITLE,
    UPLOADER,
    PageServer,
    browser,
    jpeg,
    page_server,
)


def make_alert(catalog: Catalog, home: Path, url: str) -> tuple[int, str, str]:
    store = MediaStore(home)
    thumb_sha, thumb_path = store.put(jpeg((90, 90, 200)))
    frame_sha, frame_path = store.put(jpeg((20, 160, 20)))
    with catalog.session() as s:
        client = Client(name="星光工作室")
        person = Person(client=client, key="demo-a", display_name="演示人物A")
        s.add_all([client, person,
                   Media(sha256=thumb_sha, kind="thumbnail", size=1, path=thumb_path),
                   Media(sha256=frame_sha, kind="thumbnail", size=1, path=frame_path)])
        s.flush()
        cand = Candidate(platform="sandbox", item_id="v00001", url=url, title=TITLE,
                         uploader=UPLOADER, thumbnail_sha256=thumb_sha,
                         thumbnail_url="/thumb.jpg", video_url="/v.mp4",
                         published_at=dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC))
        s.add(cand)
        s.flush()
        s.add(CandidateSignal(candidate_id=cand.id, media_sha256=frame_sha, frame="t=1.20s",
                              signal="face", value="x"))
        alert = Alert(key="k-1", client_id=client.id, person_id=person.id,
                      candidate_id=cand.id, signal="face", distance=0.31, threshold=0.5,
                      frame="t=1.20s", signals=[{"signal": "face", "frame": "t=1.20s"}])
        s.add(alert)
        s.flush()
        return alert.id, thumb_sha, frame_sha


@pytest.mark.browser
def test_alert_row_to_evidence_and_notice(page_server: PageServer, browser,  # noqa: F811
                                          likewatch_home: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    url = f"{page_server.base}/video/v00001"
    with Catalog.open() as catalog:
        alert_id, thumb_sha, frame_sha = make_alert(catalog, likewatch_home, url)
        subject = subject_for_alert(catalog, alert_id)
        assert (subject.rights_holder, subject.agent) == ("演示人物A", "星光工作室")
        assert list(subject.media_sha256s) == [thumb_sha, frame_sha]
        assert subject_for_alert(catalog, "k-1").alert_id == str(alert_id)
        assert capture_missing(catalog, browser=browser) == {"captured": 1, "failed": 0}
        assert capture_missing(catalog, browser=browser) == {"captured": 0, "failed": 0}
        with catalog.session() as s:
            cap = s.query(EvidenceCapture).one()
        manifest = json.loads((likewatch_home / cap.dir / "manifest.json").read_bytes())
    names = {f["name"] for f in manifest["files"]}
    assert {f"files/media/{thumb_sha}.jpg", f"files/media/{frame_sha}.jpg"} <= names
    assert manifest["alert"]["published_at"] == "2026-11-20T08:00:00.000Z"
    assert main(["notice", str(alert_id), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert cap.manifest_sha256 in out and url in out and "测试平台（沙盒）" in out
    assert main(["evidence", "export", str(alert_id), "--out", str(tmp_path / "e.zip")]) == 0
    assert main(["evidence", "verify", str(tmp_path / "e.zip")]) == 0


@pytest.mark.browser
def test_the_daemons_evidence_role_seals_new_alerts(page_server: PageServer,  # noqa: F811
                                                   likewatch_home: Path) -> None:
    from scheduler import daemon, jobs

    assert "evidence" in daemon.parse_roles("crawler,matcher,alerter,evidence")
    with Catalog.open() as catalog:
        make_alert(catalog, likewatch_home, f"{page_server.base}/video/v00001")
        # The role's tick uses the process's shared browser, as the daemon does.
        assert jobs.capture_evidence(catalog) == {"captured": 1, "failed": 0}
        assert jobs.capture_evidence(catalog) == {"captured": 0, "failed": 0}
        with catalog.session() as s:
            assert s.query(EvidenceCapture).count() == 1
