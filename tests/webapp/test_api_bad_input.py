"""Finding 7 (API) of issue 14: a tampered ``after`` token, like any bad parameter, is a
400 with a JSON error, on both index backends, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from matchers.index.base import CandidateIndex
from tests.index.conftest import es_node_info, es_url  # noqa: F401  (fixtures)
from tests.webapp.test_search import call, filled  # noqa: F401  (fixture)


def token(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


TAMPERED = [
    token([{"a": 1}, "d1"]),  # an object where the sort value belongs
    token([2**80, "d1"]),  # an integer no database holds
    token([1.5e308, "d1"]),
    token(["2026-01-01", "d1"]),  # a string where a date's milliseconds belong
    token([1, ["d1"]]),  # a list where the document id belongs
    token([True, "d1"]),
    token([1, "d1", 3]),
    base64.urlsafe_b64encode(b"[" * 3000).decode(),  # nesting deeper than the parser allows
    "%%%not-base64",
]


@pytest.mark.parametrize("after", TAMPERED)
def test_a_tampered_after_token_is_a_400(filled: CandidateIndex, after: str) -> None:  # noqa: F811
    status, body = call(filled, "GET", "/api/search", params={"after": after, "size": "2"})
    assert status == 400 and "pagination token" in body["error"]


def test_a_tampered_token_for_a_text_sort_is_a_400(filled: CandidateIndex) -> None:  # noqa: F811
    status, body = call(filled, "GET", "/api/search",
                        params={"after": token([5, "d1"]), "sort": "uploader"})
    assert status == 400 and "pagination token" in body["error"]
