"""AI-content labels read from media: GB 45438-2025 in every carrier, C2PA, `scan --json`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from likewatch.cli import main
from matchers.provenance import read_provenance
from matchers.provenance.containers import scan_bytes
from matchers.provenance.gb45438 import find_labels
from tests.matchers import provenance_files as pf

IMAGE_BUILDERS: dict[str, Callable[[dict[str, str] | None], bytes]] = {
    "jpeg-app1-xmp": pf.jpeg,
    "png-itxt-xmp": pf.png,
    "png-text-AIGC": lambda f: pf.png(f, "text"),
    "png-ztxt-AIGC": lambda f: pf.png(f, "ztxt"),
    "webp-xmp": pf.webp,
}


@pytest.mark.parametrize("kind", sorted(IMAGE_BUILDERS))
@pytest.mark.parametrize("value", ["1", "2", "3"])
def test_label_in_every_image_carrier(kind: str, value: str, tmp_path: Path) -> None:
    path = tmp_path / "labelled"
    path.write_bytes(IMAGE_BUILDERS[kind](pf.label(value, producer="PRODUCER01")))
    prov = read_provenance(path)
    assert prov.ai_label == value
    assert prov.producer == "PRODUCER01" and prov.label is not None
    assert prov.label.produce_id == "a9f3c2d1e0" and prov.label.problems == ()
    assert prov.c2pa is None and prov.errors == []
    path.write_bytes(IMAGE_BUILDERS[kind](None))
    unlabelled = read_provenance(path)
    assert unlabelled.ai_label is None and unlabelled.label is None
    assert unlabelled.to_json()["ai_label"] is None


def test_mp4_metadata_key_and_xmp_box(tmp_path: Path) -> None:
    written = pf.mp4(tmp_path / "key.mp4", pf.label("1", producer="VIDGEN"))
    prov = read_provenance(written)
    assert prov.ai_label == "1" and prov.producer == "VIDGEN"
    assert prov.label is not None and prov.label.carrier == "mp4/udta-meta-AIGC"
    plain = pf.mp4(tmp_path / "plain.mp4")
    assert read_provenance(plain).ai_label is None
    boxed = pf.add_xmp_uuid_box(pf.mp4(tmp_path / "uuid.mp4"), pf.label("2"))
    prov = read_provenance(boxed)
    assert prov.ai_label == "2" and prov.label is not None
    assert prov.label.carrier == "mp4/uuid-xmp"


def test_xmp_forms_give_the_same_fields() -> None:
    fields = pf.label("1", producer="P1", produce_id="ID7", ContentPropagator="PLAT9",
                      PropagateID="X1")
    seen = {}
    for form in ("json", "attr", "fields"):
        result = find_labels(scan_bytes(pf.jpeg(fields, form)).payloads)
        assert result.errors == [] and len(result.labels) == 1, form
        lab = result.labels[0]
        seen[form] = (lab.label, lab.content_producer, lab.produce_id, lab.content_propagator,
                      lab.propagate_id)
        assert (lab.problems == ()) == (form == "json"), (form, lab.problems)
    assert set(seen.values()) == {("1", "P1", "ID7", "PLAT9", "X1")}


@pytest.mark.parametrize(("fields", "problem"), [
    (pf.label("9"), "Label '9' is not 1, 2 or 3"),
    ({"Label": "1", "ContentProducer": "P"}, "ProduceID missing"),
    (pf.label("1", producer="演示工厂"), "ContentProducer has characters outside printable"),
    (pf.label("1", Extra="x"), "unknown field(s): Extra"),
    ({**pf.label("1"), "Label": 1}, "Label is a number, not a string"),
])
def test_labels_off_the_standard_are_reported(fields: dict[str, str], problem: str) -> None:
    result = find_labels(scan_bytes(pf.png(fields, "text")).payloads)
    lab = result.best
    assert lab is not None and any(problem in p for p in lab.problems), lab.problems
    assert lab.valid_label == (None if fields["Label"] == "9" else "1")


def test_two_labels_that_disagree() -> None:
    data = pf.png(pf.label("1"), "text")
    extra = pf.png(pf.label("3", produce_id="other"), "text")
    # Splice the second file's AIGC chunk into the first (before IEND).
    chunk_at = extra.index(b"tEXtAIGC") - 4
    length = int.from_bytes(extra[chunk_at:chunk_at + 4], "big")
    chunk = extra[chunk_at:chunk_at + 12 + length]
    both = data[:-12] + chunk + data[-12:]
    result = find_labels(scan_bytes(both).payloads)
    assert [lab.label for lab in result.labels] == ["1", "3"]
    assert result.best is not None and result.best.label == "1"
    assert any("they disagree" in p for p in result.best.problems)


def test_c2pa_signed_image_shows_signer_and_ai_assertion(tmp_path: Path) -> None:
    path = tmp_path / "signed.jpg"
    path.write_bytes(pf.c2pa_signed_jpeg(signer="Demo Generator Signer", org="Demo AI Studio"))
    prov = read_provenance(path)
    assert prov.c2pa is not None and prov.ai_label is None
    c = prov.c2pa
    assert c.signer == "Demo Generator Signer" and c.issuer == "Demo AI Studio"
    assert c.claim_generator == "demo-generator 2.1" and c.actions == ["c2pa.created"]
    assert c.ai_generated and c.digital_source_types[0].endswith("/trainedAlgorithmicMedia")
    assert c.validation_state == "Valid"  # signature and hashes hold; no trust list given
    assert "signingCredential.untrusted" in c.validation_codes
    camera = tmp_path / "camera.jpg"
    camera.write_bytes(pf.c2pa_signed_jpeg(source_type="digitalCapture"))
    cam = read_provenance(camera).c2pa
    assert cam is not None and not cam.ai_generated and cam.validation_state == "Valid"


def test_c2pa_altered_image_is_invalid(tmp_path: Path) -> None:
    data = bytearray(pf.c2pa_signed_jpeg())
    data[data.rfind(b"\xff\xd9") - 10] ^= 0x55  # one byte of the picture itself
    path = tmp_path / "altered.jpg"
    path.write_bytes(bytes(data))
    c = read_provenance(path).c2pa
    assert c is not None and c.signer == "Demo Generator Signer"
    assert c.validation_state == "Invalid" and "assertion.dataHash.mismatch" in c.validation_codes


def test_scan_json_reports_provenance(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Acceptance: a JPEG, a PNG and an MP4 labelled 1 scan with ai_label "1"; the same
    without the label give null; a C2PA-signed image shows its signer."""
    files = {
        "l.jpg": pf.jpeg(pf.label("1")), "l.png": pf.png(pf.label("1")),
        "u.jpg": pf.jpeg(None), "u.png": pf.png(None),
        "c.jpg": pf.c2pa_signed_jpeg(signer="Studio Signer X"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    pf.mp4(tmp_path / "l.mp4", pf.label("1"))
    pf.mp4(tmp_path / "u.mp4")
    names = ["l.jpg", "l.png", "l.mp4", "u.jpg", "u.png", "u.mp4", "c.jpg", "missing.png"]
    assert main(["scan", "--json", *(str(tmp_path / n) for n in names)]) == 1  # missing.png
    out = {Path(o["path"]).name: o for o in map(json.loads, capsys.readouterr().out.splitlines())}
    for name in ("l.jpg", "l.png", "l.mp4"):
        assert out[name]["provenance"]["ai_label"] == "1", name
        assert out[name]["provenance"]["producer"] == "001191110108MA01KP2T5U00000"
    for name in ("u.jpg", "u.png", "u.mp4"):
        assert out[name]["provenance"]["ai_label"] is None, name
        assert out[name]["provenance"]["c2pa"] is None and out[name]["error"] is None
    assert out["c.jpg"]["provenance"]["c2pa"]["signer"] == "Studio Signer X"
    assert out["c.jpg"]["provenance"]["c2pa"]["ai_generated"] is True
    assert out["missing.png"]["provenance"] is None and out["missing.png"]["error"]
