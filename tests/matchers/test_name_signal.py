"""Names in production: the matcher checks every candidate's text against every person's
names (matchers/name_signal.py), records review-tier ``name`` rows, and searches the stored
candidates back when a person's names change."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from alerts import registry
from alerts.roster import edit_person
from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, MatchRow, Media
from likewatch.catalog.queue import QueueJob
from likewatch.media import MediaStore
from matchers.banks import BankSet, bank_generation
from matchers.enroll import enroll
from matchers.name_signal import NAME_SIGNAL, NAME_THRESHOLD, person_names
from matchers.pipeline import backsearch, process_pending

FACES = Path(__file__).resolve().parents[2] / "sandbox" / "assets" / "faces"


def _jpeg(path: Path) -> bytes:
    buf = io.BytesIO()
    Image.open(path).convert("RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _candidate(cat: Catalog, item: str, *, title: str = "", cast=(), tags=(), uploader="u",
               thumb: bytes | None = None) -> int:
    with cat.session() as s:
        sha = None
        if thumb is not None:
            sha, rel = MediaStore(cat.home).put(thumb)
            if s.get(Media, sha) is None:
                s.add(Media(sha256=sha, kind="thumbnail", size=len(thumb), path=rel))
            s.flush()
        c = Candidate(platform="sandbox", item_id=item, url=f"http://x/{item}", title=title,
                      cast=list(cast), tags=list(tags), uploader=uploader, uploader_id=uploader,
                      thumbnail_sha256=sha)
        s.add(c)
        s.flush()
        return c.id


def _rows(cat: Catalog) -> dict[tuple[int, str], MatchRow]:
    with cat.session() as s:
        return {(r.candidate_id, r.signal): r for r in s.scalars(select(MatchRow))}


def test_every_candidate_text_is_checked_and_a_name_alone_is_review_tier() -> None:
    cat = Catalog.open()
    enroll(cat, "lin", [FACES / "A000370_1.jpg"], client="studio", display_name="林晓雨",
           aliases=["Rain Lin"], official_accounts=[("sandbox", "lin_official")])
    homophone = _candidate(cat, "h", title="《替身》林小雨的秘密 第3集",
                           thumb=_jpeg(FACES / "B001229_1.jpg"))
    both = _candidate(cat, "f", cast=[{"name": "林晓雨", "role": "女主"}],
                      thumb=_jpeg(FACES / "A000370_1.jpg"))
    alias = _candidate(cat, "a", tags=["#RainLin"])
    official = _candidate(cat, "o", title="林晓雨 官方", uploader="lin_official")
    unrelated = _candidate(cat, "u", title="家常红烧肉｜一分钟学会",
                           thumb=_jpeg(FACES / "B001229_1.jpg"))
    summary = process_pending(cat)
    assert summary.candidates == 5
    rows = _rows(cat)
    name_rows = {cid for cid, sig in rows if sig == NAME_SIGNAL}
    assert name_rows == {homophone, both, alias}  # not the official account, not unrelated
    assert all(rows[(c, NAME_SIGNAL)].tier == "review" for c in name_rows)
    h = rows[(homophone, NAME_SIGNAL)]
    assert h.details == {"kind": "homophone", "field": "title", "text": "林小雨",
                         "name": "林晓雨"}
    assert (h.distance, h.threshold, h.reference_id, h.frame) == (0.3, NAME_THRESHOLD, None, "")
    assert rows[(both, NAME_SIGNAL)].details["kind"] == "exact"
    assert rows[(both, NAME_SIGNAL)].distance == 0.0
    assert rows[(alias, NAME_SIGNAL)].details == {"kind": "alias", "field": "tags",
                                                  "text": "RainLin", "name": "Rain Lin"}
    assert (both, "face") in rows and rows[(both, "face")].tier == "alert"
    assert (homophone, "face") not in rows and unrelated not in {c for c, _ in rows}
    assert official not in {c for c, _ in rows}


def test_the_display_name_counts_unless_it_is_only_the_key() -> None:
    assert person_names("demo-a", "demo-a", []) == ()  # what `person add` fills in
    assert person_names("demo-a", "苏念晴", ["Su Nianqing", " "]) == ("苏念晴", "Su Nianqing")


def test_names_are_compiled_once_per_bank_build_and_a_change_rebuilds_the_banks() -> None:
    cat = Catalog.open()
    registry.add_client(cat, "studio")
    pid = registry.add_person(cat, "studio", "zhou", name="周屿")
    banks = BankSet.from_catalog(cat)
    matcher, index = banks.name_matcher()
    assert banks.name_matcher()[0] is matcher and index == {str(pid): 0}
    assert matcher.hits({"tags": ["周屿"]})[0].person == str(pid)
    gen = bank_generation(cat)
    edit_person(cat, pid, "test", add_aliases=["Zhou Yu"])
    assert bank_generation(cat) != gen  # the matcher's banks are rebuilt with the alias
    assert BankSet.from_catalog(cat).banks[0].names == ("周屿", "Zhou Yu")


def test_a_change_of_names_searches_the_stored_candidates_back() -> None:
    cat = Catalog.open()
    registry.add_client(cat, "studio")
    early = _candidate(cat, "e1", title="沉子默来了", cast=[{"name": "苏念", "role": "男二"}])
    other = _candidate(cat, "e2", title="家常红烧肉")
    process_pending(cat)  # nobody protected yet
    assert _rows(cat) == {}

    pid = registry.add_person(cat, "studio", "chen", name="陈子墨")
    with cat.session() as s:
        jobs = list(s.scalars(select(QueueJob).where(QueueJob.queue == "backsearch")))
    assert [j.payload for j in jobs] == [{"person_id": pid, "signals": [NAME_SIGNAL]}]
    found = backsearch(cat, pid, signals=jobs[0].payload["signals"])
    assert [(r.candidate_id, r.signal, r.details["kind"]) for r in found] == [
        (early, NAME_SIGNAL, "homophone")]
    assert backsearch(cat, pid, signals=[NAME_SIGNAL]) == []  # already recorded

    # An alias added later finds what the name did not; taken away, its rows go.
    edit_person(cat, pid, "test", add_aliases=["苏念"])
    backsearch(cat, pid, signals=[NAME_SIGNAL])
    assert set(_rows(cat)) == {(early, NAME_SIGNAL)}  # one row per person and item
    edit_person(cat, pid, "test", name="林晓雨", remove_aliases=["苏念"])
    backsearch(cat, pid, signals=[NAME_SIGNAL])
    assert _rows(cat) == {}
    with cat.session() as s:
        assert s.scalars(select(QueueJob).where(QueueJob.queue == "backsearch")).all()[-1] \
            .payload == {"person_id": pid, "signals": [NAME_SIGNAL]}
    assert other not in {c for c, _ in _rows(cat)}
