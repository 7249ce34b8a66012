"""The deployment's Ed25519 signing key and signed tree heads.

The key is generated on first use into ``$LIKEWATCH_HOME/keys/evidence-ed25519.pem``
(PKCS#8 PEM, file mode 0600, created exclusively so two processes never make two keys);
the public half sits beside it as ``evidence-ed25519.pub.pem``. Its *key id* is the
SHA-256 of the raw 32-byte public key, in hex: publish it so a bundle's key can be checked.

A tree head is signed over ``b"likewatch-tree-head/1\\n"`` followed by the canonical JSON of
``{"key_id", "root_hash", "timestamp", "tree_size"}`` (keys sorted, no spaces, UTF-8).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from likewatch.log import get_logger

PRIVATE_NAME = "evidence-ed25519.pem"
PUBLIC_NAME = "evidence-ed25519.pub.pem"
TREE_HEAD_CONTEXT = b"likewatch-tree-head/1\n"

log = get_logger(__name__)


def canonical_json(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8 (not ASCII-escaped)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def key_dir(home: Path) -> Path:
    return home / "keys"


def load_or_create_signing_key(home: Path) -> Ed25519PrivateKey:
    """The deployment's signing key, generated (mode 0600) on first use."""
    directory = key_dir(home)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    path = directory / PRIVATE_NAME
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        # Written in full to a private temporary file, then linked into place: the link
        # fails if another process won the race, and nobody ever reads a half-written key.
        tmp = directory / f".{PRIVATE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
            log.info("evidence signing key created", key_id=key_id(key.public_key()))
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink()
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("evidence signing key is readable by others; chmod 600 it", path=str(path),
                    mode=oct(mode))
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    pub_path = directory / PUBLIC_NAME
    if not pub_path.exists():
        tmp_pub = directory / f".{PUBLIC_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        tmp_pub.write_bytes(public_pem(loaded.public_key()))
        tmp_pub.replace(pub_path)
    return loaded


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class TreeHead:
    """A signed statement: "at ``timestamp`` my log had ``tree_size`` leaves with this root"."""

    tree_size: int
    root_hash: str  # hex
    timestamp: str  # ISO 8601 UTC
    key_id: str  # hex SHA-256 of the raw public key
    signature: str = ""  # base64 Ed25519 signature over signing_input()

    def signing_input(self) -> bytes:
        body = {"key_id": self.key_id, "root_hash": self.root_hash,
                "timestamp": self.timestamp, "tree_size": self.tree_size}
        return TREE_HEAD_CONTEXT + canonical_json(body)

    def signed(self, key: Ed25519PrivateKey) -> TreeHead:
        sig = base64.b64encode(key.sign(self.signing_input())).decode("ascii")
        return TreeHead(self.tree_size, self.root_hash, self.timestamp, self.key_id, sig)

    def verify(self, public: Ed25519PublicKey) -> bool:
        """True when the signature is valid and made by ``public``."""
        if key_id(public) != self.key_id:
            return False
        try:
            public.verify(base64.b64decode(self.signature, validate=True), self.signing_input())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeHead:
        fields = {"tree_size": int, "root_hash": str, "timestamp": str, "key_id": str,
                  "signature": str}
        if set(data) != set(fields):
            raise ValueError(f"tree head fields {sorted(data)} != {sorted(fields)}")
        for name, typ in fields.items():
            if not isinstance(data[name], typ) or isinstance(data[name], bool):
                raise ValueError(f"tree head field {name} is not {typ.__name__}")
        return cls(**data)
