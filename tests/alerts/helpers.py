"""Building blocks for alert tests: catalog rows made directly, without crawling/matching."""

from __future__ import annotations

import datetime as dt

from alerts import registry
from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, MatchRow, Person, Reference
from likewatch.work.db import write_session


def world(cat: Catalog, *, kind: str = "studio", persons=("alice",)) -> dict[str, int]:
    registry.add_client(cat, "acme", kind)
    ids = {}
    for key in persons:
        ids[key] = registry.add_person(cat, "acme", key, name=f"{key.title()} Star")
        with write_session(cat) as s:
            s.add(Reference(person_id=ids[key], sha256=f"{key:0<64}"[:64],
                            media_path="media/x", signals={}))
    return ids


def candidate(cat: Catalog, item_id: str, *, uploader: str = "u1") -> int:
    with write_session(cat) as s:
        c = Candidate(platform="sandbox", item_id=item_id, url=f"http://127.0.0.1/video/{item_id}",
                      title=f"标题 {item_id}", uploader=f"uploader {uploader}", uploader_id=uploader,
                      published_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                      thumbnail_url=f"http://127.0.0.1/media/thumb/{item_id}.jpg",
                      match_status="matched")
        s.add(c)
        s.flush()
        return c.id


def match(cat: Catalog, cand_id: int, person_id: int, signal: str = "face",
          distance: float = 0.4, threshold: float = 0.6, frame: str = "") -> None:
    with write_session(cat) as s:
        ref = s.query(Reference).filter_by(person_id=person_id).first()
        s.add(MatchRow(candidate_id=cand_id, person_id=person_id, signal=signal, frame=frame,
                       distance=distance, threshold=threshold,
                       reference_id=ref.id if ref else None))


def person_id(cat: Catalog, key: str) -> int:
    with cat.session() as s:
        return s.query(Person).filter_by(key=key).one().id
