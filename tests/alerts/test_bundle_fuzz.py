"""Property-based (Hypothesis): evidence bundle verification on mutated zips never crashes,
never takes unbounded time or memory, and never calls a changed bundle intact."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.evidence import zipfmt
from alerts.evidence.verify import verify_bundle
from likewatch.catalog import Catalog
from tests.alerts.bundles import members_of, sealed_bundle


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    home = tmp_path_factory.mktemp("fuzz-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIKEWATCH_HOME", str(home))
        with Catalog.open() as catalog:
            path = sealed_bundle(catalog, home / "b.zip")
    assert verify_bundle(path).ok
    return path.read_bytes(), home


edits = st.lists(st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]),
                           st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=8)),
                 min_size=1, max_size=4)


def apply(data: bytes, ops: list[tuple[str, float, bytes]]) -> bytes:
    buf = bytearray(data)
    for op, where, blob in ops:
        at = int(where * len(buf)) if buf else 0
        if op == "flip" and buf:
            buf[at] ^= blob[0] or 1
        elif op == "set":
            buf[at:at + len(blob)] = blob
        elif op == "insert":
            buf[at:at] = blob
        elif op == "delete":
            del buf[at:at + len(blob)]
        elif op == "truncate":
            del buf[at:]
    return bytes(buf)


@given(ops=edits)
def test_a_mutated_bundle_is_never_intact_and_never_crashes(
        original: tuple[bytes, Path], ops: list[tuple[str, float, bytes]]) -> None:
    data, home = original
    mutated = apply(data, ops)
    path = home / "mutated.zip"
    path.write_bytes(mutated)
    report = verify_bundle(path)  # any exception fails the property
    assert report.ok == (mutated == data), (ops, report.problems[:3])
    assert all(": " in p for p in report.problems)  # each names a member


@given(data=st.data())
def test_rearranged_members_are_never_intact(original: tuple[bytes, Path],
                                             data: st.DataObject) -> None:
    raw, home = original
    (home / "orig.zip").write_bytes(raw)
    members, when = members_of(home / "orig.zip")
    order = data.draw(st.permutations(range(len(members))))
    dup = data.draw(st.lists(st.integers(0, len(members) - 1), max_size=2))
    drop = data.draw(st.sets(st.integers(0, len(members) - 1), max_size=2))
    rename = data.draw(st.dictionaries(st.integers(0, len(members) - 1),
                                       st.sampled_from(["../x", "files/../manifest.json",
                                                        "MANIFEST.JSON", "files/page.png "]),
                                       max_size=1))
    changed = [(rename.get(i, members[i][0]), members[i][1]) for i in order if i not in drop]
    changed += [members[i] for i in dup]
    path = home / "rearranged.zip"
    path.write_bytes(zipfmt.build(changed, when))
    same = changed == members
    assert verify_bundle(path).ok == same
    with zipfile.ZipFile(path) as zf:
        assert len(zf.infolist()) == len(changed)
