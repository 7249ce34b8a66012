"""`likewatch person remove`: a person's biometric data goes everywhere; what is kept for
legal reasons is kept, and said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts.erasure import ErasureError, erase_person, reindex_with
from alerts.roster import list_persons
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.evidence import EvidenceCapture
from likewatch.catalog.models import CandidateSignal, MatchRow, Media, Person, Reference
from likewatch.catalog.review import PersonErasure
from likewatch.cli import main
from matchers.banks import BankSet
from matchers.enroll import enroll
from matchers.index import open_index
from matchers.index.sync import sync_catalog
from tests.webapp import world


def _count(cat: Catalog, q: object) -> int:
    with cat.session() as s:
        return int(s.scalar(q) or 0)  # type: ignore[call-overload]


def test_erasure_deletes_biometric_data_and_keeps_sealed_evidence(
        shared_data: Path, likewatch_home: Path) -> None:
    cat = Catalog.open()
    index = open_index("embedded")
    w = world.build(cat, shared_data / "faces")
    sync_catalog(cat, index, full=True)
    pid, other = w.persons[world.A], w.persons[world.B]
    with cat.session() as s:
        ref = s.get(Reference, w.references[world.A])
        assert ref is not None
        photo = likewatch_home / ref.media_path
        # One alert has a sealed capture: it (and its evidence) must stay.
        s.add(EvidenceCapture(capture_id="cap-1", alert_id=str(w.numbers[world.A][0]),
                              dir="evidence/cap-1", manifest_sha256="0" * 64, leaf_index=0))
    face_before = _count(cat, select(func.count(CandidateSignal.id)).where(
        CandidateSignal.signal.in_(["face", "face_pdq"])))
    docs = index.search("", None, size=100).hits
    assert any("demo-a" in d.persons for d in docs) and photo.exists()

    report = erase_person(cat, pid, "cli:test", reindex=reindex_with(cat, index))

    assert not photo.exists()
    assert _count(cat, select(func.count(Reference.id)).where(Reference.person_id == pid)) == 0
    assert _count(cat, select(func.count(MatchRow.id)).where(MatchRow.person_id == pid)) == 0
    assert _count(cat, select(func.count(Media.sha256)).where(Media.kind == "reference")) == 1
    # The person's faces in the matched candidates are gone, B's are not.
    face_after = _count(cat, select(func.count(CandidateSignal.id)).where(
        CandidateSignal.signal.in_(["face", "face_pdq"])))
    assert report.deleted["candidate face values"] == face_before - face_after > 0
    with cat.session() as s:
        kept = s.scalars(select(Alert).where(Alert.person_id == pid)).all()
        assert [a.id for a in kept] == [w.numbers[world.A][0]] and kept[0].reference_id is None
        assert all("reference_id" not in m for m in kept[0].signals)
        p = s.get(Person, pid)
        assert p is not None and p.key.startswith("~erased-") and p.aliases == []
        [erasure] = s.scalars(select(PersonErasure)).all()
        assert erasure.person_key == "demo-a" and erasure.kept["alerts"] == [kept[0].key]
        assert s.scalar(select(func.count(Alert.id)).where(Alert.person_id == other)) == 2
    assert report.kept["evidence_captures"] == 1 and "legal" in report.kept["reason"]
    text = "\n".join(report.lines())  # what `likewatch person remove` prints
    assert "kept 1 alert(s) with 1 sealed evidence capture(s)" in text, text
    assert "why: sealed evidence and takedown records are kept for legal reasons" in text
    assert "re-sent" in report.index
    # The index no longer links the person, nor holds the face values deleted.
    docs = {d.doc_id: d for d in index.search("", None, size=100).hits}
    assert not any("demo-a" in d.persons for d in docs.values())
    assert any("demo-b" in d.persons for d in docs.values())
    # The banks rebuild without them; the roster no longer lists them.
    banks = BankSet.from_catalog(cat)
    assert sum(len(b.references) for b in banks.banks if b.person_id == pid) == 0
    assert [p["key"] for p in list_persons(cat)] == ["demo-b"]
    with pytest.raises(ErasureError):
        erase_person(cat, pid, "cli:test")
    # The key is free again: the same person can be enrolled anew.
    [res] = enroll(cat, "demo-a", [shared_data / "faces" / "A000370_1.jpg"], client=world.A,
                   create_client=False)
    assert not res.already
    index.close()
    cat.close()


def test_person_remove_cli(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Catalog.open() as cat:
        w = world.build(cat, shared_data / "faces")
    # A takedown notice (here only drafted) is a takedown record: its alert is kept.
    noticed = w.alerts[world.B][1]
    assert main(["notice", noticed]) == 0
    capsys.readouterr()
    assert main(["person", "remove", "--client", world.B, "--person", "demo-b", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["person"] == "demo-b" and out["deleted"]["references"] == 1
    assert out["deleted"]["alerts"] == 1 and out["kept"]["alerts"] == [noticed]
    assert main(["notices", "--json"]) == 0
    [notice] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert notice["alert"] == w.numbers[world.B][1] and notice["state"] == "drafted"
    assert main(["person", "remove", "--client", world.B, "--person", "demo-b"]) == 2
    assert "no person 'demo-b'" in capsys.readouterr().err
