"""What every area of the desk shares: the catalog and index of the app, the principal of
the request, templates, and error answers.

Areas (``webapp/<area>/``) hold their routes and templates; templates are named
``<area>/<file>`` and extend ``base.html`` (``webapp/templates/``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.templating import Jinja2Templates

from likewatch.catalog import Catalog
from matchers.index.base import CandidateIndex
from webapp.accounts.roles import AuthError, Principal

ROOT = Path(__file__).parent
AREAS = ("accounts", "alerts", "persons", "search", "apidocs")
PRIVATE = "private, no-store"


def catalog(request: Request) -> Catalog:
    cat: Catalog = request.app.state.catalog
    return cat


def index(request: Request) -> CandidateIndex:
    ix: CandidateIndex = request.app.state.index
    return ix


def principal(request: Request) -> Principal:
    """The user or token this request acts as (set by the auth middleware)."""
    who = getattr(request.state, "principal", None)
    if not isinstance(who, Principal):
        raise AuthError("authentication required")
    return who


def actor(who: Principal) -> str:
    """How decisions record who took them."""
    return who.email if who.via == "session" else f"{who.email} (token {who.token_id})"


def _when(value: str | None) -> str:
    if not value:
        return ""
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


def make_templates() -> Jinja2Templates:
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(str(ROOT / "templates")),
        jinja2.PrefixLoader({area: jinja2.FileSystemLoader(str(ROOT / area / "templates"))
                             for area in AREAS}),
    ])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["when"] = _when
    return Jinja2Templates(env=env)


def csrf_token(request: Request) -> str:
    get = request.scope.get("csrftoken")
    return str(get()) if callable(get) else ""


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    who = getattr(request.state, "principal", None)
    ctx = {"principal": who, "csrftoken": csrf_token(request), "path": request.url.path,
           **context}
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers["Cache-Control"] = PRIVATE
    return response


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path == "/openapi.json":
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "GET"


def error(request: Request, status: int, message: str) -> Response:
    """An error as JSON for the API, as a page for a browser."""
    if wants_html(request):
        return render(request, "error.html", status_code=status, status=status,
                      message=message)
    return JSONResponse({"error": message}, status_code=status,
                        headers={"Cache-Control": PRIVATE})
