"""``GET /api/health``: liveness, public (load balancers and the daemon's checks use it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from webapp.web import index

router = APIRouter()


class Health(BaseModel):
    ok: bool
    index: str


@router.get("/api/health", response_model=Health, tags=["service"])
def health(request: Request) -> Health:
    """Liveness and which index backend serves searches. Needs no credentials."""
    return Health(ok=True, index=index(request).backend)
