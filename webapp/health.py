"""``GET /api/health``: is the service up, and what state are its parts in.

Public (load balancers, monitors and the daemon's checks use it): it reports counts and
ages only, never a client's or a person's data. It answers 200 while the catalog can be
read (``ok`` is then true unless the index is unreachable too: ``status`` says
``degraded``), and 503 when the catalog cannot be read.

- ``catalog``: reachable, and which database backend;
- ``index``: the backend, reachable, documents, writes queued while it was down;
- ``queues``: the work queue by queue and state, the outbox by state, candidates waiting
  for the matcher, candidates the indexer has not sent yet (``index_lag``);
- ``roles``: per daemon role, its last heartbeat and last finished tick
  (``likewatch.work.heartbeat``): a role whose beat is old is not running.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from likewatch.catalog import Catalog
from likewatch.work import heartbeat
from likewatch.work.depths import depths
from webapp.web import catalog, index

router = APIRouter()
log = logging.getLogger(__name__)


class CatalogHealth(BaseModel):
    ok: bool
    backend: str
    error: str | None = None


class IndexHealth(BaseModel):
    ok: bool
    backend: str
    documents: int | None = None
    queued: int = 0
    error: str | None = None


class QueueHealth(BaseModel):
    work: dict[str, dict[str, int]] = {}
    outbox: dict[str, int] = {}
    candidates_pending: int = 0
    index_lag: int = 0


class RoleHealth(BaseModel):
    role: str
    last_beat_at: float
    beat_age_s: float
    last_tick_at: float | None
    tick_age_s: float | None
    last_tick_s: float | None
    last_tick_ok: bool | None
    workers: int


class Health(BaseModel):
    ok: bool
    status: str  # ok | degraded | down
    index: IndexHealth
    catalog: CatalogHealth
    queues: QueueHealth
    roles: list[RoleHealth]


def _queues(cat: Catalog) -> QueueHealth:
    d = depths(cat)
    return QueueHealth(work=d["work"], outbox=d["outbox"],
                       candidates_pending=d["candidates"].get("pending", 0),
                       index_lag=d["index_lag"])


def _index(ix: Any) -> IndexHealth:
    try:
        return IndexHealth(ok=True, backend=ix.backend, documents=ix.count(),
                           queued=int(getattr(ix, "pending", lambda: 0)()))
    except Exception as exc:  # noqa: BLE001 - an unreachable index is reported, not raised
        return IndexHealth(ok=False, backend=ix.backend, error=str(exc)[:300])


@router.get("/api/health", response_model=Health, tags=["service"],
            responses={503: {"model": Health, "description": "the catalog cannot be read"}})
def health(request: Request, response: Response) -> Health:
    """The state of the catalog, the index, the queues and the daemon's roles. Needs no
    credentials; 503 when the catalog cannot be read."""
    cat = catalog(request)
    ix = _index(index(request))
    try:
        queues = _queues(cat)
        roles = [RoleHealth(**r) for r in heartbeat.roles(cat)]
        db = CatalogHealth(ok=True, backend=cat.engine.dialect.name)
    except Exception as exc:  # noqa: BLE001 - the answer says what is down
        log.warning("health: catalog unreadable: %s", exc)
        db = CatalogHealth(ok=False, backend=cat.engine.dialect.name, error=str(exc)[:300])
        queues, roles = QueueHealth(), []
        response.status_code = 503
    status = "down" if not db.ok else "ok" if ix.ok else "degraded"
    return Health(ok=status == "ok", status=status, index=ix, catalog=db, queues=queues,
                  roles=roles)
