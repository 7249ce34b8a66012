"""One contract, two backends: every test runs on the embedded store and on a real
Elasticsearch node, against answers computed here by brute force over the same data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from matchers.index.base import (
    MISSING_LAST,
    BadQuery,
    CandidateDoc,
    CandidateIndex,
    SearchFilters,
    decode_vector,
    tokenize,
)
from matchers.index.signal_rows import SegmentedRows
from tests.index.data import T0, brute_radius, make_docs, make_scale_docs

DOCS, QUERY = make_docs()
BY_ID = {d.doc_id: d for d in DOCS}


@pytest.fixture(scope="module")
def loaded(module_index: CandidateIndex) -> CandidateIndex:
    """The contract data, loaded once per backend; tests using it must not write."""
    assert module_index.add(DOCS[:30]) == 30
    assert module_index.add(DOCS[30:]) == len(DOCS) - 30
    module_index.refresh()
    return module_index


def hamming_hex(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def expected_radius(signal: str, value: str, radius: int) -> list[tuple[str, int]]:
    best = {}
    for d in DOCS:
        dists = [hamming_hex(value, v) for v in d.signals.get(signal, [])]
        if dists and min(dists) <= radius:
            best[d.doc_id] = min(dists)
    return sorted(best.items(), key=lambda kv: (kv[1], kv[0]))


def expected_docs(text: str = "", f: SearchFilters | None = None) -> list[CandidateDoc]:
    f = f or SearchFilters()
    out = []
    for d in DOCS:
        words = set(tokenize(" ".join([d.title, d.description, d.uploader, *d.tags])))
        if not set(tokenize(text)) <= words:
            continue
        if f.platform and d.platform not in f.platform:
            continue
        if f.client and not set(f.client) & set(d.clients):
            continue
        if f.person and not set(f.person) & set(d.persons):
            continue
        if f.matched is not None and d.matched != f.matched:
            continue
        when = getattr(d, f.date_field)
        if (f.since or f.until) and when is None:
            continue
        if f.since and when < f.since or f.until and when >= f.until:
            continue
        out.append(d)
    return out


def sort_key(sort: str):
    name = sort.lstrip("-")
    order = "desc" if sort.startswith("-") else "asc"

    def key(d: CandidateDoc):
        value = getattr(d, name)
        if isinstance(value, dt.datetime) or name.endswith("_at"):
            value = MISSING_LAST[order] if value is None else int(value.timestamp() * 1000)
        return value

    return key, order == "desc"


def all_pages(index: CandidateIndex, text: str, f: SearchFilters | None, sort: str,
              size: int) -> list[str]:
    ids: list[str] = []
    after = None
    for _ in range(100):
        page = index.search(text, f, sort=sort, size=size, after=after)
        ids += [h.doc_id for h in page.hits]
        after = page.next_token
        if after is None:
            return ids
    raise AssertionError("pagination never ended")


def test_count_and_get(loaded: CandidateIndex) -> None:
    assert loaded.count() == len(DOCS)
    got = loaded.get(["sandbox:item003", "nope:1", "douyin:item000"])
    assert [d.doc_id for d in got] == ["sandbox:item003", "douyin:item000"]
    assert got[0].to_json() == BY_ID["sandbox:item003"].to_json()
    assert got[1].signals == BY_ID["douyin:item000"].signals


@pytest.mark.parametrize("signal,radius", [
    ("pdq", 0), ("pdq", 15), ("pdq", 16), ("pdq", 31), ("pdq", 47), ("pdq", 63),
    ("phash", 0), ("phash", 3), ("phash", 7), ("phash", 12),
    ("face_pdq", 31), ("face_pdq", 47),
])
def test_radius_search_is_exact(loaded: CandidateIndex, signal: str, radius: int) -> None:
    query = QUERY["pdq" if signal == "face_pdq" else signal]
    got = loaded.radius_search(signal, query, radius)
    assert got == expected_radius(signal, query, radius)
    if radius >= 31:
        assert got, "the data has near duplicates within this radius"


def test_radius_search_pages_through_many_hits(es_index) -> None:
    es_index.add(DOCS)
    es_index.refresh()
    es_index.page = 7  # force the sorted, search_after path
    for signal, radius in (("pdq", 47), ("pdq", 200), ("phash", 12)):
        query = QUERY[signal]
        assert es_index.radius_search(signal, query, radius) == expected_radius(signal, query,
                                                                                radius)


def test_radius_search_finds_stored_value_at_zero(loaded: CandidateIndex) -> None:
    doc = DOCS[1]
    value = doc.signals["pdq"][0].upper()
    assert (doc.doc_id, 0) in loaded.radius_search("pdq", value, 0)


def test_radius_search_rejects_bad_queries(loaded: CandidateIndex) -> None:
    with pytest.raises(BadQuery):
        loaded.radius_search("pdq", "abcd", 4)
    with pytest.raises(BadQuery):
        loaded.radius_search("colour", QUERY["pdq"], 4)
    with pytest.raises(BadQuery):
        loaded.radius_search("pdq", QUERY["pdq"], -1)


@pytest.mark.parametrize("signal,radius", [("pdq", 120), ("pdq", 256), ("phash", 30)])
def test_radius_wider_than_chunk_terms_is_still_exact(loaded: CandidateIndex, signal: str,
                                                       radius: int) -> None:
    query = QUERY[signal]
    assert loaded.radius_search(signal, query, radius) == expected_radius(signal, query, radius)


@pytest.mark.parametrize("k,max_distance", [(5, 10.0), (50, 0.9), (3, 0.5), (10, 0.0)])
def test_knn_face_is_exact(loaded: CandidateIndex, k: int, max_distance: float) -> None:
    query = decode_vector(QUERY["face"]).astype(np.float64)
    best = {}
    for d in DOCS:
        dists = [float(np.linalg.norm(decode_vector(v) - query)) for v in d.signals.get("face", [])]
        if dists and min(dists) <= max_distance:
            best[d.doc_id] = min(dists)
    expected = sorted(best.items(), key=lambda kv: (kv[1], kv[0]))[:k]
    got = loaded.knn_face(QUERY["face"], k, max_distance)
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert all(abs(g[1] - e[1]) < 1e-5 for g, e in zip(got, expected, strict=True))


TEXT_CASES = ["", "moonlight", "MOONLIGHT cast", "明星", "短剧", "霸道 总裁", "drama 明星",
              "episode 12", "官方", "nothing-here-at-all", "星河影视", "vlog"]


@pytest.mark.parametrize("text", TEXT_CASES)
def test_text_search(loaded: CandidateIndex, text: str) -> None:
    page = loaded.search(text, size=100, sort="platform")
    expected = expected_docs(text)
    assert page.total == len(expected)
    assert {h.doc_id for h in page.hits} == {d.doc_id for d in expected}


FILTER_CASES = [
    SearchFilters(platform=["douyin"]),
    SearchFilters(platform=["douyin", "bilibili"], matched=True),
    SearchFilters(client=["agency-b"]),
    SearchFilters(person=["p1"], matched=True),
    SearchFilters(matched=False),
    SearchFilters(since=T0 + dt.timedelta(days=2), until=T0 + dt.timedelta(days=4)),
    SearchFilters(since=T0 - dt.timedelta(days=3), date_field="published_at"),
    SearchFilters(until=T0 - dt.timedelta(days=5), date_field="published_at", client=["studio-a"]),
]


@pytest.mark.parametrize("f", FILTER_CASES)
@pytest.mark.parametrize("text", ["", "drama"])
def test_filters(loaded: CandidateIndex, f: SearchFilters, text: str) -> None:
    page = loaded.search(text, f, size=100)
    expected = expected_docs(text, f)
    assert page.total == len(expected)
    assert {h.doc_id for h in page.hits} == {d.doc_id for d in expected}


@pytest.mark.parametrize("sort", ["-found_at", "found_at", "published_at", "-published_at",
                                  "uploader", "-uploader", "platform"])
@pytest.mark.parametrize("size", [7, 100])
def test_sort_and_search_after(loaded: CandidateIndex, sort: str, size: int) -> None:
    f = SearchFilters(matched=True) if size == 7 else None
    key, reverse = sort_key(sort)
    expected = sorted(expected_docs("", f), key=lambda d: d.doc_id)
    expected = sorted(expected, key=key, reverse=reverse)  # stable: doc_id ascending in ties
    assert all_pages(loaded, "", f, sort, size) == [d.doc_id for d in expected]


def test_bad_sort_and_token(loaded: CandidateIndex) -> None:
    with pytest.raises(BadQuery):
        loaded.search(sort="title")
    with pytest.raises(BadQuery):
        loaded.search(after="not a token")
    with pytest.raises(BadQuery):
        loaded.search(aggs=["colour"])
    with pytest.raises(BadQuery):
        loaded.search(size=0)
    with pytest.raises(BadQuery):
        loaded.search(size=10_001)


@pytest.mark.parametrize("text", ["", "drama"])
def test_aggregations(loaded: CandidateIndex, text: str) -> None:
    page = loaded.search(text, SearchFilters(matched=True), size=1,
                         aggs=["platform", "uploader", "day"])
    docs = expected_docs(text, SearchFilters(matched=True))

    def terms(values: list[str]) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for v in values:
            counts[v] = counts.get(v, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    assert page.aggs["platform"] == terms([d.platform for d in docs])
    assert page.aggs["uploader"] == terms([d.uploader for d in docs if d.uploader])
    assert page.aggs["day"] == sorted(terms([d.found_at.strftime("%Y-%m-%d") for d in docs]))


def test_replace_by_doc_id(index: CandidateIndex) -> None:
    loaded = index
    loaded.add(DOCS)
    doc = CandidateDoc.from_json(BY_ID["douyin:item000"].to_json())
    doc.title, doc.matched, doc.persons = "Renamed 改名", False, []
    doc.signals = {"pdq": [doc.signals["pdq"][0]]}
    loaded.add([doc])
    loaded.refresh()
    assert loaded.count() == len(DOCS)
    assert [h.doc_id for h in loaded.search("改名").hits] == [doc.doc_id]
    assert loaded.search("", SearchFilters(person=["p1"], doc_ids=[doc.doc_id])).total == 0
    assert loaded.get([doc.doc_id])[0].title == "Renamed 改名"
    assert loaded.radius_search("pdq", doc.signals["pdq"][0], 0)[0] == (doc.doc_id, 0)
    old_face = BY_ID["douyin:item000"].signals["face"][0]
    assert doc.doc_id not in [d for d, _ in loaded.knn_face(old_face, 100, 10.0)]
    assert all(d != doc.doc_id for d, _ in loaded.radius_search("phash", QUERY["phash"], 64))


def test_bad_documents_are_refused(index: CandidateIndex) -> None:
    with pytest.raises(BadQuery):
        index.add([CandidateDoc("x", "1", signals={"pdq": ["zz"]})])
    with pytest.raises(BadQuery):
        index.add([CandidateDoc("x", "1", signals={"face": ["AAAA"]})])


def test_radius_search_at_scale(index: CandidateIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of candidates added in batches, some replaced: every radius answer equals
    brute force after each write (the embedded store then searches several segments of
    multi-index tables, its last one by a scan; radius 40 on PDQ is beyond its tables)."""
    monkeypatch.setattr(SegmentedRows, "MIN_SEGMENT", 256)
    docs, bases = make_scale_docs(4000, seed=11)
    current: dict[str, CandidateDoc] = {}
    replaced, _ = make_scale_docs(300, seed=12)
    for d, r in zip(docs[::10], replaced, strict=False):  # same ids, new values
        r.platform, r.item_id = d.platform, d.item_id
    writes = [docs[:1500], docs[1500:1501], docs[1501:3000], replaced[:150], docs[3000:],
              replaced[150:]]
    for batch in writes:
        index.add(batch)
        index.refresh()
        current.update((d.doc_id, d) for d in batch)
        for signal, radii in (("pdq", (31, 12, 40)), ("phash", (8, 4)), ("face_pdq", (48,))):
            for radius in radii:
                got = index.radius_search(signal, bases[signal][0], radius)
                assert got == brute_radius(current, signal, bases[signal][0], radius), (
                    signal, radius)
    assert index.count() == len(current) == 4000
    assert index.radius_search("pdq", bases["pdq"][0], 31), "the data has near copies"
