"""Several processes per role against PostgreSQL and an Elasticsearch cluster, with faults:
the harness of ``bench/scale.py`` (and, without a cluster or faults, of the multi-process
test in tests/scheduler).

Running: a sandbox publishing new items as the run goes, a webhook receiver checking
signatures, a PostgreSQL server (:mod:`demo.services`), an Elasticsearch cluster
(``deploy/es-node cluster``; or the embedded index), and ``per_role`` processes of each
role, each ``python -m scheduler --roles R`` (what ``likewatch run --roles R`` runs) in its
own process group. Two clients watch the sandbox (two watches: crawl jobs to split).

Faults while items are published: a role process killed with SIGKILL (its whole group:
a crawl's Scrapy child, a Chromium) at random every ``duration / kills`` seconds, started
again two seconds later as a service manager would; one Elasticsearch node stopped for
``node_down`` seconds, then started again. Then every process runs until all is quiet and
the end state is checked against the sandbox's ground truth (:mod:`demo.scale_check`).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from likewatch import settings
from likewatch.catalog import Catalog
from likewatch.work.db import reset_catalog

ROLES = ("crawler", "matcher", "alerter", "evidence", "indexer")
Progress = Callable[[str], None]


@dataclass
class ScaleConfig:
    duration: float = 180.0  # seconds of publishing and faults
    per_role: int = 2
    roles: tuple[str, ...] = ROLES
    kills: int = 5  # role processes killed with SIGKILL, spread over the duration
    es_nodes: int = 3  # 0: the embedded index, no cluster
    node_down: float = 45.0  # seconds one node stays stopped (0: none is stopped)
    publish_every: float = 3.0  # seconds between two items published
    watch_every: float = 5.0
    tick: float = 1.0
    quiet_timeout: float = 300.0
    seed: int = 1
    env: dict[str, str] = field(default_factory=dict)  # more settings for every process


class Fleet:
    """The role processes: ``<role>-<n>`` each, started, killed and started again."""

    def __init__(self, config: ScaleConfig, log_dir: Path, env: dict[str, str]) -> None:
        self.config, self.log_dir, self.env = config, log_dir, env
        self.procs: dict[str, Any] = {}
        self.kills: list[str] = []
        self.cpu: dict[str, float] = {}  # role -> CPU seconds of its processes (children too)

    def _account(self, name: str) -> None:
        """Add the CPU time of process ``name`` (and of the children it waited for: crawl
        subprocesses) to its role's, read just before it is stopped or killed."""
        try:
            with open(f"/proc/{self.procs[name].pid}/stat", encoding="ascii") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return
        role = name.rsplit("-", 1)[0]
        ticks = sum(int(x) for x in f[11:15])  # utime stime cutime cstime
        self.cpu[role] = self.cpu.get(role, 0.0) + ticks / os.sysconf("SC_CLK_TCK")

    @property
    def names(self) -> list[str]:
        return [f"{r}-{i}" for r in self.config.roles for i in range(1, self.config.per_role + 1)]

    def start(self, name: str) -> None:
        from demo.chaos import start_daemon

        role = name.rsplit("-", 1)[0]
        self.procs[name] = start_daemon(self.log_dir / f"{name}.log", self.config.tick,
                                        roles=role, env=self.env)

    def start_all(self) -> None:
        for name in self.names:
            self.start(name)

    def kill(self, name: str) -> None:
        from demo.chaos import kill_group

        self._account(name)
        kill_group(self.procs[name])
        self.kills.append(name)

    def restart_dead(self) -> list[str]:
        dead = [n for n, p in self.procs.items() if p.poll() is not None]
        for name in dead:
            self.start(name)
        return dead

    def stop_all(self) -> None:
        from demo.chaos import kill_group

        for name, proc in self.procs.items():
            if proc.poll() is None:
                self._account(name)
                try:
                    kill_group(proc, signal.SIGTERM)
                except Exception:  # noqa: BLE001 - it did not stop: SIGKILL below
                    kill_group(proc)


def _setup(cat: Catalog, data_dir: Path, base_url: str, receiver_url: str, secret: str,
           every: float) -> None:
    """Chaos Agency (the demo persons, a webhook, a watch: demo.chaos.setup) and a second
    client watching the same listing (a second watch, so crawl jobs can be split). New
    items appear on the listing's first pages: both watches read three."""
    from alerts import registry
    from demo.chaos import preload, setup
    from scheduler.watches import add_watch

    setup(cat, data_dir, base_url, receiver_url, secret, every=every, max_pages=3)
    registry.add_client(cat, "Scale Studio", "studio")
    add_watch(cat, "Scale Studio", "sandbox", f"{base_url}/?page=1", every=every, max_pages=3)
    # What is there before the run is taken as matched: its media are not needed.
    media = os.environ.get("LIKEWATCH_MEDIA_ENABLED")
    os.environ["LIKEWATCH_MEDIA_ENABLED"] = "false"
    try:
        preload(cat, base_url, max_pages=3)
    finally:
        os.environ.pop("LIKEWATCH_MEDIA_ENABLED")
        if media is not None:
            os.environ["LIKEWATCH_MEDIA_ENABLED"] = media


def _watches(cat: Catalog) -> list[dict[str, Any]]:
    from scheduler.watches import list_watches

    return list_watches(cat)


@contextmanager
def _index_backend(config: ScaleConfig, name: str, stack: ExitStack,
                   progress: Progress) -> Iterator[dict[str, Any]]:
    """Settings of the index for every process, and the cluster (its start runs in a
    thread: a minute or more on a loaded machine, while the rest is set up)."""
    if not config.es_nodes:
        yield {"env": {"LIKEWATCH_INDEX": "embedded"}, "cluster": None, "ready": None}
        return
    from demo import services

    ready = threading.Event()
    box: dict[str, Any] = {}

    def start() -> None:
        try:
            box["cluster"] = services.start_cluster(name, config.es_nodes)
            progress(f"Elasticsearch cluster {name} up: {config.es_nodes} nodes")
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            box["error"] = exc
        ready.set()

    def delete() -> None:
        ready.wait(900)  # a start still launching nodes would leave some behind
        services.es_node("cluster", "delete", "--name", name, timeout=300)

    threading.Thread(target=start, daemon=True).start()
    stack.callback(delete)
    url = ""
    deadline = time.monotonic() + 120
    while not url and time.monotonic() < deadline and "error" not in box:
        try:  # known as soon as the nodes' ports are chosen
            url = services.es_node("cluster", "url", "--name", name, timeout=30)
        except services.ServiceError:
            time.sleep(0.5)
    if not url:
        raise services.ServiceError(f"cluster {name} never got its ports: {box.get('error')}")
    yield {"env": {"LIKEWATCH_INDEX": "elasticsearch", "LIKEWATCH_ELASTICSEARCH_URL": url},
           "cluster": services.Cluster(name), "ready": ready, "box": box, "url": url}


def run(config: ScaleConfig, data_dir: Path, home: Path,
        progress: Progress = lambda _m: None) -> dict[str, Any]:
    """One run; returns the figures (see :func:`demo.scale_check.figures`)."""
    from alerts.receiver import WebhookReceiver
    from demo import scale_check, services
    from demo.chaos import FAST_ENV
    from sandbox.faults import FaultConfig
    from sandbox.server import SandboxServer

    rng = random.Random(config.seed)
    started = time.monotonic()
    secret = secrets.token_hex(8)
    with ExitStack() as stack:
        backend = stack.enter_context(_index_backend(config, f"scale{os.getpid()}", stack,
                                                     progress))
        pg = stack.enter_context(services.postgres_server())
        env = {"LIKEWATCH_HOME": str(home), "LIKEWATCH_CATALOG_URL":
               services.create_database(pg, "likewatch"), **backend["env"], **config.env}
        os.environ.update(FAST_ENV, **env)  # as every role process has them
        reset_catalog()
        settings.reload()
        cat = Catalog.open()
        stack.callback(cat.close)
        server = stack.enter_context(SandboxServer(data_dir, seed=config.seed,
                                                   faults=FaultConfig.none()))
        rx = stack.enter_context(WebhookReceiver(secret))
        truth = json.loads((data_dir / "ground_truth.json").read_text(encoding="utf-8"))
        first = server.published_count
        _setup(cat, data_dir, server.base_url, rx.url + "/hook", secret, config.watch_every)
        progress(f"PostgreSQL, sandbox and {len(_watches(cat))} watches ready; "
                 f"{server.published_count} items published before the run")
        fleet = Fleet(config, home, env)
        stack.callback(fleet.stop_all)
        fleet.start_all()
        progress(f"{len(fleet.names)} role processes started: {', '.join(fleet.names)}")
        if backend["ready"] is not None and not backend["ready"].is_set():
            progress("waiting for the Elasticsearch cluster (the faults start with it)")
            backend["ready"].wait(900)
        if "error" in backend.get("box", {}):
            raise backend["box"]["error"]
        faults = _faults(config, fleet, backend, rng, progress)
        chaos_start = time.monotonic()
        while time.monotonic() - chaos_start < config.duration:
            server.publish_now(1)
            faults.step(time.monotonic() - chaos_start)
            fleet.restart_dead()
            time.sleep(config.publish_every)
        faults.finish(time.monotonic() - chaos_start)
        restarted = fleet.restart_dead()
        progress(f"published {server.published_count - first} items; {len(fleet.kills)} "
                 f"kills; waiting until all is quiet (restarted {restarted})")
        published = [it["id"] for it in server.published()][first:]
        quiet = scale_check.wait_quiet(cat, published, config.quiet_timeout,
                                       fleet.restart_dead, progress)
        time.sleep(2 * config.tick)
        fleet.stop_all()
        received = rx.wait_for(0, 0)
        out = scale_check.figures(cat, truth, published, received)
        out.update(quiet=quiet, processes=len(fleet.names), per_role=config.per_role,
                   cpu_s={r: round(v, 1) for r, v in sorted(fleet.cpu.items())},
                   roles=list(config.roles), process_kills=len(fleet.kills),
                   killed=sorted(fleet.kills), node_stops=faults.node_stops,
                   es_nodes=faults.es_nodes, seconds=round(time.monotonic() - started, 1))
        return out


@dataclass
class _Faults:
    """The schedule of kills and the node stop, stepped from the publishing loop."""

    config: ScaleConfig
    fleet: Fleet
    backend: dict[str, Any]
    rng: random.Random
    progress: Progress
    node_stops: int = 0
    es_nodes: int = 0
    _kill_at: list[float] = field(default_factory=list)
    _order: list[str] = field(default_factory=list)
    _stopped: str = ""
    _down_at: float = 0.0
    _stopper: threading.Thread | None = None
    _restarter: threading.Thread | None = None

    def step(self, t: float) -> None:
        """Do what is due at ``t`` seconds into the run (the node's stop and start run in
        threads: they take minutes on a loaded machine, and the kills go on meanwhile)."""
        while self._kill_at and t >= self._kill_at[0]:
            self._kill_at.pop(0)
            name = self._order.pop(0) if self._order else self.rng.choice(self.fleet.names)
            self.fleet.kill(name)
            self.progress(f"[{t:5.0f} s] kill -9 {name}")
        cluster = self.backend["cluster"]
        if cluster is None or not self.config.node_down:
            return
        if not self._stopped and t >= self.config.duration * 0.25:
            self.es_nodes = _count_nodes(self.backend["url"])
            self._stopped = self.rng.choice(cluster.nodes())
            self._stopper = threading.Thread(target=self._stop, args=(cluster, t), daemon=True)
            self._stopper.start()
        if (self._down_at and self._restarter is None
                and t >= self._down_at + self.config.node_down):
            self._restarter = threading.Thread(target=cluster.start_node, args=(self._stopped,),
                                               daemon=True)
            self._restarter.start()
            self.progress(f"[{t:5.0f} s] Elasticsearch node {self._stopped} starting again")

    def _stop(self, cluster: Any, t: float) -> None:
        started = time.monotonic()
        cluster.stop_node(self._stopped)
        self._down_at = t + (time.monotonic() - started)  # down from when it exited
        self.node_stops = 1
        self.progress(f"[{self._down_at:5.0f} s] Elasticsearch node {self._stopped} stopped")

    def finish(self, t: float) -> None:
        """After the publishing (at ``t`` seconds): the node stays down its full time (the
        role processes working meanwhile), then is started again and waited for."""
        cluster = self.backend["cluster"]
        if cluster is None or not self.config.node_down:
            return
        if not self._stopped:
            self.step(max(self.config.duration * 0.25, t))
        if self._stopper is not None:
            self._stopper.join(900)
        if self._restarter is None:
            time.sleep(max(0.0, self._down_at + self.config.node_down - t))
            self.step(self._down_at + self.config.node_down)
        if self._restarter is not None:
            self._restarter.join(900)
        self.es_nodes = max(self.es_nodes, _count_nodes(self.backend["url"]))


def _faults(config: ScaleConfig, fleet: Fleet, backend: dict[str, Any], rng: random.Random,
            progress: Progress) -> _Faults:
    f = _Faults(config, fleet, backend, rng, progress)
    n = config.kills
    f._kill_at = [config.duration * (i + 0.5) / n for i in range(n)] if n else []
    roles = list(config.roles)
    rng.shuffle(roles)  # every role killed once before any twice
    f._order = [f"{roles[i % len(roles)]}-{rng.randint(1, config.per_role)}" for i in range(n)]
    return f


def _count_nodes(url: str) -> int:
    """How many nodes the cluster has now (asked of any node that answers)."""
    from matchers.index.elastic import ElasticsearchIndex

    index = ElasticsearchIndex(url)
    try:
        return int(index.es.cluster.health()["number_of_nodes"])
    finally:
        index.close()
