"""The roles' plain functions, for real: crawl the sandbox, match, back-search a person
enrolled afterwards (old content alerts too), deliver a signed webhook. Run on the
default SQLite catalog and on PostgreSQL (a real server, tests/scheduler/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts import registry
from alerts.receiver import WebhookReceiver
from alerts.views import alert_tiers
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Candidate
from matchers.enroll import enroll
from matchers.index import open_index
from matchers.index.base import SearchFilters
from scheduler import jobs
from scheduler.watches import add_watch, list_watches


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_backend(request):
    if request.param == "postgresql":
        request.getfixturevalue("pg_url")  # sets LIKEWATCH_CATALOG_URL for this test
    return request.param


@pytest.mark.slow
def test_crawl_match_backsearch_deliver(sandbox_server, sandbox_data, monkeypatch,
                                        catalog_backend):
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    truth = json.loads((sandbox_data / "ground_truth.json").read_text(encoding="utf-8"))
    with Catalog.open() as cat:  # closed at the end: no connection left to the server
        assert cat.engine.dialect.name == catalog_backend
        with WebhookReceiver("k") as rx:
            registry.add_client(cat, "Studio")
            registry.add_person(cat, "Studio", "demo-a", name="Demo person A")
            registry.add_subscription(cat, "Studio", "webhook", rx.url, person="demo-a", secret="k")
            add_watch(cat, "Studio", "sandbox", f"{sandbox_server.base_url}/browse?page=1",
                      every=3600, max_pages=1)

            out = jobs.crawl_due(cat)
            assert out == {"scheduled": 1, "done": 1}
            assert jobs.crawl_due(cat) == {"scheduled": 0}  # not due again for an hour
            assert list_watches(cat)[0]["last_summary"]["items_new"] == 24

            # Nobody enrolled yet: everything is matched, nothing alerts.
            first = jobs.match_pending(cat)
            assert first["candidates"] == 24 and first["alerts"] == {}
            with cat.session() as s:
                assert s.scalar(select(func.count()).select_from(Candidate).where(
                    Candidate.match_status == "pending")) == 0

            # Enrolling afterwards searches back through what is stored.
            info = truth["persons"]["demo-a"]
            enroll(cat, "demo-a", [Path(p) for p in info["reference_files"]], client="Studio")
            second = jobs.match_pending(cat)
            assert second["backsearches_queued"] == 1 and second["backsearches"] == 1
            assert second["alerts"].get("created", 0) >= 1
            assert jobs.match_pending(cat)["alerts"] == {}  # idempotent

            sent = jobs.deliver(cat)
            got = rx.wait_for(sent.get("sent", 0), 10)
        assert sent.get("sent", 0) == second["alerts"]["created"] and len(got) == sent["sent"]
        assert all(g.verified and g.body["person"]["id"] == "demo-a" for g in got)
        alerted = {g.body["where"]["item_id"] for g in got}
        truly = {i for i, v in truth["items"].items() if v["person"] == "demo-a"}
        assert alerted & truly, (alerted, truly)
        with cat.session() as s:  # every alert-tier alert was sent; review ones wait, unsent
            rows = list(s.scalars(select(Alert)))
            tiers = alert_tiers(s, rows)
            held = {s.get(Candidate, a.candidate_id).item_id for a in rows
                    if tiers[a.id] == "review"}
        assert list(tiers.values()).count("alert") == len(got)

        # The indexer role makes all of it searchable: every candidate, and the persons
        # matched (found by the back-search after they were first matched).
        assert jobs.index_new(cat) == {"indexed": 24, "reindexed": 0}
        assert jobs.index_new(cat) == {"indexed": 0, "reindexed": 0}
        with open_index() as index:
            assert index.search("", size=50).total == 24
            page = index.search("", SearchFilters(person=["demo-a"]), size=50)
        assert {h.item_id for h in page.hits} == alerted | held  # sent, or held for review
