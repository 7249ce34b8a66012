"""The domain model: who is protected, by whom, what was found, and how it matched.

Table and column names are storage keys: add columns, never rename them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from likewatch.catalog.base import Base, UTCDateTime, utcnow


class Client(Base):
    """A customer: a celebrity studio or a talent agency. Owns persons and their references."""

    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="studio")  # studio | agency
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    persons: Mapped[list[Person]] = relationship(back_populates="client")


class Person(Base):
    """A protected person. ``key`` is the client's own id for them (``--person ID``)."""

    __tablename__ = "persons"
    __table_args__ = (UniqueConstraint("client_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    key: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Official accounts that never alert: [{"platform": ..., "uploader": ...}]
    official_accounts: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    client: Mapped[Client] = relationship(back_populates="persons")
    references: Mapped[list[Reference]] = relationship(back_populates="person")


class Reference(Base):
    """One reference photo of a person, with the signals computed from it.

    Sensitive: the photo and its embeddings belong to the person's client only.
    """

    __tablename__ = "references"
    __table_args__ = (UniqueConstraint("person_id", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    media_path: Mapped[str] = mapped_column(Text)  # relative to LIKEWATCH_HOME
    # {signal name: [serialized values]} — e.g. {"pdq": ["ab.."], "face": ["base64.."]}
    signals: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    person: Mapped[Person] = relationship(back_populates="references")


class Media(Base):
    """A fetched file, stored content-addressed under $LIKEWATCH_HOME/media/ab/cd/<sha256>."""

    __tablename__ = "media"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # thumbnail | video | reference | evidence
    content_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)  # relative to LIKEWATCH_HOME
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Candidate(Base):
    """One content item found on a platform (a short, an episode, a video)."""

    __tablename__ = "candidates"
    # AUTOINCREMENT on SQLite: an id is never handed out again after its row is deleted
    # (the indexer's cursors follow ids; matchers/index/sync.py).
    __table_args__ = (UniqueConstraint("platform", "item_id"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(50))
    item_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    uploader: Mapped[str] = mapped_column(String(200), default="")
    uploader_id: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    cast: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    view_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    thumbnail_url: Mapped[str] = mapped_column(Text, default="")
    video_url: Mapped[str] = mapped_column(Text, default="")
    thumbnail_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"), nullable=True)
    video_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"), nullable=True)
    raw_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    watch: Mapped[str] = mapped_column(String(200), default="")
    # pending -> matched (signals computed, matches recorded) | failed
    match_status: Mapped[str] = mapped_column(String(20), default="pending")


class CandidateSignal(Base):
    """A signal computed from a candidate's media (thumbnail or a video keyframe)."""

    __tablename__ = "candidate_signals"
    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    media_sha256: Mapped[str] = mapped_column(String(64))
    frame: Mapped[str] = mapped_column(String(50), default="")  # "" for an image, else "t=1.23s"
    signal: Mapped[str] = mapped_column(String(50))  # signal type name: a storage key
    value: Mapped[str] = mapped_column(Text)  # the signal type's serialized form
    quality: Mapped[float | None] = mapped_column(Float, nullable=True)


class MatchRow(Base):
    """A candidate matched a person: which signal, how close, against which threshold."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("candidate_id", "person_id", "signal", "frame"),
                      {"sqlite_autoincrement": True})  # ids never reused, as for Candidate
    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    reference_id: Mapped[int | None] = mapped_column(ForeignKey("references.id"), nullable=True)
    signal: Mapped[str] = mapped_column(String(50))
    frame: Mapped[str] = mapped_column(String(50), default="")
    distance: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "alert": becomes an alert pushed to subscribers; "review": recorded and held for a
    # person's decision (matchers/tiers.py). Rows written before tiers existed alerted.
    tier: Mapped[str] = mapped_column(String(10), default="alert", server_default="alert",
                                      index=True)


class CrawlCheckpoint(Base):
    """Per-watch crawl state, so a re-crawl fetches nothing already seen."""

    __tablename__ = "crawl_checkpoints"
    watch: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ClientThreshold(Base):
    """A client's own threshold for one signal, overriding the signal's named constant."""

    __tablename__ = "client_thresholds"
    __table_args__ = (UniqueConstraint("client_id", "signal"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    signal: Mapped[str] = mapped_column(String(50))  # signal type name: a storage key
    threshold: Mapped[float] = mapped_column(Float)
