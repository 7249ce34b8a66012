"""Property-based (Hypothesis): any query string given to the search API is answered or
refused with BadQuery (a 400 with a JSON error) — never another exception (a 500)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchers.index import open_index
from matchers.index.base import BadQuery, CandidateIndex
from tests.index.data import make_docs
from webapp.search import parse_search_params, run_search

NAMES = ["q", "platform", "client", "person", "matched", "since", "until", "date_field",
         "sort", "size", "after", "aggs", "bogus"]
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=4), inner, max_size=2)),
    max_leaves=6)
tokens = st.one_of(
    st.text(max_size=40),
    json_values.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()),
    st.tuples(json_values, json_values).map(
        lambda v: base64.urlsafe_b64encode(json.dumps(list(v)).encode()).decode().rstrip("=")))
values = st.one_of(st.text(max_size=30), st.sampled_from(
    ["true", "false", "2026-11-20", "2026-13-45", "-found_at", "+uploader", "0", "501", "-1",
     "1e9", "platform,uploader,day", "found_at", "published_at", "\x00", "9" * 30]))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CandidateIndex]:
    home = tmp_path_factory.mktemp("fuzz-index")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIKEWATCH_HOME", str(home))
        idx = open_index("embedded")
        idx.add(make_docs()[0][:30])
        idx.refresh()
        yield idx
        idx.close()


@given(params=st.dictionaries(st.sampled_from(NAMES), st.lists(values, min_size=1, max_size=2),
                              max_size=5),
       after=st.one_of(st.none(), tokens))
def test_any_query_is_answered_or_a_bad_query(index: CandidateIndex,
                                              params: dict[str, list[str]],
                                              after: str | None) -> None:
    if after is not None:
        params = {**params, "after": [after]}
    try:
        req = parse_search_params(params)
        out = run_search(index, req)
    except BadQuery as exc:
        assert str(exc)
        return
    assert isinstance(out["hits"], list) and out["total"] >= len(out["hits"])
