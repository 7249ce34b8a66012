"""The daemon's jobs: thin wrappers (``*_job``) around plain functions tests call directly.

- crawler: :func:`crawl_due` schedules due watches into the work queue and runs claimed
  crawl jobs (each one ``crawler.run.crawl`` in a subprocess), with per-platform backoff.
- matcher: :func:`match_pending` queues back-searches for newly enrolled references,
  hashes and matches pending candidates, runs back-searches, and turns new matches into
  alerts (and outbox rows).
- alerter: :func:`deliver` sends due outbox rows.
- evidence: :func:`capture_evidence` captures and seals evidence for new alerts.
- indexer: :func:`index_new` sends matched candidates (and old ones with new matches) to
  the candidate index that ``likewatch search`` and the API read.

Every step is idempotent and its work is claimed with a lease, so a process killed at any
point loses nothing: what it held is retried when the lease expires. Several processes
may run each role (on several hosts, against PostgreSQL): crawl jobs, pending candidates
(one ``match`` job each), back-searches, outbox rows and evidence captures (one
``evidence`` job per alert) are claimed one process each; alert building takes turns on
its cursor's row; the indexer, one stream, runs in one process at a time (a turn,
:mod:`likewatch.work.turn`), the others standing by.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import String, cast, exists, func, literal, select

from alerts.build import sync_alerts
from alerts.outbox import deliver_due
from likewatch import metrics
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.evidence import EvidenceCapture
from likewatch.catalog.models import Candidate, Reference
from likewatch.catalog.queue import QueueJob, Watch
from likewatch.log import get_logger
from likewatch.work import cursor, heartbeat, queue, turn
from likewatch.work.db import catalog, write_session
from likewatch.work.lease import worker_id
from scheduler import watches

log = get_logger("likewatch.jobs")
_owners: dict[str, str] = {}
# Set when the daemon is stopping: long ticks end early (their work stays queued).
stopping = threading.Event()
# Called with (watch id, summary) after each successful crawl (the demo prints them).
crawl_listeners: list[Any] = []

MATCH_CHUNK = 8
MATCH_QUEUE = "match"
EVIDENCE_QUEUE = "evidence"
QUEUE_AHEAD = 200  # rows queued per look (the rest on the next look)
BACKSEARCH_CURSOR = "backsearch.references"
INDEX_TURN = "index.sync"


def owner(role: str) -> str:
    """This process's lease-owner name for a role."""
    if role not in _owners:
        _owners[role] = worker_id(role)
    return _owners[role]


# --- crawler -----------------------------------------------------------------------------
def run_crawl_job(cat: Catalog, job: queue.ClaimedJob) -> str:
    """Run one claimed crawl job; returns done | ready (retry later) | dead | gone."""
    from crawler.health import record_crawl
    from crawler.run import crawl

    with cat.session() as s:
        w = s.get(Watch, job.payload.get("watch_id"))
        if w is None or not w.enabled:
            queue.complete(cat, job, {"skipped": "watch gone or disabled"})
            return "gone"
        s.expunge(w)
    try:
        with queue.heartbeat(cat, job):
            summary = crawl(w.url, platform=w.platform, mode=w.mode, query=w.query,
                            max_pages=w.max_pages, timeout=3600)
    except Exception as exc:  # noqa: BLE001 - any crawl failure backs the platform off
        metrics.count_crawl(None, platform=w.platform, ok=False)
        delay = watches.record_result(cat, w.id, w.platform, ok=False, error=str(exc))
        log.warning("crawl failed", watch=w.id, platform=w.platform, backoff_s=round(delay, 1),
                    error=str(exc)[:300])
        return queue.fail(cat, job, str(exc), delay=delay)
    metrics.count_crawl(summary, platform=w.platform, ok=True)
    watches.record_result(cat, w.id, w.platform, ok=True, summary=summary)
    record_crawl(cat, summary)  # adapter health samples for `likewatch status`
    queue.complete(cat, job, summary)
    for listener in crawl_listeners:
        listener(w.id, summary)
    log.info("crawl done", watch=w.id, items_new=summary.get("items_new"),
             pages=summary.get("pages"), duration_s=summary.get("duration_s"))
    return "done"


def crawl_due(cat: Catalog | None = None, *, max_jobs: int = 10) -> dict[str, int]:
    """The crawler role's tick: schedule due watches, then run claimed crawl jobs."""
    cat = cat or catalog()
    out: dict[str, int] = {"scheduled": len(watches.schedule_due(cat))}
    if queue.prune(cat):
        log.debug("pruned old done jobs")
    for _ in range(max_jobs):
        if stopping.is_set():
            break
        job = queue.claim(cat, "crawl", owner("crawler"))
        if job is None:
            break
        state = run_crawl_job(cat, job)
        out[state] = out.get(state, 0) + 1
    return out


# --- matcher -----------------------------------------------------------------------------
def queue_backsearches(cat: Catalog) -> list[str]:
    """One back-search job per person with references enrolled since the last look."""
    keys = []
    with write_session(cat) as s:
        mark = cursor.at(s, BACKSEARCH_CURSOR)
        rows = s.execute(select(Reference.person_id, func.max(Reference.id))
                         .where(Reference.id > mark.value)
                         .group_by(Reference.person_id)).all()
        for person_id, max_id in rows:
            key = f"backsearch:{person_id}:{max_id}"
            queue.enqueue(s, "backsearch", key, {"person_id": person_id})
            keys.append(key)
            mark.value = max(mark.value, int(max_id))
    return keys


def run_backsearches(cat: Catalog, *, max_jobs: int = 10) -> int:
    from matchers.pipeline import backsearch

    done = 0
    for _ in range(max_jobs):
        job = queue.claim(cat, "backsearch", owner("matcher"))
        if job is None:
            break
        try:
            with queue.heartbeat(cat, job):
                rows = backsearch(cat, int(job.payload["person_id"]),
                                  signals=job.payload.get("signals"))  # ["name"]: names changed
        except Exception as exc:  # noqa: BLE001 - recorded on the job and retried
            log.warning("backsearch failed", key=job.key, error=str(exc)[:300])
            queue.fail(cat, job, str(exc))
            continue
        queue.complete(cat, job, {"matches": len(rows)})
        done += 1
    return done


def pending_count(cat: Catalog) -> int:
    with cat.session() as s:
        return int(s.scalar(select(func.count()).select_from(Candidate).where(
            Candidate.match_status == "pending")) or 0)


def _queue_unqueued(cat: Catalog, name: str, ids_query: Any, row_id: Any, payload_key: str,
                    limit: int = QUEUE_AHEAD) -> int:
    """One job ``<name>:<id>`` in queue ``name`` per row of ``ids_query`` that has none yet
    (idempotent: two processes queueing the same row add one job)."""
    key = literal(f"{name}:") + cast(row_id, String)
    with cat.session() as s:
        ids = list(s.scalars(ids_query.where(~exists().where(QueueJob.key == key)).limit(limit)))
    if ids:
        with write_session(cat) as s:
            for i in ids:
                queue.enqueue(s, name, f"{name}:{i}", {payload_key: int(i)})
    return len(ids)


def queue_pending(cat: Catalog) -> int:
    """A ``match`` job per pending candidate not queued yet: the matcher processes claim
    them (a lease each), so each candidate is hashed by one of them."""
    return _queue_unqueued(cat, MATCH_QUEUE, select(Candidate.id).where(
        Candidate.match_status == "pending").order_by(Candidate.id), Candidate.id,
        "candidate_id")


def match_pending(cat: Catalog | None = None, *, max_seconds: float = 120.0) -> dict[str, Any]:
    """The matcher role's tick: back-searches, pending candidates, alerts from matches.

    Candidates are claimed and processed in small chunks with alerts synced after each, so
    the first alerts go out while the rest of a large crawl is still being matched.
    """
    from matchers.banks import BankSet
    from matchers.pipeline import process_pending

    cat = cat or catalog()
    out: dict[str, Any] = {"backsearches_queued": len(queue_backsearches(cat))}
    out["alerts"] = dict(sync_alerts(cat))
    banks = BankSet.from_catalog(cat)
    started = time.monotonic()
    processed = 0
    while time.monotonic() - started < max_seconds and not stopping.is_set():
        queue_pending(cat)
        claimed = queue.claim_many(cat, MATCH_QUEUE, owner("matcher"), MATCH_CHUNK)
        if not claimed:
            break
        try:
            with queue.heartbeat(cat, claimed):
                summary = process_pending(
                    cat, ids=[int(j.payload["candidate_id"]) for j in claimed], banks=banks)
        except Exception as exc:
            for job in claimed:  # tried again after a backoff (by any matcher)
                queue.fail(cat, job, repr(exc))
            raise
        for job in claimed:
            queue.complete(cat, job, {"matched": summary.matched})
        processed += summary.candidates
        metrics.count_processed(summary.matched, summary.failed, summary.candidates)
        for k, v in sync_alerts(cat).items():
            out["alerts"][k] = out["alerts"].get(k, 0) + v
    out["candidates"] = processed
    out["backsearches"] = run_backsearches(cat)
    if out["backsearches"]:
        for k, v in sync_alerts(cat).items():
            out["alerts"][k] = out["alerts"].get(k, 0) + v
    for outcome, n in out["alerts"].items():
        metrics.ALERT_BUILDS.labels(outcome=outcome).inc(n)
    return out


# --- alerter -----------------------------------------------------------------------------
def deliver(cat: Catalog | None = None) -> dict[str, int]:
    """The alerter role's tick: send what is due in the outbox."""
    return deliver_due(cat or catalog(), owner("alerter"))


# --- evidence ----------------------------------------------------------------------------
EVIDENCE_BATCH = 5  # alerts captured per tick; the rest wait for the next tick


def queue_evidence(cat: Catalog) -> int:
    """An ``evidence`` job per alert with no capture and none queued (newest first)."""
    captured = select(EvidenceCapture.alert_id)
    return _queue_unqueued(cat, EVIDENCE_QUEUE, select(Alert.id).where(
        Alert.status != "dismissed", Alert.id.cast(EvidenceCapture.alert_id.type).not_in(
            captured)).order_by(Alert.created_at.desc()), Alert.id, "alert_id")


def capture_evidence(cat: Catalog | None = None) -> dict[str, int]:
    """The evidence role's tick: capture and seal evidence for alerts that have none yet.

    Runs in its own role (its own thread or process) so that a slow page never delays
    alert delivery. Each alert's capture is a job claimed by one evidence process; a page
    that fails is logged, counted and tried again after a backoff.
    """
    from alerts.evidence.adapter import AlertNotFound, capture_for_alert
    from alerts.evidence.browser import CaptureError
    from likewatch.netguard import BlockedURL

    cat = cat or catalog()
    queue_evidence(cat)
    counts = {"captured": 0, "failed": 0}
    for _ in range(EVIDENCE_BATCH):
        if stopping.is_set() or (job := queue.claim(cat, EVIDENCE_QUEUE,
                                                    owner("evidence"))) is None:
            break
        try:
            with queue.heartbeat(cat, job):
                capture_for_alert(cat, int(job.payload["alert_id"]))
        except (CaptureError, BlockedURL, AlertNotFound, OSError) as exc:
            counts["failed"] += 1
            log.warning("evidence capture failed", alert_id=job.payload["alert_id"],
                        error=str(exc))
            queue.fail(cat, job, str(exc))
            continue
        queue.complete(cat, job)
        counts["captured"] += 1
    return counts


# --- indexer -----------------------------------------------------------------------------
_index: dict[str, Any] = {}


def index_new(cat: Catalog | None = None) -> dict[str, int]:
    """The indexer role's tick: the candidate index catches up with the catalog."""
    from likewatch import settings
    from matchers.index import open_index
    from matchers.index.sync import sync_new

    key = f"{settings.get('index')}|{settings.get('elasticsearch_url')}|{settings.home()}"
    if key not in _index:  # settings changed (tests switch homes): the old one is closed
        for old in _index.values():
            old.close()
        _index.clear()
        _index[key] = open_index()
    cat = cat or catalog()
    # One indexer process at a time follows the catalog; the others stand by.
    with turn.turn(cat, INDEX_TURN, owner("indexer"),
                   float(settings.get("queue_lease_seconds"))) as mine:
        out = sync_new(cat, _index[key]) if mine else {}
    for kind in ("indexed", "reindexed", "replayed"):
        if out.get(kind):
            metrics.INDEX_DOCUMENTS.labels(kind=kind).inc(out[kind])
    return out


# --- the APScheduler entry points (referenced by name from the job store) ----------------
def crawler_job() -> None:
    _logged("crawler", crawl_due)


def matcher_job() -> None:
    _logged("matcher", match_pending)


def alerter_job() -> None:
    _logged("alerter", deliver)


def evidence_job() -> None:
    _logged("evidence", capture_evidence)


def indexer_job() -> None:
    _logged("indexer", index_new)


def _count_tick(role: str, seconds: float, ok: bool) -> None:
    """Metrics and the role's heartbeat row for one finished tick (never raises: a
    catalog that cannot take the heartbeat shows in the next tick's own error)."""
    metrics.ROLE_TICKS.labels(role=role, outcome="ok" if ok else "error").inc()
    metrics.ROLE_TICK_SECONDS.labels(role=role).observe(seconds)
    try:
        heartbeat.tick(catalog(), role, owner(role), seconds, ok)
    except Exception as exc:  # noqa: BLE001 - a heartbeat is never worth a failed tick
        log.warning("heartbeat not recorded", role=role, error=str(exc)[:200])


_running: dict[str, int] = {}
_running_lock = threading.Lock()


def running() -> int:
    """How many role ticks are running in this process (the daemon waits for 0 to stop)."""
    with _running_lock:
        return sum(_running.values())


def _logged(role: str, fn: Any) -> None:
    started = time.monotonic()
    with _running_lock:
        _running[role] = _running.get(role, 0) + 1
    ok = False
    try:
        result = fn()
        ok = True
    finally:
        with _running_lock:
            _running[role] -= 1
        _count_tick(role, time.monotonic() - started, ok)
    busy = {k: v for k, v in (result or {}).items() if v}
    if busy:
        log.info("tick", role=role, took_s=round(time.monotonic() - started, 2), **busy)
