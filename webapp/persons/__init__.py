"""The roster on the desk: persons of a client, bulk enrolment, edits, removal."""

from __future__ import annotations

from likewatch.catalog import Catalog
from likewatch.catalog.models import Person
from webapp.accounts.roles import NotFound, Principal


def person_for(cat: Catalog, who: Principal, person_id: int, perm: str = "read") -> int:
    """The person's client id if ``who`` may ``perm`` them (another client's: NotFound)."""
    from alerts.roster import erased_ids

    with cat.session() as s:
        p = s.get(Person, person_id)
        if p is None or p.id in erased_ids(s):
            raise NotFound(f"no person {person_id}")
        who.require(perm, p.client_id)
        return p.client_id
