"""Search on the desk: every candidate is searchable, but a hit shows only the caller's
clients and persons; by-photo takes the same filters, and its total does not depend on
``size``."""

from __future__ import annotations

from tests.conftest import SHARED_DATA
from tests.webapp.conftest import Desk
from tests.webapp.world import A, B


def test_hits_show_only_the_callers_clients_and_persons(desk: Desk) -> None:
    a = desk.client(desk.world.tokens["analyst_a"])
    body = a.get("/api/search", params={"q": "霸道", "size": 100}).json()
    assert body["total"] == 5  # every candidate collected: public content
    mine = [h for h in body["hits"] if h["persons"]]
    assert {h["item_id"][:8] for h in mine} == {"vA000370"} and len(mine) == 3
    assert all(h["clients"] in ([A], []) for h in body["hits"])
    assert all(h["matched"] == bool(h["persons"]) for h in body["hits"])
    # The operator sees who else protects what.
    ops = desk.client(desk.world.tokens["operator"]).get("/api/search",
                                                         params={"size": 100}).json()
    assert {c for h in ops["hits"] for c in h["clients"]} == {A, B}
    # matched=true means "matched my persons"; other clients' names do not exist for A.
    assert a.get("/api/search", params={"matched": "true"}).json()["total"] == 3
    assert a.get("/api/search", params={"client": B}).status_code == 404
    assert a.get("/api/search", params={"person": "demo-b"}).status_code == 404
    assert a.get("/api/search", params={"matched": "false"}).status_code == 400
    # A viewer reads alerts but does not search.
    assert desk.client(desk.world.tokens["viewer_a"]).get("/api/search").status_code == 403


def test_by_photo_takes_the_filters_and_counts_exactly(desk: Desk) -> None:
    a = desk.client(desk.world.tokens["owner_a"])
    photo = (SHARED_DATA / "faces" / "A000370_1.jpg").read_bytes()

    def by_photo(**params: str) -> dict[str, object]:
        r = a.post("/api/search/by-photo", params=params,
                   files={"file": ("p.jpg", photo, "image/jpeg")})
        assert r.status_code == 200, r.text
        return dict(r.json())

    everything = by_photo(size="10")
    assert everything["total"] == 3 and len(everything["hits"]) == 3  # A's three thumbnails
    one = by_photo(size="1")
    assert one["total"] == 3 and len(one["hits"]) == 1  # the total ignores the page size
    assert by_photo(platform="douyin")["total"] == 0  # the filters apply
    assert by_photo(q="vA0003701")["total"] == 1
    assert by_photo(since="2999-01-01")["total"] == 0
