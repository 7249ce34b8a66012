"""Kill runs: SIGKILL the daemon at chosen points, restart it, and check nothing was lost.

Used by ``tests/scheduler/test_kill_runs.py`` (20 kills) and ``bench/kill_runs.py`` (50).
The harness runs, in this process, a sandbox (new items published every cycle) and a
webhook receiver that verifies signatures; the daemon (``python -m scheduler``) runs as a
child in its own process group and is killed with SIGKILL (the whole group, crawl
subprocesses included, as a service manager would) while it is crawling, matching or
delivering, as observed in the catalog. At the end one daemon runs until everything is
quiet, then the invariants are checked:

- every (person, item) with a match has exactly one alert, and every alert was delivered;
- no alert was received under two different ids; no unknown id; no dead letters;
- every item published during the run was crawled and matched.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, func, select

from alerts.views import alert_tiers
from likewatch import settings
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, OutboxMessage
from likewatch.catalog.models import Candidate, MatchRow
from likewatch.catalog.queue import QueueJob

PHASES = ("crawl", "match", "deliver")
FAST_ENV = {
    "LIKEWATCH_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
    "LIKEWATCH_QUEUE_LEASE_SECONDS": "3",
    "LIKEWATCH_ALERT_LEASE_SECONDS": "3",
    "LIKEWATCH_QUEUE_RETRY_BASE": "0.5",
    "LIKEWATCH_QUEUE_RETRY_MAX": "2",
    "LIKEWATCH_ALERT_RETRY_BASE": "0.5",
    "LIKEWATCH_ALERT_RETRY_MAX": "2",
    "LIKEWATCH_CRAWL_BACKOFF_BASE": "0.5",
    "LIKEWATCH_CRAWL_BACKOFF_MAX": "2",
    "LIKEWATCH_QUEUE_MAX_ATTEMPTS": "50",
    "LIKEWATCH_ALERT_MAX_ATTEMPTS": "50",
    "LIKEWATCH_SCHEDULER_MISFIRE_GRACE": "5",
}


@dataclass
class KillReport:
    kills: int = 0
    phases: Counter[str] = field(default_factory=Counter)
    alerts: int = 0
    delivered: int = 0
    requests: int = 0
    redelivered_same_id: int = 0
    lost: list[str] = field(default_factory=list)
    multi_id: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    unverified: int = 0
    dead: int = 0
    not_crawled: list[str] = field(default_factory=list)
    pending_left: int = 0
    matches_without_alert: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.multi_id or self.unknown_ids or self.unverified
                    or self.dead or self.not_crawled or self.pending_left
                    or self.matches_without_alert) and self.alerts > 0

    def summary(self) -> str:
        return (f"{self.kills} kills ({dict(self.phases)}) in {self.seconds:.0f} s: "
                f"{self.alerts} alerts, {self.delivered} delivered, {self.requests} requests "
                f"({self.redelivered_same_id} re-deliveries under the same id), "
                f"lost {len(self.lost)}, under two ids {len(self.multi_id)}, "
                f"unknown ids {len(self.unknown_ids)}, unverified {self.unverified}, "
                f"dead {self.dead}, items not crawled {len(self.not_crawled)}, "
                f"pending {self.pending_left}, matches without alert "
                f"{self.matches_without_alert}")


def _count(cat: Catalog, stmt: Any) -> int:
    with cat.session() as s:
        return int(s.scalar(stmt) or 0)


def _snapshot(cat: Catalog, pid: int = 0) -> dict[str, int]:
    """Counts that tell what the daemon with ``pid`` is doing (leases name their owner's pid)."""
    now = time.time()
    mine = f"%:{pid}:%"
    return {
        "crawl_leased": _count(cat, select(func.count()).select_from(QueueJob).where(
            QueueJob.queue == "crawl", QueueJob.state == "leased", QueueJob.lease_until > now,
            QueueJob.lease_owner.like(mine))),
        "done": _count(cat, select(func.count()).select_from(Candidate).where(
            Candidate.match_status != "pending")),
        "pending": _count(cat, select(func.count()).select_from(Candidate).where(
            Candidate.match_status == "pending")),
        "out_leased": _count(cat, select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state == "pending", OutboxMessage.lease_until > now,
            OutboxMessage.lease_owner.like(mine))),
        "sent": _count(cat, select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state == "sent")),
        "out_pending": _count(cat, select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state == "pending")),
    }


def _in_phase(phase: str, start: dict[str, int], now: dict[str, int]) -> bool:
    if phase == "crawl":
        return now["crawl_leased"] > 0
    if phase == "match":
        return now["done"] > start["done"] and now["pending"] > 0
    return now["out_leased"] > 0 or (now["sent"] > start["sent"] and now["out_pending"] > 0)


def start_daemon(log_path: Path, tick: float = 0.5, roles: str | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``python -m scheduler`` (what `likewatch run` runs) in its own process group, with
    the fast settings (and ``env`` on top); ``roles`` as ``--roles`` takes them."""
    env = dict(os.environ, **FAST_ENV, **(env or {}), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "scheduler", "--tick", str(tick)]
    if roles:
        cmd += ["--roles", roles]
    with open(log_path, "ab") as logf:
        return subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def setup(cat: Catalog, data_dir: Path, base_url: str, receiver_url: str, secret: str,
          every: float = 1.0, max_pages: int | None = None) -> list[str]:
    """An agency with the sandbox's three demo persons enrolled, one roster webhook, a watch."""
    import json

    from alerts import registry
    from matchers.enroll import enroll
    from scheduler.watches import add_watch

    truth = json.loads((data_dir / "ground_truth.json").read_text(encoding="utf-8"))
    registry.add_client(cat, "Chaos Agency", "agency")
    persons = sorted(truth["persons"])
    for key in persons:
        info = truth["persons"][key]
        registry.add_person(cat, "Chaos Agency", key, name=info["label"])
        enroll(cat, key, [Path(p) for p in info["reference_files"]], client="Chaos Agency",
               display_name=info["label"])
    registry.add_subscription(cat, "Chaos Agency", "webhook", receiver_url, secret=secret)
    add_watch(cat, "Chaos Agency", "sandbox", f"{base_url}/browse?page=1", every=every,
              max_pages=max_pages)
    return persons


def preload(cat: Catalog, base_url: str, max_pages: int | None = None) -> int:
    """Crawl what was published before the run, and take it as already processed.

    The run's time then goes to kill cycles over newly published items (which are the
    ones checked), instead of to matching old content. A full crawl (``max_pages`` None)
    also marks the watch's listing as crawled to its end: later crawls follow pagination
    until a page holds nothing new, so however many items appear while crawls keep being
    killed, none falls out of reach.
    """
    from sqlalchemy import update

    from crawler.run import crawl
    from likewatch.work.db import write_session

    crawl(f"{base_url}/browse?page=1", platform="sandbox", mode="listing", max_pages=max_pages)
    with write_session(cat) as s:
        res = s.execute(update(Candidate).where(Candidate.match_status == "pending")
                        .values(match_status="matched"))
        return int(getattr(res, "rowcount", 0))


def wait_quiet(cat: Catalog, since: float, timeout: float) -> bool:
    """Everything published was crawled after ``since``, matched, alerted and delivered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = _snapshot(cat)
        crawled_after = _count(cat, select(func.count()).select_from(QueueJob).where(
            QueueJob.queue == "crawl", QueueJob.state == "done", QueueJob.finished_at > since))
        busy = _count(cat, select(func.count()).select_from(QueueJob).where(
            QueueJob.queue == "backsearch", QueueJob.state.in_(("ready", "leased"))))
        if (crawled_after >= 1 and snap["pending"] == 0 and snap["out_pending"] == 0
                and not busy and unalerted(cat) == 0):
            return True
        time.sleep(0.5)
    return False


def unalerted(cat: Catalog) -> int:
    """Alert-tier matches without their alert (review-tier ones never get one)."""
    return _count(cat, select(func.count()).select_from(MatchRow).where(
        MatchRow.tier == "alert", ~exists().where(and_(
            Alert.person_id == MatchRow.person_id, Alert.candidate_id == MatchRow.candidate_id))))


def run(kills: int, data_dir: Path, *, publish_per_cycle: int = 2, rng_seed: int = 0,
        log_path: Path | None = None, phase_timeout: float = 40.0,
        quiet_timeout: float = 180.0, progress: Any = None) -> KillReport:
    """Run ``kills`` kill cycles against a fresh LIKEWATCH_HOME; return the report.

    The fast settings apply to this process too while it runs, and are put back after, so a
    caller (a test session) does not inherit the loopback allow-list or short leases.
    """
    saved = {k: os.environ.get(k) for k in FAST_ENV}
    os.environ.update(FAST_ENV)
    try:
        return _run(kills, data_dir, publish_per_cycle=publish_per_cycle, rng_seed=rng_seed,
                    log_path=log_path, phase_timeout=phase_timeout,
                    quiet_timeout=quiet_timeout, progress=progress)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run(kills: int, data_dir: Path, *, publish_per_cycle: int, rng_seed: int,
         log_path: Path | None, phase_timeout: float, quiet_timeout: float,
         progress: Any) -> KillReport:
    import secrets

    rng = random.Random(rng_seed)
    log_path = log_path or settings.home() / "daemon.log"
    report = KillReport()
    secret = secrets.token_hex(8)
    started = time.monotonic()
    cat = Catalog.open()
    truth = json.loads((data_dir / "ground_truth.json").read_text(encoding="utf-8"))["items"]
    live: list[subprocess.Popen[bytes]] = []
    try:
        published, received = _cycles(cat, data_dir, truth, kills, report, live, rng, log_path,
                                      secret, publish_per_cycle, phase_timeout, quiet_timeout,
                                      progress)
    finally:
        for proc in live:  # never leave a daemon behind, whatever happened
            if proc.poll() is None:
                kill_group(proc)
    report.seconds = time.monotonic() - started
    verify(cat, report, published, received)
    return report


def _cycles(cat: Catalog, data_dir: Path, truth: dict[str, Any], kills: int,
            report: KillReport, live: list[subprocess.Popen[bytes]], rng: random.Random,
            log_path: Path, secret: str, publish_per_cycle: int, phase_timeout: float,
            quiet_timeout: float, progress: Any) -> tuple[list[str], list[Any]]:
    from alerts.receiver import WebhookReceiver
    from sandbox.faults import FaultConfig
    from sandbox.server import SandboxServer

    def slow_reply(path: str) -> tuple[int, bytes]:
        time.sleep(0.15)  # a receiver that takes a moment: deliveries are killable in flight
        return 200, b"ok"

    with SandboxServer(data_dir, faults=FaultConfig.none()) as server, \
            WebhookReceiver(secret, reply=slow_reply) as rx:
        first_position = server.published_count  # items published from here on are checked
        setup(cat, data_dir, server.base_url, rx.url + "/hook", secret)
        preload(cat, server.base_url)
        for i in range(kills):
            phase = PHASES[i % len(PHASES)]
            # The receiver is down except in delivery cycles, so alerts queue up meanwhile
            # (and a receiver that was down gets them later).
            rx.down = phase != "deliver"
            # Crawl cycles publish until an item about an enrolled person is among them,
            # so the match and delivery cycles after them have work.
            for _ in range(3 if phase == "crawl" else 1):
                ids = server.publish_now(publish_per_cycle)
                if not ids or any(truth.get(x, {}).get("person") for x in ids):
                    break
            start = _snapshot(cat)
            proc = start_daemon(log_path)
            live.append(proc)
            deadline = time.monotonic() + phase_timeout
            hit = "timeout"
            while time.monotonic() < deadline and proc.poll() is None:
                if _in_phase(phase, start, _snapshot(cat, proc.pid)):
                    hit = phase
                    break
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.4))
            kill_group(proc)
            report.kills += 1
            report.phases[hit] += 1
            if progress:
                progress(f"kill {i + 1}/{kills}: {hit}")
        final_start = time.time()
        rx.down = False
        proc = start_daemon(log_path)
        live.append(proc)
        quiet = wait_quiet(cat, final_start, quiet_timeout)
        kill_group(proc, signal.SIGTERM)
        if not quiet and progress:
            progress("daemon did not become quiet in time")
        published = [it["id"] for it in server.published()][max(0, first_position):]
        received = rx.wait_for(0, 0)
    return published, received


def verify(cat: Catalog, report: KillReport, published: list[str], received: list[Any]
           ) -> None:
    """Fill ``report`` from the catalog's alerts and what the receiver got (``received``):
    alerts never delivered, one item under two ids, unknown ids, dead letters, items of
    ``published`` never crawled, candidates left pending, matches without an alert."""
    with cat.session() as s:
        rows = list(s.scalars(select(Alert).where(Alert.status == "new")))
        tiers = alert_tiers(s, rows)  # review-tier alerts wait for the desk, never sent
        alerts = {a.key: a for a in rows if tiers[a.id] == "alert"}
        crawled = set(s.scalars(select(Candidate.item_id)))
        report.dead = int(s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state == "dead")) or 0)
        report.pending_left = int(s.scalar(select(func.count()).select_from(Candidate).where(
            Candidate.match_status == "pending")) or 0)
    report.matches_without_alert = unalerted(cat)
    report.alerts = len(alerts)
    report.not_crawled = [i for i in published if i not in crawled]
    report.requests = len(received)
    ids_by_item: dict[tuple[Any, Any, Any], set[str]] = defaultdict(set)
    per_id: Counter[str] = Counter()
    for r in received:
        report.unverified += not r.verified
        per_id[r.alert_id] += 1
        b = r.body
        where = b.get("where") or {}
        ids_by_item[((b.get("person") or {}).get("id"), where.get("platform"),
                     where.get("item_id"))].add(r.alert_id)
    report.delivered = len(set(per_id) & set(alerts))
    report.redelivered_same_id = sum(n - 1 for n in per_id.values())
    report.lost = sorted(set(alerts) - set(per_id))
    report.unknown_ids = sorted(set(per_id) - set(alerts))
    report.multi_id = sorted(f"{k}: {sorted(v)}" for k, v in ids_by_item.items() if len(v) > 1)
