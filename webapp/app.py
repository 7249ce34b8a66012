"""The review desk: ``create_app(catalog, index)`` returns the ASGI application.

Middleware, outermost first (each a maintained library, or ours where it is policy):

1. ``TrustedHostMiddleware`` (Starlette): a ``Host`` not in setting ``allowed_hosts`` -> 400.
2. ``SessionMiddleware`` (Starlette, itsdangerous-signed cookie ``likewatch_session``,
   HttpOnly, SameSite=Lax, Secure unless ``webapp_secure_cookies`` is off). It holds only a
   random session id; the session itself is a catalog row (``web_sessions``), so logout
   ends it on the server.
3. ``asgi-csrf`` (double-submit cookie, signed): every POST/PUT/PATCH/DELETE that carries
   cookies needs the ``csrftoken`` form field or ``x-csrftoken`` header; requests with an
   ``Authorization: Bearer`` token are exempt (a browser never adds that header on its own).
   The login form is always protected.
4. ``AuthMiddleware`` (``webapp/accounts/middleware.py``): every path but ``/api/health``,
   ``/login`` and ``/static/`` needs a session or a token, else 401.

``GET /metrics`` (Prometheus, ``likewatch.metrics``) is answered just inside the host check,
before sessions and authentication: from loopback, or with ``Authorization: Bearer
<metrics_token>`` (``likewatch.metrics_http``; ``docs/observability.md``). It is not an API
route, so it is not in the OpenAPI schema.

Handlers then check the principal's role in the client of what they touch
(``Principal.require``): another client's objects are 404, a role too low is 403.

    likewatch serve --port 8080        # pages at /, API under /api, schema at /openapi.json
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from asgi_csrf import asgi_csrf
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp

from likewatch import metrics, metrics_http, settings
from likewatch.catalog import Catalog
from matchers.index.base import BadQuery, CandidateIndex, IndexUnavailable
from webapp.accounts.middleware import AuthMiddleware
from webapp.accounts.roles import AuthError, Forbidden, NotFound
from webapp.bodylimit import BodyLimit
from webapp.search.routes import BODY_LIMITS
from webapp.web import ROOT, error, make_templates

log = logging.getLogger(__name__)

SESSION_COOKIE = "likewatch_session"
VERSION = "1.0"


def secret_key(home: Path) -> str:
    """Setting ``webapp_secret``, else a random key kept in ``$LIKEWATCH_HOME/webapp-secret``."""
    configured = str(settings.get("webapp_secret") or "")
    if configured:
        return configured
    path = home / "webapp-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _handlers(app: FastAPI) -> None:
    async def auth(request: Request, exc: Exception) -> Response:
        return error(request, 401, str(exc) or "authentication required")

    async def forbidden(request: Request, exc: Exception) -> Response:
        return error(request, 403, str(exc) or "forbidden")

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(request, 404, str(exc) or "not found")

    async def bad_query(request: Request, exc: Exception) -> Response:
        return error(request, 400, str(exc))

    async def unavailable(request: Request, exc: Exception) -> Response:
        log.warning("index unavailable: %s", exc)
        return error(request, 503, "the candidate index is unavailable")

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid')}",
                             "detail": [{"loc": list(e.get("loc", ())), "msg": e.get("msg")}
                                        for e in exc.errors()]}, status_code=422)

    app.add_exception_handler(AuthError, auth)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(BadQuery, bad_query)
    app.add_exception_handler(IndexUnavailable, unavailable)
    app.add_exception_handler(RequestValidationError, invalid)
    from alerts.registry import RegistryError
    from alerts.review import ReviewError
    from webapp.accounts.service import AccountError

    for exc_type in (RegistryError, ReviewError, AccountError):
        app.add_exception_handler(exc_type, bad_query)


def build_api(catalog: Catalog, index: CandidateIndex) -> FastAPI:
    """The FastAPI application without the outer middleware (what the schema is made from)."""
    from webapp import apidocs, health
    from webapp.accounts import routes as accounts
    from webapp.alerts import api as alerts_api
    from webapp.alerts import pages as alerts_pages
    from webapp.evidence import routes as evidence
    from webapp.media import routes as media
    from webapp.notices import routes as notices
    from webapp.persons import api as persons_api
    from webapp.persons import pages as persons_pages
    from webapp.search import routes as search
    from webapp.takedowns import routes as takedowns

    app = FastAPI(title="Likewatch review desk", version=VERSION, docs_url=None,
                  redoc_url=None, openapi_url="/openapi.json",
                  description="Alerts, evidence, notices, takedowns, roster and search of "
                  "one client's protected persons. Authenticate with `Authorization: Bearer "
                  "<token>` (`likewatch token create EMAIL`) or a logged-in session.")
    app.state.catalog = catalog
    app.state.index = index
    app.state.templates = make_templates()
    _handlers(app)
    for module in (health, accounts, alerts_api, alerts_pages, evidence, notices, takedowns,
                   persons_api, persons_pages, search, media, apidocs):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(ROOT / "static")), name="static")
    return app


def create_app(catalog: Catalog, index: CandidateIndex, *,
               allowed_hosts: list[str] | None = None,
               secure_cookies: bool | None = None) -> Any:
    """The desk, wrapped in its middleware; the caller owns (and closes) catalog and index."""
    api = build_api(catalog, index)
    secure = bool(settings.get("webapp_secure_cookies")) if secure_cookies is None \
        else secure_cookies
    key = secret_key(catalog.home)
    app: ASGIApp = AuthMiddleware(api, catalog)
    app = asgi_csrf(app, signing_secret=key, always_protect={"/login"}, cookie_secure=secure,
                    cookie_samesite="Strict")
    app = SessionMiddleware(app, secret_key=key, session_cookie=SESSION_COOKIE,
                            max_age=int(float(settings.get("webapp_session_hours")) * 3600),
                            same_site="lax", https_only=secure)
    app = metrics_http.asgi_endpoint(app, metrics.registry_for(catalog))
    hosts = allowed_hosts if allowed_hosts is not None else list(settings.get("allowed_hosts"))
    app = TrustedHostMiddleware(app, allowed_hosts=hosts or ["127.0.0.1"])
    app = BodyLimit(app, limits=BODY_LIMITS)  # 413 past setting webapp_max_body_bytes
    return _Desk(SecurityHeaders(app), api)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # Pages load only their own scripts, styles and images: no inline script can run.
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; "
     b"object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
]


class SecurityHeaders:
    """The browser hardening headers, on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def add(message: Any) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": [
                    *message.get("headers", []),
                    *((k, v) for k, v in SECURITY_HEADERS if k not in names)]}
            await send(message)
        await self.app(scope, receive, add)


class _Desk:
    """The wrapped ASGI app, with the FastAPI app inside reachable as ``.api`` (routes,
    schema) for tests and for the docs page."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # nothing to check there; FastAPI answers it
            await self.api(scope, receive, send)
            return
        await self.app(scope, receive, send)


def route_table(api: FastAPI) -> list[tuple[str, frozenset[str]]]:
    """Every (path, methods) the application answers, routers included ones included
    (the isolation test walks it, so a new route is checked the day it is added)."""
    from starlette.routing import Mount, Route

    out: list[tuple[str, frozenset[str]]] = []

    def walk(routes: Any, prefix: str) -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)  # FastAPI's included router
            if inner is not None:
                walk(inner.routes, prefix + r.include_context.prefix)
            elif isinstance(r, Mount):
                out.append((prefix + r.path + "/{path}", frozenset({"GET"})))
            elif isinstance(r, Route):
                out.append((prefix + r.path, frozenset(r.methods or {"GET"}) - {"HEAD"}))
    walk(api.routes, "")
    return out
