"""Re-uploads (matchers/reuploads.py): a removed item's own media stay watched; a later
candidate matching them is recorded as a re-upload of that notice's item, and its alert
says so (Alert.reupload_of). The removed item here is a picture with no face (PDQ's test
photo), so only the watch on the removed item itself can find its copy."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from alerts import registry
from alerts.build import sync_alerts
from alerts.notices.outcomes import draft_notice, set_state
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Candidate, MatchRow, Media, Person
from likewatch.media import MediaStore
from matchers.pipeline import process_pending
from matchers.reuploads import REUPLOAD_SIGNAL
from tests.conftest import SHARED_DATA

PHOTO = SHARED_DATA / "pdq" / "bridge-mods" / "aaa-orig.jpg"


def _jpeg(scale: float = 1.0, quality: int = 90) -> bytes:
    img = Image.open(PHOTO).convert("RGB")
    img = img.resize((round(img.width * scale), round(img.height * scale)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _candidate(cat: Catalog, item: str, data: bytes, uploader: str = "u1") -> int:
    sha, rel = MediaStore(cat.home).put(data)
    with cat.session() as s:
        if s.get(Media, sha) is None:
            s.add(Media(sha256=sha, kind="thumbnail", size=len(data), path=rel))
            s.flush()
        c = Candidate(platform="sandbox", item_id=item, url=f"http://x/{item}", title="",
                      uploader=uploader, uploader_id=uploader, thumbnail_sha256=sha)
        s.add(c)
        s.flush()
        return c.id


def _world(cat: Catalog) -> tuple[int, int]:
    """A person, and an alert on an item that is then matched (by hand) to them."""
    registry.add_client(cat, "studio")
    pid = registry.add_person(cat, "studio", "lin", name="林晓雨",
                              official=["sandbox:lin_official"])
    cid = _candidate(cat, "orig", _jpeg())
    process_pending(cat)  # its signals are stored; nothing matches a person's photos
    with cat.session() as s:
        assert s.scalars(select(MatchRow)).all() == []
        s.add(MatchRow(candidate_id=cid, person_id=pid, signal="face", frame="",
                       distance=0.3, threshold=0.5, reference_id=None))
    sync_alerts(cat)
    with cat.session() as s:
        return pid, s.scalars(select(Alert.id)).one()


def _reupload_rows(cat: Catalog, item: str) -> list[MatchRow]:
    with cat.session() as s:
        return list(s.scalars(select(MatchRow).join(Candidate).where(
            Candidate.item_id == item, MatchRow.signal == REUPLOAD_SIGNAL)))


def test_only_a_removed_items_copies_are_reuploads_and_their_alert_links_the_notice() -> None:
    cat = Catalog.open()
    pid, alert_id = _world(cat)
    notice = draft_notice(cat, alert_id, "sandbox", actor="t")
    set_state(cat, notice.id, "filed", actor="t")
    _candidate(cat, "early", _jpeg(0.97, 70))
    process_pending(cat)
    assert _reupload_rows(cat, "early") == []  # filed, not removed: nothing watched yet

    set_state(cat, notice.id, "removed", actor="t")
    copy = _candidate(cat, "copy", _jpeg(0.97, 70), uploader="reup")
    official = _candidate(cat, "official", _jpeg(0.97, 70), uploader="lin_official")
    other = _candidate(cat, "other", (SHARED_DATA / "pdq" / "misc-images" / "wee.jpg")
                       .read_bytes())
    process_pending(cat)
    rows = _reupload_rows(cat, "copy")
    assert rows and rows[0].person_id == pid and rows[0].tier == "alert"
    with cat.session() as s:
        orig = s.get(Alert, alert_id)
        assert orig is not None
        assert rows[0].details == {"removed_item": orig.candidate_id, "notice_id": notice.id,
                                   "via": rows[0].details["via"]}
    assert rows[0].details["via"] in {"pdq", "phash"} and rows[0].distance <= rows[0].threshold
    assert _reupload_rows(cat, "official") == [] and _reupload_rows(cat, "other") == []

    assert sync_alerts(cat).get("created") == 1
    with cat.session() as s:
        alerts = {a.candidate_id: a for a in s.scalars(select(Alert))}
        assert alerts[copy].reupload_of == notice.id and alerts[copy].signal == REUPLOAD_SIGNAL
        assert orig.candidate_id in alerts and alerts[orig.candidate_id].reupload_of is None
        assert official not in alerts and other not in alerts
        assert s.get(Person, pid) is not None

    # Restored by the platform: its copies are no re-uploads any more.
    set_state(cat, notice.id, "restored", actor="t")
    _candidate(cat, "later", _jpeg(0.95, 60))
    process_pending(cat)
    assert _reupload_rows(cat, "later") == []
