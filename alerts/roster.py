"""The roster of a client: clients and persons listed with their status, persons edited.

Plain functions behind ``likewatch client list``, ``person list|edit`` and the roster
pages. A person's status: references enrolled, last match, open alerts, and their
official accounts (the allow-list: uploads by these accounts never alert). Adding an
official account is retroactive: the person's open alerts by that account are settled
(:func:`alerts.review.settle_official`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select

from alerts.registry import RegistryError, get_client, get_person, names_changed
from alerts.review import add_official as add_official_account
from alerts.review import settle_official
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Client, MatchRow, Person, Reference
from likewatch.catalog.review import PersonErasure
from likewatch.work.db import write_session


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def erased_ids(s: Any) -> set[int]:
    """Ids of persons erased on request (rows kept only as the anchor of kept evidence)."""
    return set(s.scalars(select(PersonErasure.person_id)))


def list_clients(cat: Catalog, client_ids: Collection[int] | None = None
                 ) -> list[dict[str, Any]]:
    with cat.session() as s:
        gone = erased_ids(s)
        q = select(Client).order_by(Client.name)
        if client_ids is not None:
            q = q.where(Client.id.in_(list(client_ids)))
        out = []
        for c in s.scalars(q):
            persons = [p for p in s.scalars(select(Person.id).where(Person.client_id == c.id))
                       if p not in gone]
            open_alerts = s.scalar(select(func.count(Alert.id)).where(
                Alert.client_id == c.id, Alert.status == "new")) or 0
            out.append({"id": c.id, "name": c.name, "kind": c.kind, "persons": len(persons),
                        "open_alerts": open_alerts, "created_at": _iso(c.created_at)})
        return out


def person_row(s: Any, p: Person, client: Client) -> dict[str, Any]:
    refs = list(s.scalars(select(Reference).where(Reference.person_id == p.id)
                          .order_by(Reference.id)))
    last = s.scalar(select(func.max(MatchRow.created_at)).where(MatchRow.person_id == p.id))
    counts = dict(s.execute(select(Alert.status, func.count(Alert.id))
                            .where(Alert.person_id == p.id).group_by(Alert.status)).all())
    return {"id": p.id, "key": p.key, "client": client.name, "name": p.display_name,
            "aliases": list(p.aliases or []), "official_accounts": list(p.official_accounts or []),
            "references": [{"id": r.id, "sha256": r.sha256,
                            "signals": {k: len(v) for k, v in (r.signals or {}).items()}}
                           for r in refs],
            "last_match_at": _iso(last), "open_alerts": int(counts.get("new", 0)),
            "alerts": {k: int(v) for k, v in counts.items()}, "created_at": _iso(p.created_at)}


def list_persons(cat: Catalog, *, client: str | None = None,
                 client_ids: Collection[int] | None = None) -> list[dict[str, Any]]:
    """Persons (not erased), by client then key, each with its status."""
    with cat.session() as s:
        gone = erased_ids(s)
        q = select(Person, Client).join(Client, Client.id == Person.client_id)
        if client:
            q = q.where(Client.id == get_client(s, client).id)
        if client_ids is not None:
            q = q.where(Person.client_id.in_(list(client_ids)))
        return [person_row(s, p, c) for p, c in s.execute(q.order_by(Client.name, Person.key))
                if p.id not in gone]


def find_person(cat: Catalog, client: str, key: str) -> int:
    with cat.session() as s:
        p = get_person(s, get_client(s, client), key)
        if p.id in erased_ids(s):
            raise RegistryError(f"client {client!r} has no person {key!r}")
        return p.id


def parse_account(item: str) -> tuple[str, str]:
    platform, sep, uploader = item.partition(":")
    if not sep or not platform.strip() or not uploader.strip():
        raise RegistryError(f"an official account is PLATFORM:UPLOADER ('*' for any "
                            f"platform), not {item!r}")
    return platform.strip(), uploader.strip()


def edit_person(cat: Catalog, person_id: int, actor: str, *, name: str | None = None,
                aliases: Sequence[str] | None = None, add_aliases: Sequence[str] = (),
                remove_aliases: Sequence[str] = (), add_official: Sequence[str] = (),
                remove_official: Sequence[str] = ()) -> dict[str, Any]:
    """Change a person's name, aliases and official accounts; returns the person's row and
    ``settled``: the open alerts the new official accounts settled."""
    new_accounts = [parse_account(a) for a in add_official]
    gone_accounts = {parse_account(a) for a in remove_official}
    with write_session(cat) as s:
        p = s.get(Person, person_id)
        if p is None or p.id in erased_ids(s):
            raise RegistryError(f"no person {person_id}")
        before = (p.display_name, list(p.aliases or []))
        if name is not None and name.strip():
            p.display_name = name.strip()
        current = list(aliases) if aliases is not None else list(p.aliases or [])
        current += [a for a in add_aliases if a not in current]
        p.aliases = [a.strip() for a in current if a.strip() and a not in set(remove_aliases)]
        p.official_accounts = [a for a in (p.official_accounts or [])
                               if (a.get("platform", "*"), a.get("uploader", ""))
                               not in gone_accounts]
        for platform, uploader in new_accounts:
            add_official_account(p, platform, uploader)
        settled = settle_official(s, p, actor) if new_accounts else []
        names_changed(s, p, before)  # their names are searched back (matchers.name_signal)
        client = s.get(Client, p.client_id)
        assert client is not None
        return {**person_row(s, p, client), "settled": settled}

