"""One takedown record: what the desk sets, `likewatch report` and `likewatch outcome` read,
and the reverse; the complaint packet from the desk, made by the packet builder of
`likewatch packet`."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from alerts.evidence.verify import verify_bundle
from likewatch.cli import main
from tests.alerts.test_notice_packet import seal
from tests.webapp.conftest import Desk
from tests.webapp.world import A, B


def cli_json(desk: Desk, args: list[str], capsys: pytest.CaptureFixture[str],
             monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Run `likewatch ARGS` on the desk's catalog; each line of its output as JSON."""
    monkeypatch.setenv("LIKEWATCH_HOME", str(desk.home))
    capsys.readouterr()
    assert main(args) == 0, capsys.readouterr().err
    return [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]


def by_platform(report: dict[str, Any], platform: str) -> dict[str, Any]:
    [row] = [r for r in report["by_platform"] if r["group"] == platform]
    return row


def test_a_step_set_on_the_desk_is_what_the_cli_reports(
        desk: Desk, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    w = desk.world
    key = w.alerts[A][0]
    c = desk.client(w.tokens["owner_a"])
    before = c.get(f"/api/alerts/{key}/takedown").json()
    assert before["state"] is None and before["notice"] is None
    assert before["next"] == ["drafted", "filed"] and before["history"] == []
    r = c.post(f"/api/alerts/{key}/takedown", json={"state": "filed", "note": "网页表单"})
    assert r.status_code == 200, r.text
    filed = r.json()
    assert filed["state"] == "filed" and filed["next"] == ["removed", "rejected",
                                                            "counter_notice"]
    assert [h["state"] for h in filed["history"]] == ["drafted", "filed"]
    notice = filed["notice"]
    assert notice and notice.endswith("-sandbox")

    [report] = cli_json(desk, ["report", "--json", "--client", A], capsys, monkeypatch)
    row = by_platform(report, "sandbox")
    assert (row["notices"], row["filed"], row["pending"], row["removed"]) == (1, 1, 1, 0)
    assert row["success_rate"] is None  # not answered yet

    assert c.post(f"/api/alerts/{key}/takedown", json={"state": "removed"}).status_code == 200
    [report] = cli_json(desk, ["report", "--json"], capsys, monkeypatch)
    row = by_platform(report, "sandbox")
    assert (row["pending"], row["removed"], row["success_rate"]) == (0, 1, 1.0)
    assert row["median_hours_to_removal"] is not None
    [shown] = cli_json(desk, ["outcome", notice, "--json"], capsys, monkeypatch)
    assert shown["alert"] == w.numbers[A][0] and shown["state"] == "removed"
    assert [(h["to"], h["note"]) for h in shown["history"]] == [
        ("drafted", None), ("filed", "网页表单"), ("removed", None)]
    assert all(h["by"].startswith(w.users["owner_a"]) for h in shown["history"])
    # The desk's own figures are the report's.
    [stats] = c.get("/api/takedowns/stats").json()["platforms"]
    assert (stats["platform"], stats["removed"], stats["success_rate"]) == ("sandbox", 1, 1.0)
    assert desk.client(w.tokens["owner_b"]).get("/api/takedowns/stats").json() == {
        "platforms": []}  # B has none, and never sees A's


def test_a_step_set_by_the_cli_is_what_the_desk_shows(
        desk: Desk, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    w = desk.world
    key = w.alerts[B][0]
    # `likewatch notice` drafts the alert's notice; `likewatch outcome` moves it on.
    monkeypatch.setenv("LIKEWATCH_HOME", str(desk.home))
    assert main(["notice", key, "--lang", "en"]) == 0
    [listed] = cli_json(desk, ["notices", "--json", "--client", B], capsys, monkeypatch)
    notice = listed["notice"]
    for state in ("filed", "rejected"):
        assert main(["outcome", notice, state, "--by", "lawyer", "--note", state]) == 0
    c = desk.client(w.tokens["reviewer_b"])
    got = c.get(f"/api/alerts/{key}/takedown").json()
    assert got["notice"] == notice and got["state"] == "rejected" and got["next"] == ["filed"]
    assert [(h["state"], h["by"]) for h in got["history"]] == [
        ("drafted", "cli"), ("filed", "lawyer"), ("rejected", "lawyer")]
    page = c.get(f"/alerts/{key}")
    assert page.status_code == 200
    assert '<strong id="takedown-state">rejected</strong>' in page.text and notice in page.text
    [row] = c.get("/api/takedowns/stats").json()["platforms"]
    assert (row["platform"], row["rejected"], row["success_rate"]) == ("sandbox", 1, 0.0)
    assert "takedown-stats" in c.get("/takedowns").text
    # The desk continues where the CLI left it, under the same notice.
    r = c.post(f"/api/alerts/{key}/takedown", json={"state": "filed", "note": "more evidence"})
    assert r.status_code == 200 and r.json()["notice"] == notice
    [shown] = cli_json(desk, ["outcome", notice, "--json"], capsys, monkeypatch)
    assert shown["state"] == "filed"


def test_wrong_steps_are_refused_and_change_nothing(desk: Desk) -> None:
    w = desk.world
    key = w.alerts[A][1]
    c = desk.client(w.tokens["owner_a"])
    r = c.post(f"/api/alerts/{key}/takedown", json={"state": "removed"})
    assert r.status_code == 400
    assert r.json()["error"] == "a takedown not begun can become drafted or filed, not removed"
    r = c.post(f"/api/alerts/{key}/takedown", json={"state": "withdrawn"})
    assert r.status_code == 400 and "unknown state 'withdrawn'" in r.json()["error"]
    assert c.get(f"/api/alerts/{key}/takedown").json()["state"] is None  # nothing drafted
    assert c.post(f"/api/alerts/{key}/takedown", json={"state": "drafted"}).json()[
        "state"] == "drafted"
    r = c.post(f"/api/alerts/{key}/takedown", json={"state": "restored"})
    assert r.status_code == 400 and "is drafted: it can become filed, not restored" in r.text
    viewer = desk.client(w.tokens["viewer_a"])
    assert viewer.post(f"/api/alerts/{key}/takedown", json={"state": "filed"}
                       ).status_code == 403
    assert c.get(f"/api/alerts/{key}/takedown").json()["state"] == "drafted"


def test_the_notice_carries_the_number_of_its_record(desk: Desk) -> None:
    w = desk.world
    key = w.alerts[A][2]
    c = desk.client(w.tokens["owner_a"])
    r = c.post(f"/api/alerts/{key}/notice", json={
        "format": "text", "lang": "en", "rights_holder": "Demo Person A (ID on file)",
        "ai_signs": ["face swap visible at 0:12"]})
    assert r.status_code == 200, r.text
    track = c.get(f"/api/alerts/{key}/takedown").json()
    assert track["state"] == "drafted" and track["notice"] in r.text
    assert track["history"][0]["by"].startswith(w.users["owner_a"])
    assert "Demo Person A (ID on file)" in r.text and "face swap visible at 0:12" in r.text
    r = c.post(f"/api/alerts/{key}/notice", json={"format": "text", "platform": "nowhere"})
    assert r.status_code == 400 and "unknown platform 'nowhere'" in r.text


def test_the_desk_offers_the_packet_of_likewatch_packet(
        desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    w = desk.world
    key, number = w.alerts[B][1], w.numbers[B][1]
    c = desk.client(w.tokens["reviewer_b"])
    r = c.post(f"/api/alerts/{key}/packet", json={"langs": ["en"]})
    assert r.status_code == 400 and "no sealed evidence" in r.json()["error"]
    capture = seal(desk.catalog, number)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    extra = "https://example.com/re-upload/1"
    r = c.post(f"/api/alerts/{key}/packet", json={
        "langs": ["en"], "rights_holder": "Demo Person B", "agent": "Moon Agency Ltd",
        "power_of_attorney": "POA-2026-017", "urls": [extra]})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    track = c.get(f"/api/alerts/{key}/takedown").json()
    assert r.headers["content-disposition"] == (
        f'attachment; filename="packet-{track["notice"]}.zip"')
    assert list(scratch.iterdir()) == []  # the packet's folder went with the answer
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        files = {n.split("/", 1)[1]: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(files["packet.json"])
    assert manifest["notice"] == track["notice"] and manifest["capture"] == capture
    for f in manifest["files"]:
        assert hashlib.sha256(files[f["name"]]).hexdigest() == f["sha256"], f["name"]
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(files[f"evidence-{capture}.zip"])
    assert verify_bundle(bundle).ok
    notice = files["notice.en.txt"].decode("utf-8")
    assert "Demo Person B" in notice and extra in notice
    assert "Moon Agency Ltd (power of attorney: POA-2026-017)" in notice
    assert files["notice.en.pdf"].startswith(b"%PDF")
    poa = files["power-of-attorney.en.txt"].decode("utf-8")
    assert "Power of Attorney" in poa and track["notice"] in poa
    # The same builder as `likewatch packet`: the same files under the same notice.
    monkeypatch.setenv("LIKEWATCH_HOME", str(desk.home))
    assert main(["packet", key, "--lang", "en", "--out", str(tmp_path), "--no-zip"]) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert {p.name for p in folder.iterdir()} == set(files)
    assert folder.name == f"packet-{track['notice']}"
    # The notice form's second button: the same, as a form post.
    r = c.post(f"/alerts/{w.alerts[B][0]}/packet", data={"agent": "Moon Agency Ltd"})
    assert r.status_code == 400 and "no sealed evidence" in r.text
