"""Secrets stored in the catalog (webhook signing secrets, chat-robot secrets) are encrypted,
with a key that is not in the catalog.

- The key is a Fernet key (AES-128-CBC with HMAC-SHA256, from the ``cryptography``
  library) in the file named by the ``secrets_key_file`` setting, by default
  ``$LIKEWATCH_HOME/keys/secrets.key``. It is created (0600, in a 0700 directory) the
  first time a secret is stored. A copy of the catalog (a backup, a PostgreSQL dump)
  without that file holds no usable secret. Every host that delivers alerts or adds
  subscriptions needs the same file: copy it, or mount it from your secret store and
  point ``secrets_key_file`` at it. Keep a backup of it: without it the secrets are lost
  (subscribe again).
- A stored value is ``enc:v1:<Fernet token>``. A value without that prefix is a secret
  stored in clear by an older version: it is still read as it is, and
  :func:`migrate_clear` (``likewatch secrets migrate``) encrypts such rows in place.
- Columns declared with :class:`EncryptedText` encrypt on write and decrypt on read, so
  the code using them sees plain strings.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from likewatch import private, settings

PREFIX = "enc:v1:"
_lock = threading.Lock()
_cache: dict[Path, Fernet] = {}


class SecretsKeyError(RuntimeError):
    """The secrets key is missing, unreadable, or not the one the secrets were sealed with."""


def key_path() -> Path:
    configured = str(settings.get("secrets_key_file"))
    return Path(configured).expanduser() if configured else settings.home() / "keys" / "secrets.key"


def _fernet(create: bool) -> Fernet | None:
    path = key_path()
    with _lock:
        if path in _cache:
            return _cache[path]
        if not path.exists():
            if not create:
                return None
            private.private_dir(path.parent)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            private.write_private(tmp, Fernet.generate_key() + b"\n")
            try:
                os.link(tmp, path)  # atomic; another process may have made it first
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        try:
            fernet = Fernet(path.read_bytes().strip())
        except (OSError, ValueError) as exc:
            raise SecretsKeyError(f"cannot use the secrets key {path}: {exc}") from exc
        _cache[path] = fernet
        return fernet


def encrypt(plain: str) -> str:
    """The stored form of ``plain`` ("" stays "": no secret)."""
    if not plain or plain.startswith(PREFIX):
        return plain
    fernet = _fernet(create=True)
    assert fernet is not None
    return PREFIX + fernet.encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(stored: str) -> str:
    """The secret behind a stored value (a clear-text value of an older version as is)."""
    if not stored or not stored.startswith(PREFIX):
        return stored
    fernet = _fernet(create=False)
    if fernet is None:
        raise SecretsKeyError(f"a stored secret is encrypted but the secrets key {key_path()} "
                              "is missing: copy it from the host that created it "
                              "(setting secrets_key_file)")
    try:
        return fernet.decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise SecretsKeyError(f"a stored secret does not open with the secrets key "
                              f"{key_path()}: it was sealed with another key") from exc


class EncryptedText(TypeDecorator[str]):
    """A Text column holding :func:`encrypt`-ed values; reads give the plain string."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)


def migrate_clear(engine: Any, table: str, column: str) -> int:
    """Encrypt the clear-text values left in ``table.column`` by an older version; returns
    how many rows were changed. Safe to run again (encrypted rows are left alone)."""
    from sqlalchemy import text

    changed = 0
    with engine.begin() as conn:
        rows = conn.execute(text(f"SELECT id, {column} FROM {table} "  # noqa: S608 - names are ours
                                 f"WHERE {column} != '' AND {column} NOT LIKE :p"),
                            {"p": PREFIX + "%"}).all()
        for row_id, value in rows:
            conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :i"),  # noqa: S608
                         {"v": encrypt(value), "i": row_id})
            changed += 1
    return changed
