"""process_pending and backsearch on a real catalog, media store and the real signals."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps
from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, CandidateSignal, MatchRow, Media, Person
from likewatch.media import MediaStore
from matchers.enroll import enroll
from matchers.pipeline import backsearch, process_pending

FACES = Path(__file__).resolve().parents[2] / "sandbox" / "assets" / "faces"


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _candidate(catalog: Catalog, item: str, thumb: bytes | None, uploader: str = "u",
               video: bytes | None = None) -> int:
    store = MediaStore(catalog.home)
    with catalog.session() as s:
        shas = []
        for data, kind in ((thumb, "thumbnail"), (video, "video")):
            if data is None:
                shas.append(None)
                continue
            sha, rel = store.put(data)
            if s.get(Media, sha) is None:
                s.add(Media(sha256=sha, kind=kind, size=len(data), path=rel))
            shas.append(sha)
        s.flush()
        c = Candidate(platform="sandbox", item_id=item, url=f"http://x/{item}",
                      uploader=uploader, thumbnail_sha256=shas[0], video_sha256=shas[1])
        s.add(c)
        s.flush()
        return c.id


def test_process_pending_matches_fails_and_goes_on() -> None:
    catalog = Catalog.open()
    enroll(catalog, "pa", [FACES / "A000370_1.jpg"], client="c1")
    with catalog.session() as s:
        p = s.scalars(select(Person)).one()
        p.official_accounts = [{"platform": "sandbox", "uploader": "pa_official"}]
    photo = Image.open(FACES / "A000370_1.jpg").convert("RGB")
    reuse = _candidate(catalog, "reuse", _jpeg(ImageOps.mirror(photo)))
    corrupt = _candidate(catalog, "corrupt", b"\xff\xd8\xff\xe0garbage")
    nomedia = _candidate(catalog, "nomedia", None)
    other = _candidate(catalog, "other",
                       _jpeg(Image.open(FACES / "B001229_1.jpg").convert("RGB")))
    official = _candidate(catalog, "official", _jpeg(photo), uploader="PA_Official")
    summary = process_pending(catalog)
    assert summary.candidates == 5 and summary.failed == 2 and summary.matched == 1
    assert summary.errors == {"thumbnail": 1, "no_media": 1}
    assert {cid for cid, _ in summary.failures} == {corrupt, nomedia}
    with catalog.session() as s:
        status = {a: b for a, b in s.execute(select(Candidate.id, Candidate.match_status))}
        assert status == {reuse: "matched", corrupt: "failed", nomedia: "failed",
                          other: "matched", official: "matched"}
        rows = s.scalars(select(MatchRow)).all()
        assert {r.candidate_id for r in rows} == {reuse}
        by_sig = {r.signal: r for r in rows}
        assert {"pdq", "face"} <= set(by_sig)  # mirrored: dihedral PDQ and the face
        assert by_sig["face"].distance <= by_sig["face"].threshold
        sigs = s.scalars(select(CandidateSignal.signal)
                         .where(CandidateSignal.candidate_id == other)).all()
        assert {"pdq", "phash", "face"} <= set(sigs)
    assert process_pending(catalog).candidates == 0  # the queue is empty now


def test_backsearch_finds_stored_candidates_without_media() -> None:
    catalog = Catalog.open()
    newer = Image.open(FACES / "D000615_2.jpg").convert("RGB")
    cid = _candidate(catalog, "d2", _jpeg(newer))
    off = _candidate(catalog, "d2-official", _jpeg(newer), uploader="d_official")
    _candidate(catalog, "x", _jpeg(Image.open(FACES / "B001229_1.jpg").convert("RGB")))
    process_pending(catalog)  # no persons yet: signals stored, nothing matched
    with catalog.session() as s:
        assert s.scalars(select(MatchRow)).all() == []
        s.add(Candidate(platform="sandbox", item_id="late", url="u"))  # still pending
    # Media files gone: backsearch must work from the stored signals alone.
    for f in (catalog.home / "media").rglob("*"):
        if f.is_file():
            f.unlink()
    enroll(catalog, "pd", [FACES / "D000615_1.jpg"])
    with catalog.session() as s:
        p = s.scalars(select(Person)).one()
        p.official_accounts = [{"platform": "*", "uploader": "d_official"}]
        pid = p.id
    found = backsearch(catalog, pid)
    assert {(r.candidate_id, r.signal) for r in found} == {(cid, "face")}
    assert found[0].distance <= found[0].threshold and found[0].reference_id is not None
    assert off not in {r.candidate_id for r in found}
    assert backsearch(catalog, pid) == []  # already recorded
    assert backsearch(catalog, 9999) == []


def test_process_pending_video_keyframes() -> None:
    import numpy as np

    from matchers.eval_transforms import encode_video, synthetic_scene

    catalog = Catalog.open()
    enroll(catalog, "pv", [FACES / "S001191_1.jpg"])
    photo = Image.open(FACES / "S001191_1.jpg").convert("RGB")
    scene = synthetic_scene(np.random.default_rng(3), photo.size)
    video = encode_video([(scene, 25), (photo, 40)], crf=28)
    cid = _candidate(catalog, "vid", None, video=video)
    broken = _candidate(catalog, "vid-broken", None, video=b"\x00\x00\x00\x18ftypmp42broken")
    summary = process_pending(catalog)
    assert summary.candidates == 2 and summary.matched == 1 and summary.failed == 1
    assert summary.errors.get("video") == 1 and summary.failures[0][0] == broken
    with catalog.session() as s:
        rows = s.scalars(select(MatchRow).where(MatchRow.candidate_id == cid)).all()
        assert rows and all(r.frame.startswith("t=") for r in rows)
        frames = set(s.scalars(select(CandidateSignal.frame)
                               .where(CandidateSignal.candidate_id == cid)))
        assert len(frames) >= 1 and all(f.startswith("t=") for f in frames)


def test_process_pending_batches(monkeypatch) -> None:
    """Candidates matched in batches (``MATCH_BATCH_*``) get the matches they get one at
    a time; a candidate another matcher records while its batch is being hashed is left
    to that matcher."""
    import matchers.pipeline as pipeline
    from matchers.banks import BankSet

    catalog = Catalog.open()
    enroll(catalog, "pa", [FACES / "A000370_1.jpg"])
    enroll(catalog, "pd", [FACES / "D000615_1.jpg"])
    photos = {k: Image.open(FACES / f).convert("RGB") for k, f in (
        ("a", "A000370_1.jpg"), ("a2", "A000370_2.jpg"), ("d", "D000615_2.jpg"),
        ("b", "B001229_1.jpg"))}
    ids = [_candidate(catalog, k, _jpeg(ImageOps.mirror(img) if k == "a" else img))
           for k, img in photos.items()]
    ids.append(_candidate(catalog, "broken", b"\xff\xd8\xff\xe0garbage"))
    calls = []
    real = BankSet.match_many
    monkeypatch.setattr(BankSet, "match_many",
                        lambda self, items, **kw: calls.append(len(items)) or real(
                            self, items, **kw))

    def recorded() -> set[tuple]:
        with catalog.session() as s:
            return {(r.candidate_id, r.person_id, r.signal, r.frame, round(r.distance, 6))
                    for r in s.scalars(select(MatchRow))}

    results = []
    for per_batch in (1, 2, 32):
        with catalog.session() as s:  # back to the queue
            s.execute(MatchRow.__table__.delete())
            for c in s.scalars(select(Candidate)):
                c.match_status = "pending"
        monkeypatch.setattr(pipeline, "MATCH_BATCH_CANDIDATES", per_batch)
        # batches end by count here, however slow hashing is on a loaded machine
        monkeypatch.setattr(pipeline, "MATCH_BATCH_SECONDS", 3600.0)
        calls.clear()
        summary = process_pending(catalog)
        assert summary.candidates == 5 and summary.failed == 1
        assert calls == {1: [1, 1, 1, 1, 0], 2: [2, 2, 0], 32: [4]}[per_batch]
        if per_batch == 32:  # a batch also ends after MATCH_BATCH_SECONDS of hashing
            monkeypatch.setattr(pipeline, "MATCH_BATCH_SECONDS", 0.0)
            with catalog.session() as s:
                s.execute(MatchRow.__table__.delete())
                for c in s.scalars(select(Candidate)):
                    c.match_status = "pending"
            calls.clear()
            process_pending(catalog)
            assert calls == [1, 1, 1, 1, 0]
            assert recorded() == results[0]
            monkeypatch.setattr(pipeline, "MATCH_BATCH_SECONDS", 3600.0)
        results.append(recorded())
    assert results[0] == results[1] == results[2]
    assert {r[0] for r in results[0]} == set(ids[:3])  # a (mirrored), a2, d; not b

    # Another matcher records candidate ids[0] while ids[2] is being hashed.
    with catalog.session() as s:
        s.execute(MatchRow.__table__.delete())
        s.execute(CandidateSignal.__table__.delete())
        for c in s.scalars(select(Candidate)):
            c.match_status = "pending"
    real_hash = pipeline.hash_media

    def racing(catalog_, cand, banks, summary):  # type: ignore[no-untyped-def]
        if cand.id == ids[2]:
            with catalog.session() as s:
                s.get(Candidate, ids[0]).match_status = "matched"
        return real_hash(catalog_, cand, banks, summary)

    monkeypatch.setattr(pipeline, "hash_media", racing)
    summary = process_pending(catalog)
    assert summary.candidates == 4
    with catalog.session() as s:
        assert not s.scalars(select(CandidateSignal)
                             .where(CandidateSignal.candidate_id == ids[0])).all()
        assert {r.candidate_id for r in s.scalars(select(MatchRow))} == set(ids[1:3])
