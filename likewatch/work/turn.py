"""Turns: work that one process at a time may do, whichever process it is.

Most work is split between the processes of a role by claiming rows (leases, in
:mod:`likewatch.work.lease`). Some is a single stream that only one process should work at
a time: the indexer follows the catalog with cursors and sends what changed, and two
indexers at once would send the same documents twice, or an older version of a document
after a newer one. Such work takes a *turn* (a row of ``work_turns``): a lease on a name,
held while the work runs (a heartbeat extends it) and given back after; a process that
died lets go when its lease expires, and another takes the next turn. The other processes
of the role skip their tick meanwhile: they are standing by.

``token`` counts the turns taken; :func:`take` returns it, and a holder whose lease expired
(and was taken by another) cannot extend or give back the new holder's turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import or_, update

from likewatch.catalog import Catalog
from likewatch.catalog.queue import WorkTurn
from likewatch.work.clock import SYSTEM, Clock
from likewatch.work.db import insert_missing, write_session
from likewatch.work.lease import keep_alive


def take(cat: Catalog, name: str, owner: str, seconds: float, *,
         clock: Clock = SYSTEM) -> int | None:
    """Take the turn ``name`` for ``seconds``; its token, or None while another holds it."""
    t = clock.now()
    with write_session(cat) as s:
        insert_missing(s, WorkTurn, {"name": name, "owner": "", "until": 0.0, "token": 0})
        row = s.execute(update(WorkTurn)
                        .where(WorkTurn.name == name,
                               or_(WorkTurn.until < t, WorkTurn.owner == owner))
                        .values(owner=owner, until=t + seconds, token=WorkTurn.token + 1)
                        .returning(WorkTurn.token)
                        .execution_options(synchronize_session=False)).first()
        return int(row.token) if row is not None else None


def extend(cat: Catalog, name: str, owner: str, token: int, seconds: float, *,
           clock: Clock = SYSTEM) -> bool:
    """Hold the turn ``seconds`` longer; False when it was lost."""
    with write_session(cat) as s:
        res = s.execute(update(WorkTurn)
                        .where(WorkTurn.name == name, WorkTurn.owner == owner,
                               WorkTurn.token == token)
                        .values(until=clock.now() + seconds)
                        .execution_options(synchronize_session=False))
        return bool(getattr(res, "rowcount", 0))


def give_back(cat: Catalog, name: str, owner: str, token: int) -> bool:
    """End the turn now (the next process need not wait for the lease to expire)."""
    with write_session(cat) as s:
        res = s.execute(update(WorkTurn)
                        .where(WorkTurn.name == name, WorkTurn.owner == owner,
                               WorkTurn.token == token)
                        .values(owner="", until=0.0)
                        .execution_options(synchronize_session=False))
        return bool(getattr(res, "rowcount", 0))


@contextmanager
def turn(cat: Catalog, name: str, owner: str, seconds: float) -> Iterator[bool]:
    """``with turn(...) as mine:`` the body runs holding the turn if ``mine`` (extended
    every third of ``seconds``, given back at the end); else another process holds it."""
    token = take(cat, name, owner, seconds)
    if token is None:
        yield False
        return
    try:
        with keep_alive(lambda: extend(cat, name, owner, token, seconds), seconds,
                        f"turn-{name}"):
            yield True
    finally:
        give_back(cat, name, owner, token)
