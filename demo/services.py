"""Real servers for the harnesses (bench/scale.py, the multi-process tests): a PostgreSQL
server of its own, and an Elasticsearch cluster through ``deploy/es-node cluster``.

PostgreSQL is Debian's (``/usr/lib/postgresql/<v>/bin``), initialised in a temporary
folder, listening on a free loopback port, ``fsync`` off (a test server), run as the
``postgres`` user when we are root (it refuses root), and deleted afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ES_NODE = REPO / "deploy" / "es-node"


class ServiceError(RuntimeError):
    """A server could not be started or asked."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """A running PostgreSQL server; yields its SQLAlchemy URL without a database
    (``postgresql+psycopg://postgres@127.0.0.1:PORT``)."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        raise ServiceError("PostgreSQL is not installed (deploy/apt-packages.txt lists postgresql)")
    bindir = os.path.dirname(bins[-1])
    # Not under a private temporary root: the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="likewatch-pg-"))
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_pg:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()
    try:
        subprocess.run([*as_pg, f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U",
                        "postgres"], check=True, capture_output=True, timeout=300)
        subprocess.run([*as_pg, f"{bindir}/pg_ctl", "-D", str(data), "-l", str(root / "log"),
                        "-w", "-t", "300", "-o", f"-p {port} -k {root} -c "
                        "listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
                        "start"], check=True, capture_output=True, timeout=320)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise ServiceError(f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')}"
                           ) from exc
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_pg, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str, name: str | None = None) -> str:
    """A new empty database on ``server_url``; its SQLAlchemy URL."""
    import psycopg

    name = name or "lw_" + uuid.uuid4().hex[:10]
    with psycopg.connect(server_url.replace("+psycopg", "") + "/postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server_url}/{name}"


def es_node(*args: str, timeout: float = 900) -> str:
    """Run ``deploy/es-node``; its output (ServiceError with what it printed if it failed)."""
    proc = subprocess.run([str(ES_NODE), *args], capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise ServiceError(f"deploy/es-node {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout.strip()


@dataclass(frozen=True)
class Cluster:
    """An Elasticsearch cluster made by ``deploy/es-node cluster start --name``."""

    name: str

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated (what ``elasticsearch_url`` takes)."""
        return es_node("cluster", "url", "--name", self.name)

    def nodes(self) -> list[str]:
        return es_node("cluster", "nodes", "--name", self.name).split()

    def stop_node(self, node: str) -> None:
        es_node("stop", "--name", node)

    def start_node(self, node: str) -> None:
        """Start ``node`` again on its data and ports; returns once it runs."""
        es_node("start", "--name", node)

    def delete(self) -> None:
        es_node("cluster", "delete", "--name", self.name, timeout=300)


def start_cluster(name: str, nodes: int = 3, heap: str = "512m") -> Cluster:
    """Start a fresh cluster of ``nodes`` (returns once every node joined)."""
    es_node("cluster", "start", "--name", name, "--nodes", str(nodes), "--heap", heap,
            "--fresh", "--timeout", "900", timeout=1200)
    return Cluster(name)
