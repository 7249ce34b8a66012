"""Enrolment with the real signals and a real catalog: one face per photo, or --face N."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from likewatch.catalog import Catalog
from likewatch.catalog.models import Media, Person, Reference
from likewatch.media import MediaStore
from matchers.enroll import EnrolError, enroll
from matchers.eval_transforms import synthetic_scene

FACES = Path(__file__).resolve().parents[2] / "sandbox" / "assets" / "faces"


def test_enroll_one_photo_stores_signals_and_media() -> None:
    catalog = Catalog.open()
    res = enroll(catalog, "demo-a", [FACES / "A000370_1.jpg"], client="studio1",
                 display_name="Demo person A")
    assert len(res) == 1 and not res[0].already
    r = res[0]
    assert r.signals["face"] == 1 and r.signals["phash"] == 1
    assert r.signals["pdq"] >= 8  # dihedral variants on the reference side
    assert r.signals["face_pdq"] >= 1  # incl. variants whose box is a pixel off
    assert "enrolled person=demo-a client=studio1" in r.line()
    with catalog.session() as s:
        ref = s.get(Reference, r.reference_id)
        assert ref is not None and set(ref.signals) >= {"pdq", "phash", "face"}
        person = s.get(Person, ref.person_id)
        assert person is not None and person.display_name == "Demo person A"
        media = s.get(Media, r.sha256)
        assert media is not None and media.kind == "reference"
    stored = MediaStore(catalog.home).get(r.sha256)
    assert stored == (FACES / "A000370_1.jpg").read_bytes()
    again = enroll(catalog, "demo-a", [FACES / "A000370_1.jpg"], client="studio1")
    assert again[0].already and again[0].reference_id == r.reference_id


def test_enroll_refuses_no_face_and_writes_nothing(tmp_path: Path) -> None:
    import numpy as np

    scene = tmp_path / "scene.jpg"
    synthetic_scene(np.random.default_rng(0), (400, 300)).save(scene)
    catalog = Catalog.open()
    with pytest.raises(EnrolError, match="no face found"):
        enroll(catalog, "p", [FACES / "B001295_1.jpg", scene])
    with catalog.session() as s:
        assert s.query(Reference).count() == 0  # the good photo was not enrolled either
    with pytest.raises(EnrolError, match="cannot read"):
        enroll(catalog, "p", [tmp_path / "missing.jpg"])
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(EnrolError, match="not a usable image"):
        enroll(catalog, "p", [bad])


def test_enroll_group_photo_needs_face_index(tmp_path: Path) -> None:
    left = Image.open(FACES / "B001295_1.jpg").convert("RGB")
    right = Image.open(FACES / "D000615_1.jpg").convert("RGB").resize(left.size)
    group = Image.new("RGB", (left.width * 2 + 40, left.height), (90, 110, 130))
    group.paste(left, (0, 0))
    group.paste(right, (left.width + 40, 0))
    path = tmp_path / "group.jpg"
    group.save(path, quality=92)
    catalog = Catalog.open()
    with pytest.raises(EnrolError, match=r"2 faces found; choose one with --face N \(0-1"):
        enroll(catalog, "d", [path])
    with pytest.raises(EnrolError, match="out of range"):
        enroll(catalog, "d", [path], face_index=2)
    chosen = enroll(catalog, "d", [path], face_index=1)
    solo = enroll(catalog, "d-solo", [FACES / "D000615_1.jpg"])
    from matchers.signals import all_signal_types

    face = all_signal_types()["face"]
    with catalog.session() as s:
        a = s.get(Reference, chosen[0].reference_id)
        b = s.get(Reference, solo[0].reference_id)
        assert a is not None and b is not None and len(a.signals["face"]) == 1
        # The chosen face is the right-hand person: close to their own photo.
        assert face.distance(a.signals["face"][0], b.signals["face"][0]) < 0.2
