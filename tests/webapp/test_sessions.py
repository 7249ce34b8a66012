"""Browser sessions: argon2 password login, signed HttpOnly Secure cookies, CSRF on every
form, logout that ends the session on the server."""

from __future__ import annotations

import re

from tests.webapp.conftest import Desk
from tests.webapp.world import PASSWORD, A, B


def _csrf(html: str) -> str:
    m = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert m, "the form carries a CSRF token"
    return m.group(1)


def test_login_csrf_and_logout(desk: Desk) -> None:
    c = desk.client()
    page = c.get("/alerts")
    assert page.status_code == 401 and "Log in" in page.text  # the login form, as 401
    token = _csrf(page.text)
    email = desk.world.users["owner_a"]
    # No CSRF token: refused before the password is even looked at.
    r = c.post("/login", data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    r = c.post("/login", data={"email": email, "password": "wrong password",
                               "csrftoken": token}, follow_redirects=False)
    assert r.status_code == 401 and "Wrong e-mail or password" in r.text
    r = c.post("/login", data={"email": email, "password": PASSWORD, "csrftoken": token,
                               "next": "https://evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
    cookie = r.headers["set-cookie"]
    assert "likewatch_session=" in cookie and "httponly" in cookie.lower()
    assert "secure" in cookie.lower() and "samesite=lax" in cookie.lower()
    queue = c.get("/alerts?tier=alert")
    assert queue.status_code == 200 and "演示人物A" in queue.text and B not in queue.text
    assert queue.headers["cache-control"] == "private, no-store"
    key = desk.world.alerts[A][0]
    # A decision without the CSRF token is refused; with it, recorded.
    r = c.post(f"/alerts/{key}/review", data={"decision": "dismiss"}, follow_redirects=False)
    assert r.status_code == 403
    r = c.post(f"/alerts/{key}/review", data={"decision": "dismiss",
                                               "csrftoken": _csrf(queue.text)},
               follow_redirects=False)
    assert r.status_code == 303
    detail = c.get(f"/alerts/{key}")
    assert "dismiss" in detail.text and email in detail.text
    # Logging out ends the session on the server: the old cookie is worthless.
    old = dict(c.cookies)
    assert c.post("/logout", data={"csrftoken": _csrf(detail.text)},
                  follow_redirects=False).status_code == 303
    replay = desk.client(cookies=old)
    assert replay.get("/api/alerts").status_code == 401


def test_pages_render_for_each_area(desk: Desk) -> None:
    c = desk.client(desk.world.tokens["owner_a"])
    key = desk.world.alerts[A][0]
    for path, text in [("/alerts?tier=review", "Review tier"), (f"/alerts/{key}", "Reference photo"),
                       ("/persons", "demo-a"), (f"/persons/{desk.world.persons[A]}", "reference"),
                       ("/persons/enrol", "roster CSV"), ("/search?q=霸道", "found"),
                       ("/takedowns", "Takedowns"), ("/docs", "/api/alerts")]:
        r = c.get(path)
        assert r.status_code == 200 and text in r.text, path
    crop = c.get(f"/media/alerts/{key}/crops/candidate/0")
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"
    assert crop.headers["cache-control"] == "private, no-store"


def test_hardening_headers_on_every_answer(desk: Desk) -> None:
    for r in (desk.client().get("/login"), desk.client().get("/api/alerts"),
              desk.client(desk.world.tokens["owner_a"]).get("/alerts")):
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "script-src" not in r.headers["content-security-policy"]  # default-src 'self'
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
