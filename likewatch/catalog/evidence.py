"""Evidence captures and the append-only transparency log of their manifests.

Three tables (names and columns are storage keys: add, never rename):

- ``evidence_captures``: one sealed capture of an alert's content page; the files live in
  ``$LIKEWATCH_HOME/<dir>`` beside the exact ``manifest.json`` bytes that were logged.
- ``evidence_log_leaves``: leaf ``i`` of the RFC 6962 Merkle tree, the leaf hash of the
  manifest (SHA-256 of 0x00 || manifest bytes). Rows are only ever inserted.
- ``evidence_tree_heads``: a signed tree head (size, root, time, Ed25519 signature) for
  every size the log has had, optionally with an RFC 3161 timestamp token over it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from likewatch.catalog.base import Base, UTCDateTime, utcnow


class EvidenceCapture(Base):
    """A sealed evidence capture for one alert (an alert may be captured more than once)."""

    __tablename__ = "evidence_captures"
    id: Mapped[int] = mapped_column(primary_key=True)
    capture_id: Mapped[str] = mapped_column(String(200), unique=True)
    alert_id: Mapped[str] = mapped_column(String(200), index=True)
    platform: Mapped[str] = mapped_column(String(50), default="")
    url: Mapped[str] = mapped_column(Text, default="")
    captured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    dir: Mapped[str] = mapped_column(Text)  # relative to LIKEWATCH_HOME
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    leaf_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # complete | partial (some part failed; the manifest lists the errors)
    status: Mapped[str] = mapped_column(String(20), default="complete")


class EvidenceLogLeaf(Base):
    """Leaf ``leaf_index`` of the transparency log."""

    __tablename__ = "evidence_log_leaves"
    leaf_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    manifest_sha256: Mapped[str] = mapped_column(String(64), index=True)
    capture_id: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvidenceTreeHead(Base):
    """A signed tree head: the log's root at ``tree_size`` leaves."""

    __tablename__ = "evidence_tree_heads"
    tree_size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, as signed
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)  # base64 Ed25519 signature
    tsa_token: Mapped[str | None] = mapped_column(Text, nullable=True)  # base64 DER
