"""A re-upload on the desk: after the desk records a takedown as removed, a copy of the
removed item found by the matcher (matchers/reuploads.py) shows on its alert's page and in
the API as a re-upload of that notice's item, linking to the original alert, and the
original's page lists it (the copies found since its takedown)."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from alerts.build import sync_alerts
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Candidate, Media
from likewatch.media import MediaStore
from matchers.pipeline import process_pending
from tests.conftest import SHARED_DATA
from tests.webapp.conftest import Desk
from tests.webapp.world import A


def _copy(desk: Desk, item: str) -> int:
    """A pending candidate whose thumbnail is the removed item's picture, re-encoded."""
    img = Image.open(SHARED_DATA / "faces" / "A000370_2.jpg").convert("RGB")
    buf = io.BytesIO()
    img.resize((round(img.width * 0.97), round(img.height * 0.97))).save(buf, "JPEG",
                                                                          quality=70)
    data = buf.getvalue()
    sha, rel = MediaStore(desk.catalog.home).put(data)
    with desk.catalog.session() as s:
        s.add(Media(sha256=sha, kind="thumbnail", content_type="image/jpeg", size=len(data),
                    path=rel))
        s.flush()
        c = Candidate(platform="sandbox", item_id=item, url=f"http://127.0.0.1:9/video/{item}",
                      title="霸道总裁 重制", uploader="搬运号", uploader_id="u77",
                      thumbnail_sha256=sha)
        s.add(c)
        s.flush()
        return c.id


def test_a_reupload_shows_on_the_desk_with_the_takedown_it_undoes(desk: Desk) -> None:
    w = desk.world
    original = w.alerts[A][0]
    c = desk.client(w.tokens["owner_a"])
    for state in ("filed", "removed"):
        r = c.post(f"/api/alerts/{original}/takedown", json={"state": state})
        assert r.status_code == 200, r.text
    notice = r.json()["notice"]

    cid = _copy(desk, "vreup1")
    process_pending(desk.catalog)
    sync_alerts(desk.catalog)
    with desk.catalog.session() as s:
        copy = s.scalars(select(Alert).where(Alert.candidate_id == cid)).one()
        assert copy.reupload_of is not None

    api = c.get(f"/api/alerts/{copy.key}").json()
    assert api["reupload_of"]["alert_id"] == original
    assert api["reupload_of"]["notice_no"] == notice
    assert any(m["signal"] == "reupload" and m["details"]["via"] for m in api["matches"])
    assert c.get(f"/api/alerts/{original}").json()["reupload_of"] is None

    page = c.get(f"/alerts/{copy.key}")
    assert page.status_code == 200
    assert 'id="reupload-of"' in page.text
    assert f'href="/alerts/{original}"' in page.text and notice in page.text
    first = c.get(f"/alerts/{original}")
    assert 'id="reupload-of"' not in first.text
    assert 'id="reuploads"' in first.text and f'href="/alerts/{copy.key}"' in first.text
    [listed] = c.get(f"/api/alerts/{original}").json()["reuploads"]
    assert (listed["alert_id"], listed["item_id"], listed["notice_no"]) == (copy.key, "vreup1",
                                                                            notice)
    assert api["reuploads"] == []  # a copy has no re-uploads of its own
