"""Finding 6 of issue 14: LIKEWATCH_HOME and what is in it are private to the user (0700 /
0600), and webhook and chat secrets are not stored in clear."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from alerts import channels, registry
from likewatch import secretbox
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Subscription
from likewatch.media import MediaStore

LIKEWATCH = str(Path(sys.executable).parent / "likewatch")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _usual_umask() -> None:
    old = os.umask(0o022)  # what most shells give: files 0644 unless we say otherwise
    yield
    os.umask(old)


def test_the_cli_makes_a_private_home(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"
    env = dict(os.environ, LIKEWATCH_HOME=str(home))
    proc = subprocess.run([LIKEWATCH, "client", "add", "acme"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert mode(home) == 0o700
    for path in home.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_catalog_and_its_journal_files_are_private(likewatch_home: Path) -> None:
    with Catalog.open() as cat:
        registry.add_client(cat, "acme")
        with cat.engine.connect() as conn:  # hold the WAL open while looking
            conn.execute(text("SELECT 1")).all()
            assert mode(likewatch_home) == 0o700
            for name in ("catalog.sqlite3", "catalog.sqlite3-wal", "catalog.sqlite3-shm"):
                assert mode(likewatch_home / name) == 0o600, name


def test_a_home_made_by_an_older_version_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "old"
    home.mkdir(mode=0o755)
    Catalog.open(home=home).close()
    (home / "catalog.sqlite3").chmod(0o644)
    home.chmod(0o755)
    Catalog.open(home=home).close()
    assert mode(home) == 0o700 and mode(home / "catalog.sqlite3") == 0o600


def test_media_files_and_folders_are_private(likewatch_home: Path) -> None:
    sha, rel = MediaStore(likewatch_home).put(b"\xff\xd8\xff face")
    path = likewatch_home / rel
    assert mode(path) == 0o600
    for folder in (path.parent, path.parent.parent, likewatch_home / "media"):
        assert mode(folder) == 0o700, folder


def _raw_catalog_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.glob("catalog.sqlite3*"))


def test_subscription_secrets_are_encrypted_with_a_key_outside_the_catalog(
        likewatch_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    secret = "whsec-7Q2v9xLm-not-in-the-catalog"
    with Catalog.open() as cat:
        registry.add_client(cat, "acme")
        registry.add_subscription(cat, "acme", "webhook", "http://127.0.0.1:9/h", secret=secret)
        registry.add_subscription(cat, "acme", "dingtalk", "http://127.0.0.1:9/d",
                                  secret="SECdingtalk-robot-secret-55")
        with cat.engine.connect() as conn:
            stored = [r[0] for r in conn.execute(text("SELECT secret FROM subscriptions"))]
        with cat.session() as s:
            plain = [sub.secret for sub in s.query(Subscription).order_by(Subscription.id)]
    assert all(v.startswith("enc:v1:") for v in stored)
    assert plain == [secret, "SECdingtalk-robot-secret-55"]  # read back as they were given
    raw = _raw_catalog_bytes(likewatch_home)
    assert secret.encode() not in raw and b"SECdingtalk" not in raw
    key = likewatch_home / "keys" / "secrets.key"
    assert mode(key) == 0o600 and mode(key.parent) == 0o700
    # the catalog alone (a backup, a dump) opens no secret
    other = tmp_path / "other-home"
    other.mkdir()
    for p in likewatch_home.glob("catalog.sqlite3*"):
        shutil.copy(p, other / p.name)
    monkeypatch.setenv("LIKEWATCH_SECRETS_KEY_FILE", str(tmp_path / "nowhere.key"))
    with Catalog.open(home=other) as cat, cat.session() as s, \
            pytest.raises(secretbox.SecretsKeyError, match="missing"):
        s.query(Subscription).first()


def test_clear_secrets_of_an_older_version_are_read_and_migrated(
        likewatch_home: Path) -> None:
    with Catalog.open() as cat:
        registry.add_client(cat, "acme")
        sid = registry.add_subscription(cat, "acme", "webhook", "http://127.0.0.1:9/h",
                                        secret="x")
        with cat.engine.begin() as conn:  # as an older version stored it
            conn.execute(text("UPDATE subscriptions SET secret = 'legacy-clear' WHERE id = :i"),
                         {"i": sid})
        with cat.session() as s:
            assert s.get(Subscription, sid).secret == "legacy-clear"
    env = dict(os.environ)
    proc = subprocess.run([LIKEWATCH, "secrets", "migrate"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("1 subscription secret"), proc.stderr
    with Catalog.open() as cat:
        with cat.engine.connect() as conn:
            [stored] = conn.execute(text("SELECT secret FROM subscriptions")).one()
        with cat.session() as s:
            assert s.get(Subscription, sid).secret == "legacy-clear"
    assert stored.startswith("enc:v1:")
    assert b"legacy-clear" not in _raw_catalog_bytes(likewatch_home)


def test_a_delivery_signs_with_the_decrypted_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from alerts import outbox
    from alerts.build import sync_alerts
    from alerts.receiver import WebhookReceiver
    from tests.alerts.helpers import candidate, match, world

    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    with Catalog.open() as cat, WebhookReceiver("s3cret-signing") as rx:
        ids = world(cat)
        registry.add_subscription(cat, "acme", "webhook", rx.url, secret="s3cret-signing")
        match(cat, candidate(cat, "v1"), ids["alice"], "face", 0.3, 0.6, "t=1.00s")
        sync_alerts(cat)
        assert outbox.deliver_due(cat, "w") == {"sent": 1}
        [got] = rx.wait_for(1, 5)
    assert got.verified and channels.verify("s3cret-signing", got.raw,
                                            got.headers["X-Likewatch-Signature"])


@pytest.mark.browser
def test_evidence_files_and_bundles_are_private(likewatch_home: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from alerts.evidence import capture_evidence
    from alerts.evidence.browser import BrowserWorker
    from alerts.evidence.bundle import export_bundle
    from tests.alerts.test_evidence_capture import PageServer, subject

    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    worker = BrowserWorker()
    try:
        with PageServer() as server, Catalog.open() as catalog:
            result = capture_evidence(subject(server), catalog=catalog, browser=worker)
            bundle = export_bundle(catalog, "a-1", likewatch_home.parent / "bundle.zip")
    finally:
        worker.close()
    paths = [result.directory, *result.directory.rglob("*")]
    assert len(paths) > 8
    for path in paths:
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert mode(bundle) == 0o600
