"""Authentication of every request, in one place, so no route can forget it.

A request carries an API token (``Authorization: Bearer lwt_…``) or the session cookie of
a logged-in browser. Without either, or with a bad one, it gets 401 (a browser asking for
a page gets the login form with that status) -- except the few public paths below. With
a token header the session cookie is not looked at, so a bad token never falls back to
a cookie. Authenticated answers are marked ``Cache-Control: private, no-store``: every
page and API answer of the desk is one client's data.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from likewatch.catalog import Catalog
from webapp.accounts import service
from webapp.accounts.roles import Principal

PUBLIC_PATHS = frozenset({"/api/health", "/login"})
PUBLIC_PREFIXES = ("/static/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class AuthMiddleware:
    def __init__(self, app: ASGIApp, catalog: Catalog) -> None:
        self.app = app
        self.catalog = catalog

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        who = await to_thread.run_sync(self.authenticate, scope)
        if who is None:
            await self.reject(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = who

        async def private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"cache-control"]
                headers.append((b"cache-control", b"private, no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, private)

    def authenticate(self, scope: Scope) -> Principal | None:
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer":
                return None
            return service.principal_for_token(self.catalog, token.strip())
        session: dict[str, Any] = scope.get("session") or {}
        sid = session.get("sid")
        if isinstance(sid, str) and sid:
            return service.principal_for_session(self.catalog, sid)
        return None

    async def reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.responses import Response

        from webapp.web import render, wants_html

        request = Request({**scope, "app": self.app}, receive)
        response: Response
        if wants_html(request) and request.method == "GET":
            response = render(request, "accounts/login.html", status_code=401,
                              next=request.url.path, message="")
        else:
            from starlette.responses import JSONResponse

            response = JSONResponse({"error": "authentication required"}, status_code=401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="likewatch"'
        response.headers["Cache-Control"] = "private, no-store"
        await response(scope, receive, send)
