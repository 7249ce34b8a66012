"""Scenarios on the sandbox, through the roles' plain functions (crawl, match, alert):
names in the items' text (sandbox.scenarios.publish_named) and re-uploads of a removed
item (sandbox.scenarios.reupload)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts import registry
from alerts.build import severity
from alerts.views import list_alerts
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, OutboxMessage
from likewatch.catalog.models import Candidate, MatchRow
from matchers.enroll import enroll
from sandbox.scenarios import DEMO_NAMES, publish_named
from scheduler import jobs
from scheduler.watches import add_watch

PERSON = "demo-a"


def _setup(cat: Catalog, sandbox_server, sandbox_data: Path) -> None:
    truth = json.loads((sandbox_data / "ground_truth.json").read_text(encoding="utf-8"))
    name, alias = DEMO_NAMES[PERSON]
    registry.add_client(cat, "Studio")
    registry.add_person(cat, "Studio", PERSON, name=name, aliases=[alias])
    enroll(cat, PERSON, [Path(p) for p in truth["persons"][PERSON]["reference_files"]],
           client="Studio")
    registry.add_subscription(cat, "Studio", "email", "desk@example.org", person=PERSON)
    add_watch(cat, "Studio", "sandbox", f"{sandbox_server.base_url}/browse?page=1",
              every=3600, max_pages=1)


def _alerts(cat: Catalog) -> dict[str, Alert]:
    with cat.session() as s:
        return {item: a for a, item in s.execute(
            select(Alert, Candidate.item_id).join(Candidate, Candidate.id == Alert.candidate_id))}


@pytest.mark.slow
def test_a_homophone_alone_waits_for_review_and_a_name_beside_a_face_raises_severity(
        sandbox_server, sandbox_data, monkeypatch):
    from sandbox.scenarios import person_item

    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    face_item = person_item(sandbox_server, PERSON, "crop20")  # the person's second photo
    named = publish_named(sandbox_server, PERSON, face_from=face_item)
    with Catalog.open() as cat:
        _setup(cat, sandbox_server, sandbox_data)
        assert jobs.crawl_due(cat) == {"scheduled": 1, "done": 1}
        out = jobs.match_pending(cat)
        assert out["candidates"] == 24
        alerts = _alerts(cat)
        with cat.session() as s:
            name_rows = {item: r for r, item in s.execute(
                select(MatchRow, Candidate.item_id).join(Candidate)
                .where(MatchRow.signal == "name"))}
            outbox = {a for (a,) in s.execute(select(OutboxMessage.alert_id))}

        # The homophone over a picture without a face: a review-tier alert, sent to nobody.
        assert set(name_rows) == {named["homophone"], named["face_and_name"]}
        h = alerts[named["homophone"]]
        assert name_rows[named["homophone"]].tier == "review"
        assert name_rows[named["homophone"]].details["kind"] == "homophone"
        assert [m["signal"] for m in h.signals] == ["name"] and h.id not in outbox
        review = {a["item_id"]: a for a in list_alerts(cat, tier="review")}
        assert review[named["homophone"]]["name_match"]["text"] == "酥年情"

        # The same picture as face_item, with the person credited in the cast: the name
        # raises the severity of the face match one step.
        plain, both = alerts[face_item], alerts[named["face_and_name"]]
        assert name_rows[named["face_and_name"]].details["kind"] == "exact"
        media_only = [m for m in both.signals if m["signal"] != "name"]
        assert {m["signal"] for m in media_only} == {m["signal"] for m in plain.signals}
        assert plain.severity == severity(media_only) != "high"
        levels = ["low", "medium", "high"]
        assert levels.index(both.severity) == levels.index(plain.severity) + 1
        assert both.signal == plain.signal != "name"


@pytest.mark.slow
def test_a_reuploaded_copy_of_a_removed_item_alerts_as_a_reupload(
        sandbox_server, sandbox_data, monkeypatch):
    from alerts.notices.outcomes import draft_notice, set_state
    from alerts.payload import alert_payload
    from likewatch.catalog.notices import Notice
    from likewatch.catalog.queue import Watch
    from likewatch.work.db import write_session
    from sandbox.scenarios import person_item, reupload

    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    original = person_item(sandbox_server, PERSON)
    with Catalog.open() as cat:
        _setup(cat, sandbox_server, sandbox_data)
        jobs.crawl_due(cat)
        jobs.match_pending(cat)
        first = _alerts(cat)
        assert first[original].signals and all(a.reupload_of is None for a in first.values())

        # A notice, filed; the platform removes the item.
        notice = draft_notice(cat, first[original].id, "sandbox", actor="test")
        set_state(cat, notice.id, "filed", actor="test")
        set_state(cat, notice.id, "removed", actor="test")
        sandbox_server.take_down(original)
        assert not sandbox_server.is_published(original)

        # A re-encoded copy comes back under another id and uploader; the watch runs again.
        copy = reupload(sandbox_server, original)
        with write_session(cat) as s:
            for w in s.scalars(select(Watch)):
                w.next_due_at = 0.0
        assert jobs.crawl_due(cat)["done"] == 1
        jobs.match_pending(cat)
        alerts = _alerts(cat)
        assert copy in alerts
        again = alerts[copy]
        with cat.session() as s:
            n = s.get(Notice, notice.id)
            assert again.reupload_of == n.id
            rows = list(s.scalars(select(MatchRow).join(Candidate).where(
                Candidate.item_id == copy, MatchRow.signal == "reupload")))
            assert rows and all(r.details["notice_id"] == n.id for r in rows)
            assert {r.details["removed_item"] for r in rows} == {first[original].candidate_id}
            wire = alert_payload(s, again).wire()
            pushed = {a for (a,) in s.execute(select(OutboxMessage.alert_id))}
        assert again.id in pushed  # alert tier: it goes out
        assert wire["reupload_of"] == {
            "notice_no": n.notice_no, "platform": "sandbox", "alert_id": first[original].key,
            "item_id": original, "url": n.url or wire["reupload_of"]["url"],
            "removed_at": wire["reupload_of"]["removed_at"]}
        assert wire["reupload_of"]["removed_at"] is not None
        # Only the copy is a re-upload; the items alerted before stay as they were.
        assert [item for item, a in alerts.items() if a.reupload_of is not None] == [copy]
        shown = {a["item_id"]: a for a in list_alerts(cat)}
        assert shown[copy]["reupload_of"]["alert_id"] == first[original].key
