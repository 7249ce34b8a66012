"""The desk's API with tokens: tenants see their own, decisions are recorded, ids agree."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

from tests.webapp.conftest import Desk
from tests.webapp.world import A, B


def test_no_credentials_is_401_and_health_is_public(desk: Desk) -> None:
    c = desk.client()
    for path in ("/api/alerts", "/api/persons", "/api/search?q=x", "/openapi.json"):
        r = c.get(path)
        assert r.status_code == 401, path
        assert r.json() == {"error": "authentication required"}
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert c.get("/api/health").json()["ok"] is True
    assert desk.client("lwt_not-a-real-token").get("/api/alerts").status_code == 401
    assert desk.client().get("/api/alerts", headers={"Authorization": "Basic eDp5"}
                             ).status_code == 401


def test_unknown_host_is_refused(desk: Desk) -> None:
    c = desk.client(desk.world.tokens["owner_a"])
    assert c.get("/api/health", headers={"Host": "evil.example"}).status_code == 400
    assert c.get("/api/alerts", headers={"Host": "evil.example"}).status_code == 400


def test_a_token_lists_its_clients_alerts_and_persons_only(desk: Desk) -> None:
    w = desk.world
    c = desk.client(w.tokens["owner_a"])
    alerts = c.get("/api/alerts").json()["alerts"]
    assert {a["id"] for a in alerts} == set(w.alerts[A]) and alerts
    assert all(a["client"] == A and a["person"] == "demo-a" and a["tier"] == "alert"
               and a["status"] == "new" for a in alerts)
    assert [a["number"] for a in alerts] == sorted(w.numbers[A], reverse=True)  # newest first
    persons = c.get("/api/persons").json()["persons"]
    assert [(p["key"], p["client"]) for p in persons] == [("demo-a", A)]
    assert persons[0]["references"] and persons[0]["open_alerts"] == len(w.alerts[A])
    # B's token sees B's only; the operator sees both.
    b = desk.client(w.tokens["owner_b"]).get("/api/alerts").json()["alerts"]
    assert {a["id"] for a in b} == set(w.alerts[B])
    ops = desk.client(w.tokens["operator"]).get("/api/alerts").json()["alerts"]
    assert {a["id"] for a in ops} == set(w.alerts[A]) | set(w.alerts[B])
    clients = desk.client(w.tokens["owner_a"]).get("/api/clients").json()["clients"]
    assert [cl["name"] for cl in clients] == [A]


def test_json_is_utf8_without_escapes(desk: Desk) -> None:
    r = desk.client(desk.world.tokens["owner_a"]).get("/api/alerts")
    assert r.headers["content-type"].startswith("application/json")
    assert A.encode("utf-8") in r.content and b"\\u" not in r.content
    assert r.headers["cache-control"] == "private, no-store"


def test_one_alert_id_everywhere(desk: Desk) -> None:
    w = desk.world
    c = desk.client(w.tokens["owner_a"])
    key, number = w.alerts[A][0], w.numbers[A][0]
    by_key, by_number = c.get(f"/api/alerts/{key}").json(), c.get(f"/api/alerts/{number}").json()
    assert by_key == by_number and by_key["id"] == key and by_key["number"] == number
    assert by_key["matches"][0]["signal"] == "face"


def test_review_records_who_and_when(desk: Desk) -> None:
    w = desk.world
    key = w.alerts[A][1]
    viewer = desk.client(w.tokens["viewer_a"])
    r = viewer.post(f"/api/alerts/{key}/review", json={"decision": "confirm"})
    assert r.status_code == 403  # a viewer reads, never decides
    c = desk.client(w.tokens["owner_a"])
    r = c.post(f"/api/alerts/{key}/review", json={"decision": "confirm", "note": "是她"})
    assert r.status_code == 200 and r.json() == {"id": key, "status": "confirmed", "settled": []}
    detail = c.get(f"/api/alerts/{key}").json()
    [d] = detail["decisions"]
    assert detail["status"] == "confirmed" and d["decision"] == "confirm"
    assert d["by"].startswith(w.users["owner_a"]) and d["at"].endswith("Z") and d["note"] == "是她"
    r = c.post(f"/api/alerts/{key}/review", json={"decision": "maybe"})
    assert r.status_code == 422
    assert c.get("/api/alerts?status=confirmed").json()["alerts"][0]["id"] == key


def test_allow_listing_an_uploader_settles_their_open_alerts(desk: Desk) -> None:
    w = desk.world
    c = desk.client(w.tokens["owner_b"])
    first, second = w.alerts[B]
    r = c.post(f"/api/alerts/{first}/allow-uploader")
    assert r.status_code == 200
    assert r.json()["status"] == "suppressed" and r.json()["settled"] == []  # u9 had one alert
    person = c.get(f"/api/persons/{w.persons[B]}").json()
    assert {"platform": "sandbox", "uploader": "u9"} in person["official_accounts"]
    assert c.get(f"/api/alerts/{second}").json()["status"] == "new"  # u8's stays open


def test_openapi_is_valid_openapi_3_from_the_code(desk: Desk) -> None:
    r = desk.client(desk.world.tokens["viewer_a"]).get("/openapi.json")
    spec = r.json()
    validate(spec)
    assert spec["openapi"].startswith("3.")
    for path in ("/api/alerts", "/api/alerts/{alert_id}", "/api/alerts/{alert_id}/review",
                 "/api/persons", "/api/search", "/api/search/by-photo",
                 "/api/alerts/{alert_id}/evidence", "/api/alerts/{alert_id}/notice"):
        assert path in spec["paths"], path
    assert "/alerts" not in spec["paths"]  # pages are not API
    page = desk.client(desk.world.tokens["viewer_a"]).get("/docs")
    assert page.status_code == 200 and "/api/alerts/{alert_id}/review" in page.text
    assert json.loads(r.content) == spec


def test_each_alert_shows_its_provenance(desk: Desk, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The candidate's provenance (issue #19) with its alert: in the API, on the alert page
    (rendered on the server) and in `likewatch alerts --json`."""
    from likewatch.catalog.alerts import Alert
    from likewatch.catalog.provenance import CandidateProvenance
    from likewatch.cli import main

    w = desk.world
    key, plain = w.alerts[A][-1], w.alerts[A][0]
    c2pa = {"signer": "Gen Signer Ltd", "ai_generated": True, "validation_state": "Valid",
            "claim_generator": "GenTool 2.1"}
    with desk.catalog.session() as s:
        [alert] = s.query(Alert).filter_by(key=key).all()
        s.add(CandidateProvenance(
            candidate_id=alert.candidate_id, ai_label="1", producer="001191110108MA01KP2T5U",
            c2pa_signer="Gen Signer Ltd", c2pa_ai=True, platform_flag="aigc_label_type=1",
            media={"thumbnail": {"ai_label": "1", "c2pa": c2pa,
                                 "label": {"label": "1", "carrier": "jpeg/app1-xmp"}}}))
    c = desk.client(w.tokens["viewer_a"])
    prov = c.get(f"/api/alerts/{key}").json()["provenance"]
    assert prov["ai_label"] == "1" and prov["producer"] == "001191110108MA01KP2T5U"
    assert prov["c2pa"]["signer"] == "Gen Signer Ltd" and prov["c2pa"]["ai_generated"] is True
    assert prov["platform_flag"] == "aigc_label_type=1"
    assert prov["label"]["carrier"] == "jpeg/app1-xmp" and prov["checked_at"].endswith("Z")
    listed = {a["id"]: a["provenance"] for a in c.get("/api/alerts").json()["alerts"]}
    assert listed[key] == prov and listed[plain] is None  # not read yet: null

    page = c.get(f"/alerts/{key}")
    assert page.status_code == 200
    row = page.text[page.text.index('<tr id="provenance">'):]
    row = row[:row.index("</tr>")]
    for shown in ('<span class="badge high">1</span> AI-generated', "001191110108MA01KP2T5U",
                  "signed by Gen Signer Ltd · declares AI generation · Valid",
                  "<code>aigc_label_type=1</code> (the platform marks it as AI)"):
        assert shown in row, shown
    assert "have not been read yet" in c.get(f"/alerts/{plain}").text

    monkeypatch.setenv("LIKEWATCH_HOME", str(desk.home))
    capsys.readouterr()
    assert main(["alerts", "--json", "--client", A]) == 0
    cli = {a["id"]: a["provenance"]
           for a in map(json.loads, capsys.readouterr().out.splitlines())}
    assert cli[key] == prov and cli[plain] is None
