"""The end of a scale run (demo/scale.py): waiting until all is quiet, then the end state
against the sandbox's ground truth.

**Expected alerts** are those the system owes: every alert it raised (each must reach the
webhook), plus every (item, person) of the ground truth, published during the run, that
has no alert because of a fault: the item never crawled, its candidate never matched, or
its media missing. An item the matcher saw whole and did not match is a detection miss
(``missed_by_matcher``, the matcher's recall on the sandbox, reported apart): no fault
caused it, and the same run without faults misses it too.

**Lost** = expected alerts never delivered. **Duplicates** = content items delivered under
two alert ids, and ids the catalog does not know. A re-delivery of the same id counts once
(at-least-once delivery: ``redeliveries``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import String, cast, func, literal, select

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, Delivery, OutboxMessage
from likewatch.catalog.evidence import EvidenceCapture
from likewatch.catalog.models import Candidate, Person
from likewatch.catalog.queue import QueueJob
from likewatch.media import MediaStore

OPEN = ("ready", "leased")


def _count(cat: Catalog, stmt: Any) -> int:
    with cat.session() as s:
        return int(s.scalar(stmt) or 0)


def index_count() -> int | None:
    """Candidates in the index the settings name (None while it cannot be reached)."""
    from matchers.index import IndexUnavailable, open_index

    index = open_index()
    try:
        return index.count()
    except IndexUnavailable:
        return None
    finally:
        index.close()


def busy(cat: Catalog, published: Sequence[str]) -> dict[str, int]:
    """What is still to do: each count must reach 0."""
    from demo.chaos import unalerted

    with cat.session() as s:
        crawled = set(s.scalars(select(Candidate.item_id).where(
            Candidate.item_id.in_(list(published)))))
        captured = select(EvidenceCapture.alert_id)
        no_evidence = s.scalar(select(func.count()).select_from(Alert).where(
            Alert.status != "dismissed",
            Alert.id.cast(EvidenceCapture.alert_id.type).not_in(captured),
            ~select(QueueJob.id).where(QueueJob.state == "dead", QueueJob.key == literal(
                "evidence:") + cast(Alert.id, String)).exists()))
    candidates = _count(cat, select(func.count()).select_from(Candidate))
    indexed = index_count()
    return {
        "not_crawled": len(set(published) - crawled),
        "pending": _count(cat, select(func.count()).select_from(Candidate).where(
            Candidate.match_status == "pending")),
        "jobs": _count(cat, select(func.count()).select_from(QueueJob).where(
            QueueJob.queue.in_(("match", "evidence", "backsearch")), QueueJob.state.in_(OPEN))),
        "outbox": _count(cat, select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state == "pending")),
        "unalerted": unalerted(cat),
        "no_evidence": int(no_evidence or 0),
        "index_lag": candidates - indexed if indexed is not None else candidates,
    }


def wait_quiet(cat: Catalog, published: Sequence[str], timeout: float,
               keep_alive: Callable[[], object], progress: Callable[[str], None]) -> bool:
    """Until nothing is left to do (True) or ``timeout`` seconds pass (False);
    ``keep_alive`` is called between looks (it restarts processes that died)."""
    deadline = time.monotonic() + timeout
    last = 0.0
    while time.monotonic() < deadline:
        keep_alive()
        left = {k: v for k, v in busy(cat, published).items() if v}
        if not left:
            return True
        if time.monotonic() - last > 20:
            progress(f"still to do: {left}")
            last = time.monotonic()
        time.sleep(1.0)
    return False


def figures(cat: Catalog, truth: dict[str, Any], published: list[str],
            received: list[Any]) -> dict[str, Any]:
    """The end state, checked (see the module docstring)."""
    from demo.chaos import KillReport, verify

    report = KillReport()
    verify(cat, report, published, received)
    items = truth["items"]
    pairs = {(i, items[i]["person"]) for i in published
             if items.get(i, {}).get("person") in truth["persons"]}
    store = MediaStore(cat.home)
    with cat.session() as s:
        alerted = {(item, person) for item, person in s.execute(
            select(Candidate.item_id, Person.key).join(Alert, Alert.candidate_id == Candidate.id)
            .join(Person, Person.id == Alert.person_id))}
        cands = {c.item_id: c for c in s.scalars(select(Candidate).where(
            Candidate.item_id.in_([i for i, _ in pairs])))}
        s.expunge_all()
        captured = int(s.scalar(select(func.count(func.distinct(EvidenceCapture.alert_id))))
                       or 0)

    def whole(c: Candidate) -> bool:
        def stored(sha: str | None) -> bool:
            return bool(sha) and store.path(sha or "").exists()
        return stored(c.thumbnail_sha256) and (not c.video_url or stored(c.video_sha256))

    faulted, missed = [], []
    for item, person in sorted(pairs - alerted):
        c = cands.get(item)
        if c is None or c.match_status == "pending" or not whole(c):
            faulted.append(f"{item}:{person}")
        else:
            missed.append(f"{item}:{person}")
    expected = report.alerts + len(faulted)
    index_docs = index_count()
    return {
        "alerts_expected": expected,
        "alerts_delivered": report.delivered,
        "lost": expected - report.delivered,
        "duplicates": len(report.multi_id) + len(report.unknown_ids),
        "index_docs": index_docs,
        "catalog_candidates": _count(cat, select(func.count()).select_from(Candidate)),
        "items_published": len(published),
        "truth_pairs": len(pairs),
        "truth_pairs_alerted": len(pairs & alerted),
        "missed_by_matcher": len(missed),
        "alerts_beyond_truth": len(alerted - pairs),
        "lost_before_alert": faulted,
        "lost_undelivered": report.lost,
        "duplicated_items": report.multi_id,
        "unknown_ids": report.unknown_ids,
        "unverified": report.unverified,
        "redeliveries": report.redelivered_same_id,
        "dead_letters": report.dead,
        "evidence_captured": captured,
        "not_crawled": len(report.not_crawled),
        "pending_left": report.pending_left,
        "work_done": work_done(cat),
    }


def work_done(cat: Catalog) -> dict[str, int]:
    """How much each role did (to set against its CPU seconds: docs/deploy.md)."""
    def done(queue: str) -> int:
        return _count(cat, select(func.count()).select_from(QueueJob).where(
            QueueJob.queue == queue, QueueJob.state == "done"))

    return {"crawls": done("crawl"), "candidates_matched": done("match"),
            "deliveries": _count(cat, select(func.count()).select_from(Delivery)),
            "evidence_captures": _count(cat, select(func.count()).select_from(EvidenceCapture))}
