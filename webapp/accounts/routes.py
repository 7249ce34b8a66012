"""Log in and out; who am I; my API tokens."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from likewatch import settings
from webapp.accounts import service
from webapp.accounts.roles import NotFound, Principal
from webapp.web import catalog, principal, render

router = APIRouter()


def _safe_next(target: str) -> str:
    """Only a path on this site (no scheme, no host, no '//' trick)."""
    parts = urlsplit(target or "/")
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002
    return render(request, "accounts/login.html", next=_safe_next(next), message="")


@router.post("/login", include_in_schema=False)
def login(request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()],
          next: Annotated[str, Form()] = "/") -> Response:  # noqa: A002
    cat = catalog(request)
    user_id = service.check_password(cat, email, password)
    if user_id is None:
        return render(request, "accounts/login.html", status_code=401, next=_safe_next(next),
                      message="Wrong e-mail or password.")
    sid = service.create_session(cat, user_id, float(settings.get("webapp_session_hours")))
    request.session.clear()
    request.session["sid"] = sid
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    sid = request.session.get("sid")
    if isinstance(sid, str):
        service.end_session(catalog(request), sid)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


class Grant(BaseModel):
    client: str
    client_id: int
    role: str


class Me(BaseModel):
    email: str
    operator: bool
    via: str
    roles: list[Grant]


@router.get("/api/me", response_model=Me, tags=["accounts"])
def me(request: Request, who: Annotated[Principal, Depends(principal)]) -> Me:
    """The user (or token) making this request, with their role in each client."""
    from alerts.roster import list_clients

    names = {c["id"]: c["name"] for c in list_clients(catalog(request), list(who.grants))}
    return Me(email=who.email, operator=who.operator, via=who.via,
              roles=[Grant(client=names.get(cid, "?"), client_id=cid, role=role)
                     for cid, role in sorted(who.grants.items())])


class TokenInfo(BaseModel):
    id: int
    client: str | None
    role: str
    name: str
    prefix: str
    created_at: str | None
    last_used_at: str | None
    revoked: bool


class TokenList(BaseModel):
    tokens: list[TokenInfo]


class NewToken(BaseModel):
    client: str | None = None
    role: str | None = None
    name: str = ""


class CreatedToken(BaseModel):
    id: int
    token: str


@router.get("/api/tokens", response_model=TokenList, tags=["accounts"])
def my_tokens(request: Request, who: Annotated[Principal, Depends(principal)]) -> TokenList:
    """Your API tokens (never the tokens themselves: they are shown only when created)."""
    rows = service.list_tokens(catalog(request), user_id=who.user_id)
    return TokenList(tokens=[TokenInfo(**{k: v for k, v in r.items() if k != "user"})
                             for r in rows])


@router.post("/api/tokens", response_model=CreatedToken, status_code=201, tags=["accounts"])
def new_token(request: Request, body: NewToken,
              who: Annotated[Principal, Depends(principal)]) -> CreatedToken:
    """A new token for yourself, scoped to one of your clients and a role up to yours.
    The token is in this answer only."""
    if who.via != "session":
        raise NotFound("tokens are created from a logged-in session or the CLI")
    token, token_id = service.create_token(catalog(request), who.email, client=body.client,
                                           role=body.role, name=body.name)
    return CreatedToken(id=token_id, token=token)


@router.delete("/api/tokens/{token_id}", status_code=204, tags=["accounts"])
def revoke(request: Request, token_id: int,
           who: Annotated[Principal, Depends(principal)]) -> Response:
    """Revoke one of your tokens."""
    try:
        service.revoke_token(catalog(request), str(token_id), user_id=who.user_id)
    except service.AccountError:
        raise NotFound("no such token") from None
    return Response(status_code=204)
