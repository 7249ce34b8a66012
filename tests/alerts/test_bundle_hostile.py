"""Findings 2 and 4 (bundles) of issue 14: duplicate member names, members over their size
or compression-ratio limit are named; verification reads in bounded memory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.evidence import bundle_read
from alerts.evidence.verify import verify_bundle
from likewatch.catalog import Catalog
from tests.alerts.bundles import PNG, deflated_zeros_zip, members_of, rebuilt, sealed_bundle
from tests.hostile import run_measured

LIKEWATCH = str(Path(sys.executable).parent / "likewatch")


@pytest.fixture
def bundle(tmp_path: Path) -> Iterator[Path]:
    with Catalog.open() as catalog:
        yield sealed_bundle(catalog, tmp_path / "b.zip")


def test_the_bundle_used_here_verifies(bundle: Path) -> None:
    report = verify_bundle(bundle)
    assert report.ok, report.problems


@pytest.mark.parametrize("name", ["manifest.json", "README.txt", "files/page.png"])
def test_a_forged_copy_under_the_same_name_is_named(bundle: Path, tmp_path: Path,
                                                    name: str) -> None:
    members, when = members_of(bundle)
    at = next(i for i, (n, _) in enumerate(members) if n == name)
    forged = b"\x89PNG forged" if name.endswith(".png") else b"forged text\n"
    for position in (at, len(members)):  # the forged copy first, then last
        path = rebuilt(tmp_path / f"dup-{position}.zip",
                       [*members[:position], (name, forged), *members[position:]], when)
        report = verify_bundle(path)
        assert not report.ok
        assert any(p.startswith(f"{name}: appears 2 times") for p in report.problems), \
            report.problems


def test_a_folder_with_a_file_over_the_limit_is_named(bundle: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    members, _ = members_of(bundle)
    folder = tmp_path / "unpacked"
    for name, data in members:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    assert verify_bundle(folder).ok
    monkeypatch.setattr(bundle_read, "MAX_MEMBER_BYTES", len(PNG) - 1)
    problems = verify_bundle(folder).problems
    assert any(p.startswith("files/page.png: declares") for p in problems), problems


def test_members_over_their_size_or_ratio_are_refused_by_name(bundle: Path,
                                                              tmp_path: Path) -> None:
    members, _ = members_of(bundle)
    over_size = deflated_zeros_zip(tmp_path / "size.zip",
                                   [m for m in members if m[0] != "files/page.png"],
                                   "files/page.png", 600 << 20)
    problems = verify_bundle(over_size).problems
    assert any(p.startswith("files/page.png: declares 629145600 bytes, more than")
               for p in problems), problems
    bomb = deflated_zeros_zip(tmp_path / "ratio.zip", members, "files/extra.bin", 64 << 20)
    problems = verify_bundle(bomb).problems
    assert any(p.startswith("files/extra.bin: expands") and "decompression bomb" in p
               for p in problems), problems
    own = deflated_zeros_zip(tmp_path / "own.zip",
                             [m for m in members if m[0] != "README.txt"], "README.txt",
                             5 << 20, at=0)
    problems = verify_bundle(own).problems
    assert any(p.startswith("README.txt: declares 5242880 bytes") for p in problems), problems


def test_too_many_members_are_refused_before_the_directory_is_read(bundle: Path,
                                                                   tmp_path: Path) -> None:
    members, when = members_of(bundle)
    many = [(f"files/x{i}", b"") for i in range(bundle_read.MAX_MEMBERS + 1)]
    path = rebuilt(tmp_path / "many.zip", [*members, *many], when)
    [problem] = verify_bundle(path).problems
    assert problem.startswith(f"many.zip: declares {len(members) + len(many)} members")


@pytest.mark.slow
def test_verification_memory_stays_bounded(tmp_path: Path) -> None:
    """The CLI in a subprocess, peak RSS measured: a 1 GiB zip bomb, and a valid bundle with
    a 96 MB stored member, cost about what a small valid bundle costs."""
    with Catalog.open() as catalog:
        small = sealed_bundle(catalog, tmp_path / "small.zip")
        large = sealed_bundle(catalog, tmp_path / "large.zip", capture_id="c-2",
                              big={"video.mp4": 96 << 20})
    members, _ = members_of(small)
    bomb = deflated_zeros_zip(tmp_path / "bomb.zip",
                              [m for m in members if m[0] != "files/page.html"],
                              "files/page.html", 1 << 30)
    assert bomb.stat().st_size < 2 << 20  # about 1 MB on disk
    base = run_measured([LIKEWATCH, "evidence", "verify", str(small)])
    assert base.returncode == 0, base.stderr
    big = run_measured([LIKEWATCH, "evidence", "verify", str(large)])
    assert big.returncode == 0, big.stdout + big.stderr
    hostile = run_measured([LIKEWATCH, "evidence", "verify", str(bomb)])
    assert hostile.returncode == 1 and "files/page.html: declares 1073741824 bytes" in \
        hostile.stdout + hostile.stderr
    print(f"peak RSS: small {base.peak_rss_mb:.0f} MB, 96 MB member "
          f"{big.peak_rss_mb:.0f} MB, 1 GiB bomb {hostile.peak_rss_mb:.0f} MB")
    assert big.peak_rss_mb < base.peak_rss_mb + 32
    assert hostile.peak_rss_mb < base.peak_rss_mb + 32
