"""Bundles: export, offline verification, and tampering with every member of a bundle."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.evidence import capture_evidence, zipfmt
from alerts.evidence.browser import BrowserWorker
from alerts.evidence.bundle import export_bundle
from alerts.evidence.verify import verify_bundle
from likewatch.catalog import Catalog
from likewatch.cli import main
from tests.alerts.test_evidence_capture import PageServer, subject


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(bundle of the first of three captures, LIKEWATCH_HOME): one browser, one log."""
    home = tmp_path_factory.mktemp("bundle-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIKEWATCH_HOME", str(home))
        mp.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
        mp.setenv("LIKEWATCH_EVIDENCE_VIDEO_MAX_BYTES", "100000")
        worker = BrowserWorker()
        try:
            with PageServer() as server, Catalog.open() as catalog:
                for alert in ("a-1", "a-2", "a-3"):
                    capture_evidence(subject(server, alert_id=alert), catalog=catalog,
                                     browser=worker)
                bundle = export_bundle(catalog, "a-1", home / "a-1.zip")
        finally:
            worker.close()
        yield bundle, home


def members_of(path: Path) -> tuple[list[tuple[str, bytes]], tuple[int, ...]]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        return [(i.filename, zf.read(i)) for i in infos], infos[0].date_time


def test_a_fresh_bundle_verifies_against_a_later_tree_head(exported: tuple[Path, Path]) -> None:
    bundle, _ = exported
    report = verify_bundle(bundle)
    assert report.ok, report.problems
    names = [n for n, _ in members_of(bundle)[0]]
    assert names[:2] == ["README.txt", "manifest.json"]
    assert {"files/page.png", "files/page.html", "files/http.json", "files/video.mp4",
            "proof.json", "tree_head.json", "public_key.pem", "SHA256SUMS",
            "SHA256SUMS.sig"} <= set(names)
    # Leaf 0, proven against the head of size 3, consistent with the head of size 1.
    assert any("leaf 0 in a log of 3 entries" in f and "size 1" in f for f in report.facts)
    readme = dict(members_of(bundle)[0])["README.txt"].decode("utf-8")
    assert "How to check it" in readme and "如何核验" in readme and "霸道总裁" not in readme
    assert "likewatch evidence verify" in readme


def test_changing_any_byte_of_any_member_fails_naming_that_member(
        exported: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, _ = exported
    members, when = members_of(bundle)
    for index, (name, data) in enumerate(members):
        positions = sorted({0, len(data) // 2, len(data) - 1})
        for pos in positions:
            changed = bytearray(data)
            changed[pos] ^= 0x01
            tampered = list(members)
            tampered[index] = (name, bytes(changed))
            path = tmp_path / "t.zip"
            path.write_bytes(zipfmt.build(tampered, when))  # a well-formed zip, altered content
            report = verify_bundle(path)
            assert not report.ok, (name, pos)
            assert any(p.startswith(f"{name}:") for p in report.problems), (name, report.problems)


def test_raw_byte_flips_in_the_container_are_caught(exported: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    bundle, _ = exported
    raw = bundle.read_bytes()
    with zipfile.ZipFile(bundle) as zf:
        data_start = {i.header_offset + 30 + len(i.filename.encode()): i for i in zf.infolist()}
    # Every byte of the headers and central directory, and a stride through member data.
    offsets: set[int] = set(range(0, len(raw), 997))
    ends = sorted((s, s + i.file_size) for s, i in data_start.items())
    previous_end = 0
    for start, end in ends:
        offsets.update(range(previous_end, start))
        previous_end = end
    offsets.update(range(previous_end, len(raw)))
    for offset in offsets:
        flipped = bytearray(raw)
        flipped[offset] ^= 0x20
        path = tmp_path / "raw.zip"
        path.write_bytes(bytes(flipped))
        assert not verify_bundle(path).ok, offset
    inside = next(s for s, i in data_start.items() if i.filename == "files/page.png") + 100
    flipped = bytearray(raw)
    flipped[inside] ^= 0x01
    path = tmp_path / "raw.zip"
    path.write_bytes(bytes(flipped))
    assert any(p.startswith("files/page.png:") for p in verify_bundle(path).problems)


def test_added_removed_and_resigned_members_are_named(exported: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    bundle, home = exported
    members, when = members_of(bundle)
    path = tmp_path / "x.zip"
    path.write_bytes(zipfmt.build([*members[:3], ("files/extra.txt", b"x"), *members[3:]], when))
    assert any(p.startswith("files/extra.txt:") for p in verify_bundle(path).problems)
    path.write_bytes(zipfmt.build([m for m in members if m[0] != "files/http.json"], when))
    assert any(p.startswith("files/http.json:") for p in verify_bundle(path).problems)
    other_key = (Path(__file__).parent / "x.pem")
    assert not other_key.exists()
    # A different trusted key is refused even though the bundle is intact.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from alerts.evidence.keys import public_pem
    stranger = public_pem(Ed25519PrivateKey.generate().public_key())
    report = verify_bundle(bundle, stranger)
    assert [p.split(":")[0] for p in report.problems] == ["public_key.pem"]
    mine = (home / "keys/evidence-ed25519.pub.pem").read_bytes()
    assert verify_bundle(bundle, mine).ok


def test_cli_export_and_verify(exported: tuple[Path, Path], tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    bundle, home = exported
    monkeypatch.setenv("LIKEWATCH_HOME", str(home))
    out = tmp_path / "cli.zip"
    assert main(["evidence", "export", "a-2", "--out", str(out)]) == 0
    assert main(["evidence", "verify", str(out)]) == 0
    assert "OK:" in capsys.readouterr().out
    members, when = members_of(out)
    members = [(n, d.replace(b"200", b"201") if n == "files/http.json" else d)
               for n, d in members]
    out.write_bytes(zipfmt.build(members, when))
    assert main(["evidence", "verify", str(out)]) == 1
    err = capsys.readouterr().err
    assert "files/http.json: sha256 expected" in err and "actual" in err
    assert main(["evidence", "export", "no-such-alert"]) == 2
    assert main(["evidence", "verify", str(tmp_path / "missing.zip")]) == 2


def test_unpacked_folder_and_repacked_zip(exported: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, _ = exported
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(folder)
    assert verify_bundle(folder).ok
    (folder / "files/page.html").write_bytes(b"<p>edited</p>")
    assert [p.split(":")[0] for p in verify_bundle(folder).problems] == ["files/page.html"]
    # Re-packed by another tool (deflated): the contents check out, the container does not.
    members, _ = members_of(bundle)
    repacked = tmp_path / "repacked.zip"
    with zipfile.ZipFile(repacked, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    problems = verify_bundle(repacked).problems
    assert len(problems) == 1 and "re-packed by another zip tool" in problems[0]
