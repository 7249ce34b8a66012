"""BankSet over synthetic values (fake SignalTypes) and a real catalog: policy, rebuilds."""

from __future__ import annotations

import numpy as np

from likewatch.catalog import Catalog
from likewatch.catalog.models import Client, ClientThreshold, Person, Reference
from matchers.banks import BankCache, BankReference, BankSet, ReferenceBank, bank_generation
from matchers.match import OfficialAccount
from matchers.signals.base import SignalValue
from tests.matchers.bank_fakes import bits_hex, fake_types, flip, vec_b64


def _banks(rng: np.random.Generator) -> tuple[BankSet, dict[str, str]]:
    a, b = bits_hex(rng), bits_hex(rng)
    banks = [
        ReferenceBank("alice", "studio", references=[
            BankReference(1, {"fbits": [a, flip(a, 60, rng)], "fvec": [vec_b64([0, 0, 0, 0])]}),
            BankReference(2, {"fvec": [vec_b64([1, 0, 0, 0])]}),
        ], official_accounts=[OfficialAccount("douyin", "AliceOfficial")]),
        ReferenceBank("bob", "agency", references=[
            BankReference(3, {"fbits": [b], "fvec": [vec_b64([0, 3, 0, 0])]}),
        ]),
    ]
    return BankSet(banks, signal_types=fake_types()), {"a": a, "b": b}


def test_match_values_any_signal_best_distance() -> None:
    rng = np.random.default_rng(3)
    bs, h = _banks(rng)
    values = [SignalValue("fbits", flip(h["a"], 12, rng)),
              SignalValue("fvec", vec_b64([0.9, 0, 0, 0])),
              SignalValue("fvec", vec_b64([0.2, 0, 0, 0]))]  # two faces: best one wins
    ms = sorted(bs.match_values(values, frame="t=1.00s"), key=lambda m: m.signal)
    assert [(m.person, m.signal) for m in ms] == [("alice", "fbits"), ("alice", "fvec")]
    assert ms[0].distance == 12 and ms[0].threshold == 31 and ms[0].reference_id == 1
    assert abs(ms[1].distance - 0.1) < 1e-6 and ms[1].reference_id == 2
    assert ms[1].frame == "t=1.00s" and ms[1].extra["client"] == "studio"


def test_threshold_inclusive_and_beyond() -> None:
    rng = np.random.default_rng(4)
    bs, h = _banks(rng)
    at = bs.match_values([SignalValue("fbits", flip(h["b"], 31, rng))])
    assert [(m.person, m.distance) for m in at] == [("bob", 31)]
    assert bs.match_values([SignalValue("fbits", flip(h["b"], 32, rng))]) == []
    assert bs.match_values([SignalValue("fbits", bits_hex(rng))]) == []
    assert bs.match_values([SignalValue("unknown", "x")]) == []


def test_official_accounts_never_match() -> None:
    rng = np.random.default_rng(5)
    bs, h = _banks(rng)
    v = [SignalValue("fbits", h["a"])]
    assert bs.match_values(v, platform="douyin", uploader="aliceofficial") == []
    assert bs.match_values(v, platform="douyin", uploader="x", uploader_id="@AliceOfficial") == []
    # Same uploader name on another platform is somebody else.
    assert [m.person for m in bs.match_values(v, platform="kuaishou",
                                              uploader="AliceOfficial")] == ["alice"]


def test_match_many_origin_per_item() -> None:
    """Items of different candidates in one batch: each is matched with its own uploader,
    so the official account's copy is dropped and the other uploader's is kept."""
    rng = np.random.default_rng(15)
    bs, h = _banks(rng)
    v = [SignalValue("fbits", flip(h["a"], 3, rng))]
    origins = [("douyin", "AliceOfficial", ""), ("douyin", "someone", ""),
               ("kuaishou", "AliceOfficial", "")]
    many = bs.match_many([v, v, v], origins=origins)
    assert [[m.person for m in ms] for ms in many] == [[], ["alice"], ["alice"]]
    for got, (platform, uploader, uploader_id) in zip(many, origins, strict=True):
        assert got == bs.match_values(v, platform=platform, uploader=uploader,
                                      uploader_id=uploader_id)


def _seed(catalog: Catalog, rng: np.random.Generator) -> dict[str, str]:
    a = bits_hex(rng)
    with catalog.session() as s:
        c = Client(name="agency1", kind="agency")
        s.add(c)
        s.flush()
        p = Person(client_id=c.id, key="p1", official_accounts=[
            {"platform": "sandbox", "uploader": "p1-official"}])
        s.add(p)
        s.flush()
        s.add(Reference(person_id=p.id, sha256="0" * 64, media_path="x",
                        signals={"fbits": [a], "fvec": [vec_b64([0, 0, 0, 1])]}))
    return {"a": a}


def test_from_catalog_overrides_and_rebuild() -> None:
    rng = np.random.default_rng(6)
    catalog = Catalog.open()
    h = _seed(catalog, rng)
    cache = BankCache(signal_types=fake_types())
    bs = cache.get(catalog)
    assert bs.stats()["persons"] == 1 and bs.n_references == 1
    near = [SignalValue("fbits", flip(h["a"], 35, rng))]
    assert bs.match_values(near) == []
    assert cache.get(catalog) is bs and cache.rebuilds == 1  # nothing changed
    gen = bank_generation(catalog)
    with catalog.session() as s:
        s.add(ClientThreshold(client_id=1, signal="fbits", threshold=40))
    assert bank_generation(catalog) != gen
    bs2 = cache.get(catalog)
    assert bs2 is not bs and cache.rebuilds == 2
    ms = bs2.match_values(near, platform="sandbox", uploader="someone")
    assert [(m.person, m.distance, m.threshold) for m in ms] == [("p1", 35, 40)]
    assert ms[0].extra["person_id"] == "1"
    assert bs2.match_values(near, platform="sandbox", uploader="p1-official") == []
    # A new reference changes the generation too.
    with catalog.session() as s:
        s.add(Reference(person_id=1, sha256="1" * 64, media_path="y", signals={}))
    assert cache.get(catalog).n_references == 2 and cache.rebuilds == 3


def test_from_catalog_subset_of_persons() -> None:
    rng = np.random.default_rng(7)
    catalog = Catalog.open()
    _seed(catalog, rng)
    assert len(BankSet.from_catalog(catalog, person_ids=[999], signal_types=fake_types())) == 0
    assert len(BankSet.from_catalog(catalog, person_ids=[1], signal_types=fake_types())) == 1


def test_empty_bankset_matches_nothing() -> None:
    bs = BankSet([], signal_types=fake_types())
    assert bs.match_values([SignalValue("fvec", vec_b64([0, 0, 0, 0]))]) == []


def test_decode_values_bulk_and_validation() -> None:
    import pytest

    from matchers.banks import decode_values

    rng = np.random.default_rng(8)
    types = fake_types()
    hexes = [bits_hex(rng) for _ in range(5)]
    arr = decode_values(types["fbits"], hexes)
    assert arr.shape == (5, 32) and bytes(arr[3]).hex() == hexes[3]
    vecs = decode_values(types["fvec"], [vec_b64([1, 2, 3, 4]), vec_b64([0, 0, 0, 1])])
    assert vecs.dtype == np.float32 and vecs[0].tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError):
        decode_values(types["fbits"], [hexes[0], "zz" * 32])
    with pytest.raises(ValueError):
        decode_values(types["fvec"], [vec_b64([1, 2, 3])])
    assert decode_values(types["fvec"], []).shape == (0, 4)


def _weak_bankset(rng: np.random.Generator) -> tuple[BankSet, str, str]:
    """One person with a 64-bit value of a corroborate-only signal and a 256-bit one."""
    from matchers.match import MatchPolicy

    types = fake_types()
    a64, a256 = bits_hex(rng, 64), bits_hex(rng)
    bank = ReferenceBank("weak", references=[BankReference(1, {"fbits64": [a64],
                                                               "fbits": [a256]})])
    policy = MatchPolicy.from_signal_types(types)
    policy.corroborate = frozenset({"fbits64"})
    return BankSet([bank], signal_types=types, policy=policy), a64, a256


def test_weak_signal_needs_corroboration() -> None:
    rng = np.random.default_rng(9)
    bs, a64, a256 = _weak_bankset(rng)
    alone = [SignalValue("fbits64", flip(a64, 3, rng))]
    assert bs.match_values(alone) == []
    both = alone + [SignalValue("fbits", flip(a256, 5, rng))]
    assert sorted(m.signal for m in bs.match_values(both)) == ["fbits", "fbits64"]
    assert bs.search_values(alone)  # found by the index; only the policy drops it


def test_policy_thresholds_never_looser_than_the_signal(monkeypatch) -> None:
    import matchers.match as mm
    from matchers.signals import all_signal_types

    types = all_signal_types()
    monkeypatch.setattr(mm, "POLICY_THRESHOLDS", {"face": 0.3, "pdq": 999.0})
    policy = mm.MatchPolicy.from_signal_types(types, {"strict": {"face": 0.2}})
    assert policy.threshold("any", "face") == 0.3  # stricter: the policy's
    assert policy.threshold("any", "pdq") == types["pdq"].THRESHOLD  # looser: ignored
    assert policy.threshold("strict", "face") == 0.2
    assert policy.search_radius("face") == 0.3
    assert policy.corroborated({"phash"}) == set()
    assert policy.corroborated({"phash", "pdq"}) == {"phash", "pdq"}


def test_match_many_equals_match_values() -> None:
    rng = np.random.default_rng(11)
    bs, h = _banks(rng)
    items = [[SignalValue("fbits", flip(h["a"], 12, rng)),
              SignalValue("fvec", vec_b64([0.9, 0, 0, 0]))],
             [SignalValue("fvec", vec_b64([0, 2.8, 0, 0]))],
             [],
             [SignalValue("fbits", bits_hex(rng))]]
    many = bs.match_many(items, frames=["a", "b", "c", "d"])
    assert [len(m) for m in many] == [2, 1, 0, 0]
    for item, got, frame in zip(items, many, "abcd", strict=True):
        assert got == bs.match_values(item, frame=frame)


def test_weak_index_searched_only_next_to_a_strong_hit(monkeypatch) -> None:
    """match_values skips the corroborate-only index when nothing else was found, and
    gives what applying the policy to every index's hits gives."""
    rng = np.random.default_rng(12)
    bs, a64, a256 = _weak_bankset(rng)
    weak_ix = bs.indexes["fbits64"]
    calls = []
    real_search = weak_ix.search
    monkeypatch.setattr(weak_ix, "search", lambda v: calls.append(v) or real_search(v))
    cases = [[SignalValue("fbits64", flip(a64, 3, rng))],
             [SignalValue("fbits64", flip(a64, 3, rng)), SignalValue("fbits", flip(a256, 5, rng))],
             [SignalValue("fbits64", flip(a64, 3, rng)), SignalValue("fbits", bits_hex(rng))],
             [SignalValue("fbits", flip(a256, 5, rng))]]
    searched = []
    for values in cases:
        calls.clear()
        full = bs._apply_policy(bs.search_values(values), "", "", "", "")
        calls.clear()
        assert bs.match_values(values) == full
        assert bs.match_many([values]) == [full]
        searched.append(len(calls))
    assert searched == [0, 2, 0, 0]  # match_values and match_many once each
