"""Matches become alerts: one per (person, item), updated by later matches, fanned out."""

from __future__ import annotations

from sqlalchemy import select

from alerts import registry
from alerts.build import alert_key, severity, sync_alerts
from alerts.payload import alert_payload
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, OutboxMessage
from tests.alerts.helpers import candidate, match, world


def test_one_alert_per_person_and_item_however_many_matches():
    cat = Catalog.open()
    ids = world(cat)
    c1 = candidate(cat, "v1")
    match(cat, c1, ids["alice"], "face", 0.45, 0.6, "t=1.00s")
    match(cat, c1, ids["alice"], "face", 0.40, 0.6, "t=2.00s")
    match(cat, c1, ids["alice"], "pdq", 60, 70, "")
    assert sync_alerts(cat) == {"created": 1}
    assert sync_alerts(cat) == {}
    with cat.session() as s:
        alert = s.scalars(select(Alert)).one()
        assert alert.key == alert_key("acme", "alice", "sandbox", "v1")
        assert (alert.signal, alert.frame, alert.distance) == ("face", "t=2.00s", 0.40)
        assert len(alert.signals) == 3 and alert.severity == "high"  # two signal types
    # A later, closer match updates the same alert.
    match(cat, c1, ids["alice"], "phash", 2, 10, "t=3.00s")
    assert sync_alerts(cat) == {"updated": 1}
    with cat.session() as s:
        alert = s.scalars(select(Alert)).one()
        assert (alert.signal, alert.distance, len(alert.signals)) == ("phash", 2, 4)


def test_severity_from_signal_and_distance():
    assert severity([{"signal": "face", "distance": 0.25, "threshold": 0.6}]) == "high"
    assert severity([{"signal": "face", "distance": 0.45, "threshold": 0.6}]) == "medium"
    assert severity([{"signal": "face", "distance": 0.58, "threshold": 0.6}]) == "low"


def test_studio_subscribes_a_person_agency_its_roster():
    cat = Catalog.open()
    ids = world(cat, kind="agency", persons=("alice", "bob"))
    s_alice = registry.add_subscription(cat, "acme", "webhook", "http://127.0.0.1:9/a",
                                        person="alice", secret="k")
    s_all = registry.add_subscription(cat, "acme", "email", "desk@example.org")
    c1, c2 = candidate(cat, "v1"), candidate(cat, "v2")
    match(cat, c1, ids["alice"])
    match(cat, c2, ids["bob"])
    match(cat, c2, ids["alice"])
    assert sync_alerts(cat) == {"created": 3}
    with cat.session() as s:
        pairs = {(ob.alert_id, ob.subscription_id) for ob in s.scalars(select(OutboxMessage))}
        by_person = {a.id: a.person_id for a in s.scalars(select(Alert))}
    got = sorted((by_person[a], sub) for a, sub in pairs)
    assert got == sorted([(ids["alice"], s_alice), (ids["alice"], s_all),
                          (ids["alice"], s_alice), (ids["alice"], s_all),
                          (ids["bob"], s_all)])


def test_official_accounts_never_alert():
    cat = Catalog.open()
    ids = world(cat)
    registry.add_person(cat, "acme", "alice", official=["sandbox:official1"])
    registry.add_subscription(cat, "acme", "email", "desk@example.org")
    match(cat, candidate(cat, "v1", uploader="official1"), ids["alice"])
    assert sync_alerts(cat) == {"suppressed": 1}
    with cat.session() as s:
        assert s.scalars(select(OutboxMessage)).all() == []


def test_an_any_platform_official_account_is_matched_normalised():
    """{"platform": "*", "uploader": "@StarStudio"} covers StarStudio everywhere, as the
    matchers say (likewatch/official.py; tests/matchers/test_match_official.py)."""
    cat = Catalog.open()
    ids = world(cat)
    registry.add_person(cat, "acme", "alice", official=["*:@StarStudio"])
    registry.add_subscription(cat, "acme", "email", "desk@example.org")
    match(cat, candidate(cat, "v1", uploader="starstudio"), ids["alice"])
    match(cat, candidate(cat, "v2", uploader="StarStudio2"), ids["alice"])
    assert sync_alerts(cat) == {"suppressed": 1, "created": 1}
    with cat.session() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 1


def test_payload_says_who_where_when_how_and_carries_no_embeddings():
    cat = Catalog.open()
    ids = world(cat)
    match(cat, candidate(cat, "v9"), ids["alice"], "face", 0.31, 0.6, "t=1.50s")
    sync_alerts(cat)
    with cat.session() as s:
        p = alert_payload(s, s.scalars(select(Alert)).one()).wire()
    assert p["person"] == {"id": "alice", "name": "Alice Star"}
    assert p["where"]["url"] == "http://127.0.0.1/video/v9" and p["where"]["uploader_id"] == "u1"
    assert p["published_at"] == "2026-01-02T03:04:05Z" and p["found_at"].endswith("Z")
    assert p["match"] == {"signal": "face", "distance": 0.31, "threshold": 0.6, "frame": "t=1.50s"}
    assert p["candidate_image"]["url"].endswith("/media/thumb/v9.jpg")
    assert len(p["reference"]["sha256"]) == 64
    assert "embedding" not in str(p) and "value" not in str(p)
    # The wire format of the untyped payload this model replaced: the same keys, no more.
    assert set(p) == {"id", "type", "severity", "status", "client", "person", "where",
                      "published_at", "found_at", "alerted_at", "updated_at", "match",
                      "signals", "candidate_image", "reference"}
    assert p["signals"] == [{"signal": "face", "frame": "t=1.50s", "distance": 0.31,
                             "threshold": 0.6, "reference_id": p["reference"]["id"]}]


def test_registry_rejects_bad_input():
    import pytest

    cat = Catalog.open()
    world(cat)
    with pytest.raises(registry.RegistryError, match="no client"):
        registry.add_person(cat, "nobody", "x")
    with pytest.raises(registry.RegistryError, match="secret"):
        registry.add_subscription(cat, "acme", "webhook", "http://127.0.0.1/x")
    with pytest.raises(registry.RegistryError, match="no person"):
        registry.add_subscription(cat, "acme", "slack", "http://127.0.0.1/x", person="zed")
    with pytest.raises(registry.RegistryError, match="e-mail"):
        registry.add_subscription(cat, "acme", "email", "not-an-address")


def _name_row(cat, cand_id, person_id, kind="homophone", distance=0.3):
    from likewatch.catalog.models import MatchRow
    from likewatch.work.db import write_session

    with write_session(cat) as s:
        s.add(MatchRow(candidate_id=cand_id, person_id=person_id, signal="name", frame="",
                       distance=distance, threshold=0.45, reference_id=None, tier="review",
                       details={"kind": kind, "field": "title", "text": "艾丽丝", "name": "爱丽丝"}))


def test_review_tier_alone_is_held_for_the_desk_and_sent_once_an_alert_tier_match_joins():
    from alerts.views import list_alerts

    cat = Catalog.open()
    ids = world(cat)
    registry.add_subscription(cat, "acme", "email", "desk@example.org")
    c1 = candidate(cat, "v1")
    _name_row(cat, c1, ids["alice"])
    assert sync_alerts(cat) == {"held": 1}
    with cat.session() as s:
        alert = s.scalars(select(Alert)).one()
        assert s.scalars(select(OutboxMessage)).all() == []  # pushed to nobody
        assert (alert.signal, alert.severity, alert.reference_id) == ("name", "low", None)
    shown = list_alerts(cat, tier="review")
    assert [a["id"] for a in shown] == [alert.key] and list_alerts(cat, tier="alert") == []
    assert shown[0]["name_match"] == {"kind": "homophone", "field": "title", "text": "艾丽丝",
                                      "name": "爱丽丝"}
    from alerts.views import format_alert_line
    assert "name homophone '艾丽丝' in title" in format_alert_line(shown[0])

    match(cat, c1, ids["alice"], "face", 0.45, 0.6, "t=1.00s")  # alert tier
    assert sync_alerts(cat) == {"promoted": 1}
    with cat.session() as s:
        alert = s.scalars(select(Alert)).one()
        assert len(s.scalars(select(OutboxMessage)).all()) == 1
        assert (alert.signal, alert.frame) == ("face", "t=1.00s")  # shown by the picture
    assert [a["tier"] for a in list_alerts(cat)] == ["alert"]
    assert sync_alerts(cat) == {}


def test_a_name_beside_a_face_or_hash_match_raises_the_severity_one_step():
    face = {"signal": "face", "distance": 0.45, "threshold": 0.6}  # medium alone
    near = {"signal": "face", "distance": 0.58, "threshold": 0.6}  # low alone
    name = {"signal": "name", "distance": 0.3, "threshold": 0.45}
    exact_name = {"signal": "name", "distance": 0.0, "threshold": 0.45}
    assert (severity([face]), severity([face, name])) == ("medium", "high")
    assert (severity([near]), severity([near, exact_name])) == ("low", "medium")
    assert severity([name]) == "low" and severity([exact_name]) == "low"  # no distance to a picture
    high = {"signal": "pdq", "distance": 5, "threshold": 31}
    assert severity([high, name]) == "high"  # nothing above high

    cat = Catalog.open()
    ids = world(cat)
    c1, c2 = candidate(cat, "v1"), candidate(cat, "v2")
    match(cat, c1, ids["alice"], "face", 0.45, 0.6, "t=1.00s")
    match(cat, c2, ids["alice"], "face", 0.45, 0.6, "t=1.00s")
    _name_row(cat, c2, ids["alice"])
    assert sync_alerts(cat) == {"created": 2}
    with cat.session() as s:
        by_item = {a.candidate_id: a for a in s.scalars(select(Alert))}
    assert (by_item[c1].severity, by_item[c2].severity) == ("medium", "high")
    assert {m["signal"] for m in by_item[c2].signals} == {"face", "name"}
    assert by_item[c2].signal == "face"
