"""The web application: ``create_app(catalog, index)`` returns an aiohttp application.

Other packages add their routes to it; handlers reach the shared objects through the
typed keys below (``request.app[CATALOG]``, ``request.app[INDEX]``). Errors of the index
layer become JSON answers: a bad query 400, an unreachable index 503.

    likewatch serve --port 8080
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from likewatch.catalog import Catalog
from matchers.index.base import BadQuery, CandidateIndex, IndexUnavailable

CATALOG = web.AppKey("catalog", Catalog)
INDEX = web.AppKey("index", CandidateIndex)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Known failures as ``{"error": "..."}`` with a fitting status."""
    try:
        return await handler(request)
    except BadQuery as exc:
        return web.json_response({"error": str(exc)}, status=400)
    except IndexUnavailable as exc:
        log.warning("index unavailable: %s", exc)
        return web.json_response({"error": "the candidate index is unavailable"}, status=503)


async def health(request: web.Request) -> web.Response:
    """Liveness and which index backend serves searches."""
    return web.json_response({"ok": True, "index": request.app[INDEX].backend})


def create_app(catalog: Catalog, index: CandidateIndex) -> web.Application:
    """The application with the search API; the caller owns (and closes) catalog and index."""
    from webapp import search

    app = web.Application(middlewares=[json_errors], client_max_size=search.MAX_UPLOAD)
    app[CATALOG] = catalog
    app[INDEX] = index
    app.router.add_get("/api/health", health)
    app.add_routes(search.routes)
    return app
