"""The append-only, tamper-evident log of evidence manifests, kept in the catalog.

Appending a manifest inserts leaf ``n`` (its RFC 6962 leaf hash) and, in the same
transaction, a signed tree head for size ``n + 1``. Rows are never updated or deleted;
rewriting history would need new signatures and would break every consistency proof from
a tree head that someone already holds (a bundle, a filed notice).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from alerts.evidence import merkle
from alerts.evidence.keys import TreeHead, key_id, load_or_create_signing_key
from likewatch.catalog import Catalog
from likewatch.catalog.evidence import EvidenceLogLeaf, EvidenceTreeHead
from likewatch.log import get_logger

log = get_logger(__name__)


def utc_timestamp(when: dt.datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: the one time format in evidence."""
    when = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class TransparencyLog:
    """The evidence log of one deployment (one catalog, one signing key)."""

    def __init__(self, catalog: Catalog, home: Path | None = None) -> None:
        self.catalog = catalog
        self.home = home or catalog.home
        self.key = load_or_create_signing_key(self.home)
        self.key_id = key_id(self.key.public_key())

    def append(self, manifest_bytes: bytes, manifest_sha256: str, capture_id: str
               ) -> tuple[int, TreeHead]:
        """Add a manifest; returns its leaf index and the tree head signed right after."""
        leaf = merkle.leaf_hash(manifest_bytes).hex()
        for _attempt in range(20):
            try:
                with self.catalog.session() as s:
                    size = s.scalar(select(func.count()).select_from(EvidenceLogLeaf)) or 0
                    s.add(EvidenceLogLeaf(leaf_index=size, leaf_hash=leaf,
                                          manifest_sha256=manifest_sha256,
                                          capture_id=capture_id))
                    s.flush()
                    hashes = self._leaf_hashes(s, size + 1)
                    head = TreeHead(size + 1, merkle.root(hashes).hex(), utc_timestamp(),
                                    self.key_id).signed(self.key)
                    s.add(EvidenceTreeHead(tree_size=head.tree_size, root_hash=head.root_hash,
                                           timestamp=head.timestamp, key_id=head.key_id,
                                           signature=head.signature))
                log.info("evidence logged", leaf_index=size, tree_size=head.tree_size,
                         manifest_sha256=manifest_sha256)
                return size, head
            except (IntegrityError, OperationalError) as exc:
                # Another writer took this index (or SQLite refused our stale snapshot):
                # retry with the next one.
                if isinstance(exc, OperationalError) and "locked" not in str(exc):
                    raise
                continue
        raise RuntimeError("could not append to the evidence log after 20 attempts")

    @staticmethod
    def _leaf_hashes(session: Session, size: int) -> list[bytes]:
        rows = session.scalars(
            select(EvidenceLogLeaf.leaf_hash).where(EvidenceLogLeaf.leaf_index < size)
            .order_by(EvidenceLogLeaf.leaf_index)).all()
        if len(rows) != size:
            raise RuntimeError(f"evidence log has a gap below size {size}")
        return [bytes.fromhex(h) for h in rows]

    def leaf_hashes(self, size: int) -> list[bytes]:
        with self.catalog.session() as s:
            return self._leaf_hashes(s, size)

    def size(self) -> int:
        with self.catalog.session() as s:
            return s.scalar(select(func.count()).select_from(EvidenceLogLeaf)) or 0

    def tree_head(self, size: int | None = None) -> TreeHead:
        """The signed tree head at ``size`` (default: the latest)."""
        with self.catalog.session() as s:
            q = select(EvidenceTreeHead)
            q = (q.where(EvidenceTreeHead.tree_size == size) if size is not None
                 else q.order_by(EvidenceTreeHead.tree_size.desc()).limit(1))
            row = s.scalars(q).first()
            if row is None:
                raise LookupError(f"no tree head for size {size}" if size else "the log is empty")
            return TreeHead(row.tree_size, row.root_hash, row.timestamp, row.key_id,
                            row.signature)

    def set_timestamp_token(self, size: int, token_b64: str) -> None:
        with self.catalog.session() as s:
            row = s.get(EvidenceTreeHead, size)
            if row is None:
                raise LookupError(f"no tree head for size {size}")
            if row.tsa_token is None:
                row.tsa_token = token_b64

    def timestamp_token(self, size: int) -> str | None:
        with self.catalog.session() as s:
            row = s.get(EvidenceTreeHead, size)
            return row.tsa_token if row else None

    def inclusion_proof(self, leaf_index: int, tree_size: int) -> list[bytes]:
        return merkle.inclusion_proof(leaf_index, self.leaf_hashes(tree_size))

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return merkle.consistency_proof(old_size, self.leaf_hashes(new_size))
