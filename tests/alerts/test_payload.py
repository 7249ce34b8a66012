"""The typed alert payload (alerts/payload.py) and its published JSON Schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pydantic
import pytest

from alerts import payload
from alerts.build import sync_alerts
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from tests.alerts.helpers import candidate, match, world

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _published_schema() -> dict:
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(r"## The JSON Schema\n.*?```json\n(.*?)\n```", text, re.S)
    assert m, "docs/webhooks.md has no '## The JSON Schema' section with a json block"
    return json.loads(m.group(1))


def test_the_published_schema_is_the_models():
    assert _published_schema() == payload.json_schema(), (
        "docs/webhooks.md's schema is stale: paste "
        "python -c 'import json, alerts.payload as p; print(json.dumps(p.json_schema(), indent=2))'")


def _one(cat):
    ids = world(cat)
    match(cat, candidate(cat, "v1"), ids["alice"], "face", 0.3, 0.6, "t=1.00s")
    sync_alerts(cat)
    with cat.session() as s:
        return payload.alert_payload(s, s.query(Alert).one())


def test_tier_is_left_out_until_set_and_round_trips_when_set():
    p = _one(Catalog.open())
    assert "tier" not in p.wire()
    review = p.model_copy(update={"tier": "review"})
    assert review.wire()["tier"] == "review"
    assert payload.parse(json.dumps(review.wire())) == review


def test_a_body_with_an_unknown_or_missing_field_is_not_an_alert():
    wire = _one(Catalog.open()).wire()
    with pytest.raises(pydantic.ValidationError, match="extra"):
        payload.parse(dict(wire, surprise=1))
    del wire["where"]
    with pytest.raises(pydantic.ValidationError, match="where"):
        payload.parse(wire)


def test_times_are_utc_with_a_z_as_before():
    wire = _one(Catalog.open()).wire()
    assert wire["published_at"] == "2026-01-02T03:04:05Z"
    for key in ("found_at", "alerted_at", "updated_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", wire[key]), wire[key]


def test_a_signals_details_are_left_out_until_set_and_round_trip():
    from likewatch.catalog.models import MatchRow
    from likewatch.work.db import write_session

    cat = Catalog.open()
    ids = world(cat)
    cid = candidate(cat, "v1")
    match(cat, cid, ids["alice"], "face", 0.3, 0.6, "t=1.00s")
    with write_session(cat) as s:
        s.add(MatchRow(candidate_id=cid, person_id=ids["alice"], signal="name", frame="",
                       distance=0.2, threshold=0.45, tier="review",
                       details={"kind": "pinyin", "field": "title", "text": "Ai Lisi",
                                "name": "爱丽丝"}))
    sync_alerts(cat)
    with cat.session() as s:
        wire = payload.alert_payload(s, s.query(Alert).one()).wire()
    by_signal = {m["signal"]: m for m in wire["signals"]}
    assert "details" not in by_signal["face"]
    assert by_signal["name"]["details"] == {"kind": "pinyin", "field": "title",
                                            "text": "Ai Lisi", "name": "爱丽丝"}
    assert wire["match"]["signal"] == "face"
    assert payload.parse(json.dumps(wire)).wire() == wire
