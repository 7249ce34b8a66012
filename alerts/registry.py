"""Clients, persons and subscriptions: the plain functions behind the CLI and the webapp.

A studio subscribes to its people (``person`` given), an agency to its whole roster
(``person`` None: every person of the client, including those added later).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.channels import CHANNELS
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Subscription
from likewatch.catalog.models import Client, Person
from likewatch.official import parse_account_arg
from likewatch.work.db import write_session

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


class RegistryError(ValueError):
    """Bad input: unknown client or person, bad channel target."""


def get_client(s: Session, name: str) -> Client:
    client = s.scalar(select(Client).where(Client.name == name))
    if client is None:
        raise RegistryError(f"no client named {name!r} (add it with `likewatch client add`)")
    return client


def get_person(s: Session, client: Client, key: str) -> Person:
    person = s.scalar(select(Person).where(Person.client_id == client.id, Person.key == key))
    if person is None:
        raise RegistryError(f"client {client.name!r} has no person {key!r}")
    return person


def add_client(cat: Catalog, name: str, kind: str = "studio") -> int:
    """Create a client (or update its kind); returns its id."""
    if kind not in ("studio", "agency"):
        raise RegistryError(f"kind must be studio or agency, not {kind!r}")
    if not name.strip():
        raise RegistryError("client name is empty")
    with write_session(cat) as s:
        client = s.scalar(select(Client).where(Client.name == name))
        if client is None:
            client = Client(name=name, kind=kind)
            s.add(client)
        else:
            client.kind = kind
        s.flush()
        return client.id


def add_person(cat: Catalog, client: str, key: str, *, name: str = "",
               aliases: list[str] | None = None,
               official: list[str] | None = None) -> int:
    """Create or update a protected person. ``official``: ``platform:uploader`` accounts
    whose uploads never alert."""
    accounts = []
    for item in official or []:
        try:
            account = parse_account_arg(item)
        except ValueError as exc:
            raise RegistryError(str(exc)) from None
        accounts.append({"platform": account.platform, "uploader": account.uploader})
    with write_session(cat) as s:
        c = get_client(s, client)
        person = s.scalar(select(Person).where(Person.client_id == c.id, Person.key == key))
        before: tuple[str, list[str]] | None = None
        if person is None:
            person = Person(client_id=c.id, key=key, display_name=name or key,
                            aliases=list(aliases or []), official_accounts=accounts)
            s.add(person)
        else:
            before = (person.display_name, list(person.aliases or []))
            if name:
                person.display_name = name
            person.aliases = sorted(set(person.aliases or []) | set(aliases or []))
            merged = list(person.official_accounts or [])
            merged += [a for a in accounts if a not in merged]
            person.official_accounts = merged
        s.flush()
        names_changed(s, person, before)
        return person.id


def names_changed(s: Session, person: Person, before: tuple[str, list[str]] | None) -> None:
    """Search the stored candidates for a person's names when they are new or changed."""
    from matchers.name_signal import person_names, queue_name_backsearch

    now = person_names(person.key, person.display_name, person.aliases or [])
    if now and (before is None or person_names(person.key, *before) != now):
        queue_name_backsearch(s, person.id, now)


def add_subscription(cat: Catalog, client: str, channel: str, target: str, *,
                     person: str | None = None, secret: str = "",
                     digest_minutes: int = 0) -> int:
    """Subscribe a channel to a client's alerts (one person, or all of them)."""
    if channel not in CHANNELS:
        raise RegistryError(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
    if channel == "email":
        if not EMAIL_RE.match(target):
            raise RegistryError(f"not an e-mail address: {target!r}")
    elif not target.startswith(("http://", "https://")):
        raise RegistryError(f"{channel} target must be an http(s) URL, not {target!r}")
    if channel == "webhook" and not secret:
        raise RegistryError("a webhook needs --secret (its alerts are signed with it)")
    if digest_minutes < 0:
        raise RegistryError("--digest-minutes must be >= 0")
    with write_session(cat) as s:
        c = get_client(s, client)
        person_id = get_person(s, c, person).id if person else None
        sub = Subscription(client_id=c.id, person_id=person_id, channel=channel, target=target,
                           secret=secret, digest_minutes=digest_minutes)
        s.add(sub)
        s.flush()
        return sub.id


def list_subscriptions(cat: Catalog) -> list[dict[str, Any]]:
    """Subscriptions without their secrets, for display."""
    with cat.session() as s:
        out = []
        for sub in s.scalars(select(Subscription).order_by(Subscription.id)):
            client = s.get(Client, sub.client_id)
            person = s.get(Person, sub.person_id) if sub.person_id else None
            out.append({"id": sub.id, "client": client.name if client else None,
                        "person": person.key if person else None, "channel": sub.channel,
                        "target": sub.target, "digest_minutes": sub.digest_minutes,
                        "enabled": sub.enabled})
        return out
