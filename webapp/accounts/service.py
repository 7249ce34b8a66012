"""Users, API tokens and browser sessions: the plain functions behind the CLI and the desk.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
profile); only the PHC string is stored. API tokens and session ids are 32 random bytes
from :mod:`secrets`; only their SHA-256 is stored, so a copy of the catalog gives no
credential away. A token is shown once, when it is created.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from likewatch.catalog import Catalog
from likewatch.catalog.accounts import ApiToken, Membership, User, WebSession
from likewatch.catalog.models import Client
from webapp.accounts.roles import OPERATOR, ROLES, Principal, at_least

TOKEN_PREFIX = "lwt_"  # noqa: S105 - a prefix, not a secret
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a failed login takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """Bad input: unknown user or client, a role that does not exist, a weak password."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or not domain or " " in email:
        raise AccountError(f"not an e-mail address: {email!r}")
    return email


def _user(s: Session, email: str) -> User:
    user = s.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise AccountError(f"no user {email!r} (add one with `likewatch user add`)")
    return user


def _client(s: Session, name: str) -> Client:
    client = s.scalar(select(Client).where(Client.name == name))
    if client is None:
        raise AccountError(f"no client named {name!r} (add it with `likewatch client add`)")
    return client


def add_user(cat: Catalog, email: str, *, role: str, client: str | None = None,
             password: str | None = None) -> int:
    """Create the user (or find them) and give them ``role`` in ``client`` (``operator``:
    across every client, no client). A password, when given, replaces theirs."""
    email = normalize_email(email)
    if role != OPERATOR and role not in ROLES:
        raise AccountError(f"role must be one of {', '.join((*ROLES, OPERATOR))}, not {role!r}")
    if role != OPERATOR and not client:
        raise AccountError(f"a {role} belongs to a client: give --client NAME")
    if password is not None and len(password) < 10:
        raise AccountError("a password needs at least 10 characters")
    with cat.session() as s:
        user = s.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email)
            s.add(user)
        if password is not None:
            user.password_hash = _hasher.hash(password)
        if role == OPERATOR:
            user.operator = True
        s.flush()
        if role != OPERATOR:
            assert client is not None
            c = _client(s, client)
            m = s.scalar(select(Membership).where(Membership.user_id == user.id,
                                                  Membership.client_id == c.id))
            if m is None:
                s.add(Membership(user_id=user.id, client_id=c.id, role=role))
            else:
                m.role = role
        return user.id


def remove_membership(cat: Catalog, email: str, client: str) -> None:
    with cat.session() as s:
        user, c = _user(s, email), _client(s, client)
        m = s.scalar(select(Membership).where(Membership.user_id == user.id,
                                              Membership.client_id == c.id))
        if m is None:
            raise AccountError(f"{email} has no role in {client}")
        s.delete(m)


def set_disabled(cat: Catalog, email: str, disabled: bool) -> None:
    with cat.session() as s:
        user = _user(s, email)
        user.disabled = disabled
        if disabled:
            for ws in s.scalars(select(WebSession).where(WebSession.user_id == user.id,
                                                         WebSession.ended_at.is_(None))):
                ws.ended_at = _now()


def list_users(cat: Catalog) -> list[dict[str, Any]]:
    with cat.session() as s:
        names = dict(s.execute(select(Client.id, Client.name)).all())
        out = []
        for u in s.scalars(select(User).order_by(User.email)):
            roles = [{"client": names.get(m.client_id), "role": m.role}
                     for m in s.scalars(select(Membership).where(Membership.user_id == u.id)
                                        .order_by(Membership.client_id))]
            tokens = len(list(s.scalars(select(ApiToken.id).where(
                ApiToken.user_id == u.id, ApiToken.revoked_at.is_(None)))))
            out.append({"email": u.email, "operator": u.operator, "disabled": u.disabled,
                        "password": bool(u.password_hash), "roles": roles,
                        "active_tokens": tokens, "created_at": _iso(u.created_at)})
        return out


def check_password(cat: Catalog, email: str, password: str) -> int | None:
    """The user's id when ``password`` is theirs (and they are enabled), else None."""
    try:
        email = normalize_email(email)
    except AccountError:
        email = ""
    with cat.session() as s:
        user = s.scalar(select(User).where(User.email == email)) if email else None
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or stored is _DUMMY_HASH or user.disabled:
            return None
        if _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
        return user.id


# --- tokens ---------------------------------------------------------------------------

def create_token(cat: Catalog, email: str, *, client: str | None = None,
                 role: str | None = None, name: str = "") -> tuple[str, int]:
    """A new token for ``email``: (the token, shown only now; its id). Scoped to one client
    (default: the user's only one) and a role no higher than theirs there (default: theirs).
    An operator's token without a client acts across every client."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with cat.session() as s:
        user = _user(s, email)
        if user.disabled:
            raise AccountError(f"user {user.email} is disabled")
        client_id: int | None = None
        if client is None and user.operator and role in (None, OPERATOR):
            role = OPERATOR
        else:
            memberships = list(s.scalars(select(Membership).where(Membership.user_id == user.id)))
            if client is not None:
                c = _client(s, client)
                member = next((m for m in memberships if m.client_id == c.id), None)
                if member is None and not user.operator:
                    raise AccountError(f"{user.email} has no role in {client}")
            elif len(memberships) == 1:
                member = memberships[0]
            else:
                raise AccountError(f"{user.email} has roles in {len(memberships)} clients: "
                                   "give --client NAME")
            client_id = member.client_id if member is not None else _client(s, client or "").id
            highest = member.role if member is not None else "owner"
            role = role or highest
            if role not in ROLES:
                raise AccountError(f"a client token's role is one of {', '.join(ROLES)}")
            if not at_least(highest, role):
                raise AccountError(f"{user.email} is {highest} in that client: a token "
                                   f"cannot be {role}")
        row = ApiToken(user_id=user.id, client_id=client_id, role=role,
                       token_sha256=_sha(token), prefix=token[:12], name=name)
        s.add(row)
        s.flush()
        return token, row.id


def list_tokens(cat: Catalog, email: str | None = None,
                user_id: int | None = None) -> list[dict[str, Any]]:
    with cat.session() as s:
        q = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
        if email:
            q = q.where(User.email == normalize_email(email))
        if user_id is not None:
            q = q.where(ApiToken.user_id == user_id)
        names = dict(s.execute(select(Client.id, Client.name)).all())
        return [{"id": t.id, "user": mail, "client": names.get(t.client_id) if t.client_id
                 else None, "role": t.role, "name": t.name, "prefix": t.prefix,
                 "created_at": _iso(t.created_at), "last_used_at": _iso(t.last_used_at),
                 "revoked": t.revoked_at is not None}
                for t, mail in s.execute(q.order_by(ApiToken.id))]


def revoke_token(cat: Catalog, ident: str, *, user_id: int | None = None) -> int:
    """Revoke a token by its id or the token itself; ``user_id``: only if it is theirs."""
    with cat.session() as s:
        if ident.startswith(TOKEN_PREFIX):
            row = s.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha(ident)))
        elif ident.isdigit():
            row = s.get(ApiToken, int(ident))
        else:
            row = None
        if row is None or (user_id is not None and row.user_id != user_id):
            raise AccountError(f"no token {ident!r}")
        if row.revoked_at is None:
            row.revoked_at = _now()
        return row.id


def _principal(s: Session, user: User, via: str, token: ApiToken | None = None
               ) -> Principal | None:
    if user.disabled:
        return None
    grants = {m.client_id: m.role for m in
              s.scalars(select(Membership).where(Membership.user_id == user.id))}
    if token is None:
        return Principal(user.id, user.email, user.operator, grants, via)
    if token.role == OPERATOR:
        if not user.operator:
            return None
        return Principal(user.id, user.email, True, {}, via, token.id)
    assert token.client_id is not None
    held = OPERATOR if user.operator else grants.get(token.client_id)
    if held is None:
        return None
    # The token acts with its own role, never above what the user holds now.
    role = token.role if at_least(held, token.role) else held
    return Principal(user.id, user.email, False, {token.client_id: role}, via, token.id)


def principal_for_token(cat: Catalog, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    with cat.session() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha(token)))
        if row is None or row.revoked_at is not None:
            return None
        user = s.get(User, row.user_id)
        if user is None:
            return None
        principal = _principal(s, user, "token", row)
        if principal is not None and (row.last_used_at is None or
                                      _now() - row.last_used_at > dt.timedelta(minutes=1)):
            row.last_used_at = _now()
        return principal


# --- browser sessions -------------------------------------------------------------------

def create_session(cat: Catalog, user_id: int, hours: float) -> str:
    sid = secrets.token_urlsafe(32)
    with cat.session() as s:
        s.add(WebSession(sid_sha256=_sha(sid), user_id=user_id,
                         expires_at=_now() + dt.timedelta(hours=hours)))
    return sid


def principal_for_session(cat: Catalog, sid: str) -> Principal | None:
    with cat.session() as s:
        ws = s.scalar(select(WebSession).where(WebSession.sid_sha256 == _sha(sid)))
        if ws is None or ws.ended_at is not None or ws.expires_at <= _now():
            return None
        user = s.get(User, ws.user_id)
        return _principal(s, user, "session") if user is not None else None


def end_session(cat: Catalog, sid: str) -> None:
    with cat.session() as s:
        ws = s.scalar(select(WebSession).where(WebSession.sid_sha256 == _sha(sid)))
        if ws is not None and ws.ended_at is None:
            ws.ended_at = _now()
