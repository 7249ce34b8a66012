"""Every route of the desk, enumerated from the router: 401 without credentials, and
another client's objects are 403 or 404 (never their data). A new route fails here until
it is given a cross-tenant case, so isolation cannot be forgotten."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.webapp.conftest import Desk
from tests.webapp.world import B
from webapp.accounts.middleware import PUBLIC_PATHS, PUBLIC_PREFIXES
from webapp.app import route_table

# Every route that changes something, with a valid request aimed at client B (an invalid
# one would stop at validation and prove nothing). A new route must be added here.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/alerts/{alert_id}/review"): {"json": {"decision": "dismiss"}},
    ("POST", "/alerts/{alert_id}/review"): {"data": {"decision": "dismiss"}},
    ("POST", "/api/alerts/{alert_id}/allow-uploader"): {},
    ("POST", "/api/alerts/{alert_id}/notice"): {"json": {"format": "text"}},
    ("POST", "/alerts/{alert_id}/notice"): {"data": {"format": "text"}},
    ("POST", "/api/alerts/{alert_id}/packet"): {"json": {}},
    ("POST", "/alerts/{alert_id}/packet"): {"data": {}},
    ("POST", "/api/alerts/{alert_id}/takedown"): {"json": {"state": "filed"}},
    ("POST", "/alerts/{alert_id}/takedown"): {"data": {"state": "filed"}},
    ("PATCH", "/api/persons/{person_id}"): {"json": {"name": "x"}},
    ("POST", "/persons/{person_id}"): {"data": {"name": "x"}},
    ("POST", "/persons/{person_id}/remove"): {},
    ("DELETE", "/api/persons/{person_id}"): {},
    ("DELETE", "/api/tokens/{token_id}"): {},
    ("POST", "/api/persons"): {"data": {"client": B, "person": "intruder"},
                               "files": {"photos": ("x.jpg", b"not used", "image/jpeg")}},
    ("POST", "/api/tokens"): {"json": {"client": B}},
    ("POST", "/api/search/by-photo"): {"params": {"client": B},
                                       "files": {"file": ("x.jpg", b"x", "image/jpeg")}},
    ("POST", "/logout"): {},
    ("POST", "/login"): {},
}


def routes(desk: Desk) -> list[tuple[str, str]]:
    return sorted((m, p) for p, methods in route_table(desk.app.api) for m in methods)


def fill(path: str, desk: Desk) -> str:
    w = desk.world
    with desk.catalog.session() as s:
        from likewatch.catalog.accounts import ApiToken, User

        b_token = s.query(ApiToken).join(User, User.id == ApiToken.user_id).filter(
            User.email == w.users["owner_b"]).first()
        assert b_token is not None
    values = {"alert_id": w.alerts[B][-1], "person_id": str(w.persons[B]),
              "reference_id": str(w.references[B]), "token_id": str(b_token.id),
              "side": "candidate", "n": "0"}
    names = re.findall(r"{(\w+)}", path)
    missing = [n for n in names if n not in values]
    assert not missing, f"{path}: give the isolation test a client-B value for {missing}"
    for n in names:
        path = path.replace("{" + n + "}", values[n])
    return path


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or any(path.startswith(p) for p in PUBLIC_PREFIXES)


def test_the_public_routes_are_exactly_health_login_and_static(desk: Desk) -> None:
    public = {p for _, p in routes(desk) if is_public(p)}
    assert public == {"/api/health", "/login", "/static/{path}"}


def test_every_route_wants_credentials(desk: Desk) -> None:
    c = desk.client()
    checked = 0
    for method, path in routes(desk):
        if is_public(path):
            continue
        c.cookies.clear()  # no credentials at all (a CSRF cookie alone would give 403)
        r = c.request(method, fill(path, desk))
        assert r.status_code == 401, (method, path, r.status_code)
        checked += 1
    assert checked >= 40


@pytest.mark.parametrize("who", ["owner_a", "viewer_a", "analyst_a"])
def test_client_a_never_reaches_client_b(desk: Desk, who: str) -> None:
    w = desk.world
    c = desk.client(w.tokens[who])
    leaks = [B, "demo-b", "Demo person B", *w.alerts[B]]
    for method, path in routes(desk):
        if is_public(path) or path == "/static/{path}":
            continue
        url = fill(path, desk)
        if method != "GET":
            assert (method, path) in BODIES, f"{method} {path}: add a cross-tenant case"
            if path in ("/login", "/logout"):
                continue
            r = c.request(method, url, **BODIES[(method, path)])
            assert r.status_code in (403, 404), (who, method, path, r.status_code, r.text)
            continue
        r = c.get(url)
        if "{" in path:
            assert r.status_code in (403, 404), (who, method, path, r.status_code, r.text)
        text = r.content.decode("utf-8", "replace")
        assert not [x for x in leaks if x in text], (who, method, path)


def test_client_b_objects_still_exist_for_b(desk: Desk) -> None:
    """The control: B's own token gets B's objects, so A's 404s above are isolation."""
    w = desk.world
    c = desk.client(w.tokens["owner_b"])
    assert c.get(f"/api/alerts/{w.alerts[B][-1]}").status_code == 200
    assert c.get(f"/api/persons/{w.persons[B]}").status_code == 200
    assert c.get(f"/media/references/{w.references[B]}").status_code == 200
    assert c.get(f"/media/alerts/{w.alerts[B][-1]}/candidate").status_code == 200
