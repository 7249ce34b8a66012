"""Accounts of the review desk: users, their roles per client, API tokens, web sessions.

Four tables (names and columns are storage keys: add, never rename):

- ``users``: one per e-mail address; ``password_hash`` is an argon2id PHC string (never the
  password); ``operator`` users act across every client.
- ``memberships``: a user's role in one client: ``owner`` | ``reviewer`` | ``analyst`` |
  ``viewer`` (see ``webapp/accounts/roles.py`` for what each may do).
- ``api_tokens``: tokens shown once at creation; only their SHA-256 is stored (a token is
  32 random bytes, so a fast hash is enough: there is nothing to guess). Each is scoped to
  one client and role (``client_id`` NULL and role ``operator`` for an operator's token)
  and can be revoked.
- ``web_sessions``: a browser session; the cookie carries a random id whose SHA-256 is
  stored here, so logging out (or removing the user) ends it on the server.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from likewatch.catalog.base import Base, UTCDateTime, utcnow


class User(Base):
    """A person who logs in to the desk (or owns API tokens)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text, default="")  # "" : no password login
    operator: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """A user's role in one client."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """An API token: ``Authorization: Bearer <token>``; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), default="")  # shown in listings
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebSession(Base):
    """A logged-in browser; ended by logout, expiry or the user's removal."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    sid_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
