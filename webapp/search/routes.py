"""``GET /api/search``, ``POST /api/search/by-photo`` and the search page.

Analysts search everything collected (candidates are public content), but what a hit says
about protection is one client's business: a hit shows only the caller's own clients and
persons, and the ``client``, ``person`` and ``matched`` filters mean the caller's own
(another client's name is 404; ``matched=false`` would reveal other clients' matches by
their absence, so it is for operators only).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from likewatch.catalog.models import Client, Person
from matchers.index.base import BadQuery
from webapp import uploads
from webapp.accounts.roles import NotFound, Principal
from webapp.search.core import (
    MAX_UPLOAD,
    SearchRequest,
    parse_search_params,
    run_search,
    search_by_photo,
)
from webapp.web import catalog, error, index, principal, render

router = APIRouter(tags=["search"])


class Bucket(BaseModel):
    key: str
    count: int


class Match(BaseModel):
    signal: str
    distance: float
    threshold: float


class Hit(BaseModel):
    doc_id: str
    platform: str
    item_id: str
    url: str
    title: str
    description: str
    uploader: str
    tags: list[str]
    published_at: str | None
    found_at: str | None
    clients: list[str]  # your clients that matched it
    persons: list[str]  # your persons that matched it
    matched: bool  # one of your persons matched it
    faces: int | None = None
    signals: dict[str, list[str]] | None = None  # hashes (never face embeddings)
    matches: list[Match] | None = None  # by-photo: how close


class SearchOut(BaseModel):
    total: int
    next: str | None = None
    hits: list[Hit]
    aggs: dict[str, list[Bucket]] = {}
    signals: dict[str, int] | None = None  # by-photo: values searched per signal


def own(request: Request, who: Principal) -> tuple[set[str], set[str]] | None:
    """(client names, person keys) the caller may search as their own; None: operator."""
    ids = who.client_ids("search")
    if ids is None:
        return None
    with catalog(request).session() as s:
        clients = set(s.scalars(select(Client.name).where(Client.id.in_(list(ids)))))
        persons = set(s.scalars(select(Person.key).where(Person.client_id.in_(list(ids)))))
    return clients, persons


def scope(req: SearchRequest, mine: tuple[set[str], set[str]] | None) -> SearchRequest:
    """The request limited to the caller's clients (see the module docstring)."""
    if mine is None:
        return req
    clients, persons = mine
    f = req.filters
    foreign = [c for c in f.client if c not in clients]
    if foreign:
        raise NotFound(f"no client {foreign[0]!r}")
    unknown = [p for p in f.person if p not in persons]
    if unknown:
        raise NotFound(f"no person {unknown[0]!r}")
    if f.matched is False:
        raise BadQuery("matched=false is for operators: search without 'matched' instead")
    if (f.person or f.matched) and not f.client:
        f.client = sorted(clients)
    return req


def redact(out: dict[str, Any], mine: tuple[set[str], set[str]] | None) -> dict[str, Any]:
    if mine is None:
        return out
    clients, persons = mine
    for hit in out["hits"]:
        hit["clients"] = [c for c in hit.get("clients", []) if c in clients]
        hit["persons"] = [p for p in hit.get("persons", []) if p in persons] \
            if hit["clients"] else []
        hit["matched"] = bool(hit["persons"])
    return out


def _params(request: Request) -> dict[str, Any]:
    return {k: request.query_params.getlist(k) for k in request.query_params}


@router.get("/api/search", response_model=SearchOut)
def api_search(request: Request, who: Annotated[Principal, Depends(principal)],
               q: str = "", platform: str | None = None, client: str | None = None,
               person: str | None = None, matched: str | None = None,
               since: str | None = None, until: str | None = None,
               date_field: str | None = None, sort: str = "-found_at", size: int = 20,
               after: str | None = None, aggs: str | None = None) -> dict[str, Any]:
    """Full text + filters + aggregations over every collected candidate, paged with
    ``after``. ``platform``, ``client``, ``person``: comma-separated, any of them; dates
    ``YYYY-MM-DD`` or ISO 8601 (UTC); ``aggs``: platform,uploader,day."""
    who.require_anywhere("search")
    mine = own(request, who)
    req = scope(parse_search_params(_params(request)), mine)
    return redact(run_search(index(request), req), mine)


# The photo search takes one image: its body may hold it and its multipart envelope
# (webapp/bodylimit.py refuses more before it is read).
BODY_LIMITS = {"/api/search/by-photo": MAX_UPLOAD + 64 * 1024}


@router.post("/api/search/by-photo", response_model=SearchOut,
             responses={413: {"description": "the image is larger than 20 MB"}})
async def api_by_photo(request: Request, who: Annotated[Principal, Depends(principal)],
                       file: UploadFile, q: str = "", platform: str | None = None,
                       client: str | None = None, person: str | None = None,
                       matched: str | None = None, since: str | None = None,
                       until: str | None = None, date_field: str | None = None,
                       size: int = 20) -> Any:
    """Candidates showing the uploaded image (multipart field ``file``, at most 20 MB) or
    its faces, with the same text and filters as ``/api/search`` (query string); ``total``
    counts every one, whatever ``size`` is. At most ``photo_search_concurrency`` photos
    are decoded at a time (webapp/uploads.py); the others wait their turn."""
    who.require_anywhere("search")
    mine = await run_in_threadpool(own, request, who)
    req = scope(parse_search_params(_params(request)), mine)
    try:
        data = await uploads.read_limited(uploads.chunks(file.read), MAX_UPLOAD)
    except uploads.TooLarge as exc:
        return error(request, 413, str(exc))
    finally:
        await file.close()
    if not data:
        raise BadQuery("no image uploaded (multipart field 'file')")
    async with uploads.gate():  # a few decodes at a time, memory handed back after each
        try:
            out = await run_in_threadpool(search_by_photo, index(request), data,
                                          name=file.filename or "", size=req.size, req=req)
        finally:
            del data
            await run_in_threadpool(uploads.release_memory)
    return redact(out, mine)


@router.get("/search", include_in_schema=False)
def search_page(request: Request, who: Annotated[Principal, Depends(principal)]) -> Response:
    """The analyst's page: text, facets, dates; by-photo posts to the API from its script."""
    who.require_anywhere("search")
    params = _params(request)
    result = None
    if params:
        mine = own(request, who)
        req = scope(parse_search_params({**params, "aggs": "platform,uploader,day"}), mine)
        result = redact(run_search(index(request), req), mine)
    from urllib.parse import urlencode

    return render(request, "search/search.html", result=result,
                  q={k: (v[0] if v else "") for k, v in params.items()},
                  request_query=urlencode([(k, v) for k, v in request.query_params.multi_items()
                                           if k != "after"]))
