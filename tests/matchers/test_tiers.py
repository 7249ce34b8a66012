"""Tiers: exact reuse alerts, likeness alerts or waits for review, and only alert-tier
matches become alerts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from sqlalchemy import select

from alerts.build import sync_alerts
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import MatchRow, Person
from matchers.banks import BankReference, BankSet, ReferenceBank
from matchers.enroll import enroll, reference_signals
from matchers.images import ImageInput
from matchers.match import Hit
from matchers.pipeline import backsearch, process_pending
from matchers.signals import all_signal_types
from matchers.tiers import FACE_PDQ_AGREE, decide, tiered_policy
from tests.matchers._signal_data import FACES, PAIRS, face
from tests.matchers.test_pipeline import _candidate


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


@pytest.fixture(scope="module")
def enrolled() -> BankSet:
    """Every repository person enrolled from their first photo."""
    types = all_signal_types()
    banks = [ReferenceBank(p.stem[:-2], references=[BankReference(
        i, reference_signals(ImageInput.from_path(p), types)[0])])
        for i, p in enumerate(sorted(FACES.glob("*_1.jpg")))]
    return BankSet(banks, signal_types=types)


def test_exact_reuse_always_alerts(enrolled: BankSet) -> None:
    photo = Image.open(face("D000168_1")).convert("RGB")
    w, h = photo.size
    for img in (ImageOps.mirror(photo), photo.crop((20, 20, w - 20, h - 30)),
                photo.resize((w // 2, h // 2))):
        matches = enrolled.match_image(ImageInput.from_bytes(_jpeg(img)))
        assert matches and {m.person for m in matches} == {"D000168"}
        assert {m.tier for m in matches} == {"alert"}
        assert all(m.distance <= m.threshold for m in matches)


def test_another_photo_alerts_or_waits_and_nobody_else_matches(enrolled: BankSet) -> None:
    """Second photos of the ten paired people: each finds its person (at either tier) and
    no one else at all; those of people with common faces wait for review."""
    tiers = {}
    for pid in PAIRS:
        matches = enrolled.match_image(ImageInput.from_path(face(f"{pid}_2")))
        assert {m.person for m in matches} == {pid}, (pid, matches)
        [face_match] = [m for m in matches if m.signal == "face"]
        tiers[pid] = face_match.tier
    assert tiers["B001295"] == "review"  # a stranger of the cohort sits at 0.48 of him
    assert list(tiers.values()).count("alert") >= 7


def test_face_pdq_agreement_lifts_a_review_face_to_alert() -> None:
    types = all_signal_types()
    banks = [ReferenceBank("p", person_id=7)]
    policy = tiered_policy(types)
    review = Hit(0, "face", 0.55, 1, tier="review", threshold=0.56)
    near_crop = Hit(0, "face_pdq", FACE_PDQ_AGREE, 1)
    args = {"platform": "", "uploader": "", "uploader_id": "", "frame": ""}
    [alone] = decide([review], banks, policy, **args)
    assert alone.tier == "review"
    [lifted] = decide([review, near_crop], banks, policy, **args)  # face_pdq: evidence only
    assert (lifted.signal, lifted.tier, lifted.extra["agreement"]) == ("face", "alert",
                                                                       f"face_pdq {FACE_PDQ_AGREE}")
    far_crop = Hit(0, "face_pdq", FACE_PDQ_AGREE + 2, 1)
    assert [m.tier for m in decide([review, far_crop], banks, policy, **args)] == ["review"]
    weak = Hit(0, "phash", 4, 1)  # pHash takes the tier of what it corroborates
    assert {(m.signal, m.tier) for m in decide([review, weak], banks, policy, **args)} == {
        ("face", "review"), ("phash", "review")}


def test_review_tier_is_recorded_but_never_alerted(tmp_path: Path) -> None:
    catalog = Catalog.open(home=tmp_path / "home")
    enroll(catalog, "common", [face("B001295_1")])
    enroll(catalog, "rare", [face("D000615_1")])
    second = _candidate(catalog, "second", _jpeg(Image.open(face("B001295_2")).convert("RGB")))
    reuse = _candidate(catalog, "reuse", _jpeg(ImageOps.mirror(
        Image.open(face("D000615_1")).convert("RGB"))))
    process_pending(catalog)
    with catalog.session() as s:
        rows = {(r.candidate_id, r.signal): r.tier for r in s.scalars(select(MatchRow))}
    assert rows[(second, "face")] == "review"
    assert {t for (c, _), t in rows.items() if c == reuse} == {"alert"}
    counts = sync_alerts(catalog)
    assert counts.get("created") == 1
    with catalog.session() as s:
        alerts = s.scalars(select(Alert)).all()
        assert [a.candidate_id for a in alerts] == [reuse]
    assert sync_alerts(catalog) == {}  # the review row is not picked up again and again


def test_backsearch_decides_as_forward_matching(tmp_path: Path) -> None:
    """A person enrolled after the candidates were hashed gets the same matches, tiers
    included, as forward matching gives."""
    catalog = Catalog.open(home=tmp_path / "home")
    second = _candidate(catalog, "second", _jpeg(Image.open(face("B001295_2")).convert("RGB")))
    reuse = _candidate(catalog, "reuse", _jpeg(ImageOps.mirror(
        Image.open(face("B001295_1")).convert("RGB"))))
    process_pending(catalog)
    enroll(catalog, "late", [face("B001295_1")])
    with catalog.session() as s:
        pid = s.scalars(select(Person.id)).one()
    created = backsearch(catalog, pid)
    got = {(r.candidate_id, r.signal, r.tier) for r in created}
    forward = BankSet.from_catalog(catalog)
    expected = set()
    for cid, name in ((second, "B001295_2"), (reuse, None)):
        img = (ImageInput.from_path(face(name)) if name else ImageInput.from_bytes(_jpeg(
            ImageOps.mirror(Image.open(face("B001295_1")).convert("RGB")))))
        expected |= {(cid, m.signal, m.tier) for m in forward.match_image(img)}
    assert got == expected
    assert (second, "face", "review") in got and (reuse, "pdq", "alert") in got
