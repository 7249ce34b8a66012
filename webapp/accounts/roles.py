"""Roles and what each may do; the principal a request acts as.

Roles are per client: ``owner`` > ``reviewer`` > ``analyst`` > ``viewer`` (each may do
everything the next may). An ``operator`` acts on every client. The permission table
below is the one place this is decided; routes ask ``principal.require(perm, client_id)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ROLES = ("owner", "reviewer", "analyst", "viewer")
OPERATOR = "operator"
RANK = {"viewer": 0, "analyst": 1, "reviewer": 2, "owner": 3, OPERATOR: 4}

#: permission -> the lowest role that has it
PERMISSIONS: Mapping[str, str] = {
    "read": "viewer",      # alerts, persons, evidence, notices, takedown state
    "search": "analyst",   # text and photo search over everything collected
    "review": "reviewer",  # confirm, dismiss, allow-list, notices, takedown steps
    "roster": "owner",     # enrol, edit and remove persons
}


class AuthError(Exception):
    """401: no valid credentials."""


class Forbidden(Exception):
    """403: known user, not allowed to do this (their role is too low)."""


class NotFound(LookupError):
    """404: no such thing, or it belongs to a client the user cannot see."""


def at_least(role: str, minimum: str) -> bool:
    return RANK.get(role, -1) >= RANK[minimum]


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user with roles per client id (or an operator)."""

    user_id: int
    email: str
    operator: bool = False
    grants: Mapping[int, str] = field(default_factory=dict)  # client id -> role
    via: str = "session"  # session | token
    token_id: int | None = None

    def role_in(self, client_id: int) -> str | None:
        return OPERATOR if self.operator else self.grants.get(client_id)

    def can(self, perm: str, client_id: int) -> bool:
        role = self.role_in(client_id)
        return role is not None and at_least(role, PERMISSIONS[perm])

    def client_ids(self, perm: str = "read") -> set[int] | None:
        """The clients where ``perm`` is granted; None for an operator (every client)."""
        if self.operator:
            return None
        return {cid for cid, role in self.grants.items() if at_least(role, PERMISSIONS[perm])}

    def may_anywhere(self, perm: str) -> bool:
        ids = self.client_ids(perm)
        return ids is None or bool(ids)

    def require(self, perm: str, client_id: int) -> None:
        """NotFound when the client is not the user's at all (its objects do not exist
        for them); Forbidden when it is, but their role there is too low."""
        if self.role_in(client_id) is None:
            raise NotFound("not found")
        if not self.can(perm, client_id):
            raise Forbidden(f"your role cannot {perm} here")

    def require_anywhere(self, perm: str) -> None:
        if not self.may_anywhere(perm):
            raise Forbidden(f"your role cannot {perm}")
