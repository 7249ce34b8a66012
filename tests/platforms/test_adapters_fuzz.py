"""Property-based (Hypothesis): every adapter, on mutated versions of its recorded fixtures,
returns a Page or raises AdapterError (counted parse_error) — never another exception."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.platforms.base import AdapterError, Page
from tests.platforms.adapters_util import cases, fixture_path

CASES = [(name, i, cls, case) for name, i, cls, case in cases()
         if fixture_path(cls, case).is_file()]
JSON_VALUES = st.sampled_from(["null", "0", "-1", "1e999", '""', '"x"', "[]", "{}", "true",
                               '[null,{"a":[]}]', '"\\u0000"', '"http://[::1]:0/"', "9" * 40])


def mutate(body: str, data: st.DataObject) -> str:
    ops = data.draw(st.lists(st.sampled_from(["value", "cut", "bytes", "drop"]), min_size=1,
                             max_size=3))
    for op in ops:
        if op == "value":  # a JSON value replaced by one of another type
            spots = [m.start(1) for m in re.finditer(r'":\s*("|\d|\[|\{|t|f|n)', body)]
            if spots:
                at = data.draw(st.sampled_from(spots))
                end = at + data.draw(st.integers(1, 40))
                body = body[:at] + data.draw(JSON_VALUES) + body[end:]
        elif op == "cut":
            body = body[: data.draw(st.integers(0, len(body)))]
        elif op == "bytes":
            at = data.draw(st.integers(0, len(body)))
            body = body[:at] + data.draw(st.text(max_size=20)) + body[at:]
        else:
            start = data.draw(st.integers(0, len(body)))
            body = body[:start] + body[start + data.draw(st.integers(0, 2000)):]
    return body


@pytest.mark.parametrize(("name", "index", "cls", "case"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
@given(data=st.data())
def test_mutated_fixtures_parse_or_raise_adapter_error(name: str, index: int, cls: type,
                                                       case: dict[str, object],
                                                       data: st.DataObject) -> None:
    body = fixture_path(cls, case).read_text(encoding="utf-8")
    mutated = mutate(body, data)
    try:
        page = cls().parse(str(case["url"]), mutated)
    except AdapterError:
        return
    assert isinstance(page, Page)
