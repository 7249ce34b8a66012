"""Search for analysts over HTTP (GET /api/search, POST /api/search/by-photo) and on the
command line (likewatch search / serve), against real indexes and real photos."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from likewatch import cli
from likewatch.catalog import Catalog
from matchers.index import open_index
from matchers.index.base import CandidateDoc, CandidateIndex
from matchers.index.elastic import ElasticsearchIndex
from tests.index.conftest import es_node_info, es_url  # noqa: F401  (fixtures)
from tests.index.data import make_docs
from tests.index.esnode import unique_prefix
from webapp.accounts import service
from webapp.app import create_app
from webapp.search import image_signals

DOCS, _ = make_docs()


def call(index: CandidateIndex, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """One request to create_app(catalog, index) as an operator (who searches everything;
    tenant scoping is tested in test_isolation.py and below)."""
    catalog = Catalog.open()
    try:
        service.add_user(catalog, "ops@example.com", role="operator")
        token, _ = service.create_token(catalog, "ops@example.com")
        client = TestClient(create_app(catalog, index, allowed_hosts=["testserver"]),
                            base_url="https://testserver",
                            headers={"Authorization": f"Bearer {token}"})
        resp = client.request(method, path, **kwargs)
        return resp.status_code, resp.json()
    finally:
        catalog.close()


@pytest.fixture(params=["embedded", "elasticsearch"])
def filled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CandidateIndex]:
    if request.param == "embedded":
        index: CandidateIndex = open_index("embedded")
    else:
        url = request.getfixturevalue("es_url")
        index = ElasticsearchIndex(url, prefix=unique_prefix(), queue_path=tmp_path / "q.db")
    index.add(DOCS)
    index.refresh()
    yield index
    if isinstance(index, ElasticsearchIndex):
        index.drop()
    index.close()


def test_api_search_pages_sorts_filters_and_aggregates(filled: CandidateIndex) -> None:
    seen: list[str] = []
    path = "/api/search?q=drama&platform=douyin,bilibili&matched=true&sort=found_at&size=4"
    status, body = call(filled, "GET", path + "&aggs=platform,day")
    assert status == 200
    total = body["total"]
    assert total > 4 and body["aggs"]["platform"][0]["key"] in {"douyin", "bilibili"}
    while True:
        seen += [h["doc_id"] for h in body["hits"]]
        assert all(h["platform"] in {"douyin", "bilibili"} and h["matched"] for h in body["hits"])
        assert all("face" not in h["signals"] for h in body["hits"])
        if not body["next"]:
            break
        status, body = call(filled, "GET", path + "&after=" + body["next"])
    assert len(seen) == len(set(seen)) == total
    found = [next(d for d in DOCS if d.doc_id == i).found_at for i in seen]
    assert found == sorted(found)


@pytest.mark.parametrize("query,words", [
    ("size=0", "size"), ("sort=title", "sort"), ("matched=maybe", "boolean"),
    ("since=yesterday", "date"), ("aggs=colour", "aggregation"), ("after=xyz", "token"),
    ("colour=red", "unknown parameter"),
])
def test_api_search_bad_parameters_are_400(query: str, words: str) -> None:
    index = open_index("embedded")
    status, body = call(index, "GET", "/api/search?" + query)
    index.close()
    assert status == 400 and words in body["error"]


def test_api_search_until_includes_the_whole_day() -> None:
    index = open_index("embedded")
    index.add(DOCS)
    status, body = call(index, "GET", "/api/search?since=2026-11-02&until=2026-11-02&size=100")
    index.close()
    expected = {d.doc_id for d in DOCS if d.found_at.strftime("%Y-%m-%d") == "2026-11-02"}
    assert status == 200 and {h["doc_id"] for h in body["hits"]} == expected and expected


def photo_index(shared_data: Path, backend_index: CandidateIndex) -> tuple[Path, Path]:
    """Two candidates whose thumbnails are two different people's photos."""
    faces = shared_data / "faces"
    a, b = faces / "A000370_1.jpg", faces / "B001229_1.jpg"
    docs = [CandidateDoc(platform="sandbox", item_id=p.stem, title=f"thumb {p.stem}",
                         signals={k: v for k, v in image_signals(p.read_bytes()).items() if v})
            for p in (a, b)]
    assert docs[0].signals.get("face"), "the photo has a face"
    backend_index.add([*DOCS, *docs])
    backend_index.refresh()
    return a, faces / "A000370_2.jpg"


def test_api_by_photo_finds_the_same_photo_and_the_same_face(filled: CandidateIndex,
                                                              shared_data: Path) -> None:
    same, other_photo = photo_index(shared_data, filled)
    files = {"file": (same.name, same.read_bytes(), "image/jpeg")}
    status, body = call(filled, "POST", "/api/search/by-photo", files=files)
    assert status == 200
    top = body["hits"][0]
    assert top["doc_id"] == "sandbox:A000370_1"
    assert {m["signal"]: m["distance"] for m in top["matches"]}["pdq"] == 0
    assert "sandbox:B001229_1" not in [h["doc_id"] for h in body["hits"]]
    # Another photo of the same person: found by face.
    status, body = call(filled, "POST", "/api/search/by-photo?size=5",
                        files={"file": ("other.jpg", other_photo.read_bytes(), "image/jpeg")})
    assert status == 200
    hit = next(h for h in body["hits"] if h["doc_id"] == "sandbox:A000370_1")
    assert any(m["signal"] == "face" and m["distance"] < m["threshold"] for m in hit["matches"])


def test_api_by_photo_refuses_a_non_image() -> None:
    index = open_index("embedded")
    status, body = call(index, "POST", "/api/search/by-photo",
                        files={"file": ("x.jpg", b"not an image at all", "image/jpeg")})
    index.close()
    assert status == 400 and "image" in body["error"]


def test_cli_search_json_table_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with open_index("embedded") as index:
        index.add(DOCS)
    assert cli.main(["search", "drama", "--platform", "douyin", "--matched", "--json",
                     "--aggs", "uploader", "--size", "3"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert len(body["hits"]) == 3 and body["next"]
    assert all(h["platform"] == "douyin" and h["matched"] for h in body["hits"])
    assert cli.main(["search", "drama", "--platform", "douyin", "--matched", "--json",
                     "--size", "3", "--after", body["next"]]) == 0
    page2 = json.loads(capsys.readouterr().out)
    assert not {h["doc_id"] for h in page2["hits"]} & {h["doc_id"] for h in body["hits"]}
    assert cli.main(["search", "霸道", "--table", "--sort", "uploader"]) == 0
    table = capsys.readouterr().out
    assert "霸道总裁爱上我" in table and "shown of" in table
    assert cli.main(["search", "--sort", "title"]) == 2
    assert "cannot sort" in capsys.readouterr().err


def test_cli_search_by_photo(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open_index("embedded") as index:
        same, _ = photo_index(shared_data, index)
    assert cli.main(["search", "--by-photo", str(same), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["hits"][0]["doc_id"] == "sandbox:A000370_1"
    assert cli.main(["search", "--by-photo", str(same.parent / "missing.jpg")]) == 2


def test_cli_search_on_elasticsearch(es_url: str, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LIKEWATCH_INDEX", "elasticsearch")
    monkeypatch.setenv("LIKEWATCH_ELASTICSEARCH_URL", es_url)
    index = open_index()
    index.add(DOCS)
    index.refresh()
    try:
        assert cli.main(["search", "moonlight", "--json", "--size", "100"]) == 0
        body = json.loads(capsys.readouterr().out)
        expected = sum("moonlight" in (d.title + " " + d.uploader).lower() for d in DOCS)
        assert body["total"] == expected > 0
    finally:
        assert isinstance(index, ElasticsearchIndex)
        index.drop()
        index.close()
    monkeypatch.setenv("LIKEWATCH_ELASTICSEARCH_URL", "http://127.0.0.1:9")
    assert cli.main(["search", "x"]) == 3


def test_likewatch_serve(likewatch_home: Path) -> None:
    with open_index("embedded") as index:
        index.add(DOCS)
    with Catalog.open() as catalog:
        service.add_user(catalog, "ops@example.com", role="operator")
        token, _ = service.create_token(catalog, "ops@example.com")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "likewatch.cli", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/api/search?q=vlog",
                                             headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(req) as r:
                    body = json.load(r)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "likewatch serve did not answer in 60 s"
                time.sleep(0.3)
        assert body["total"] == sum("vlog" in d.tags for d in DOCS)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_api_by_photo_filters_and_exact_total_on_both_backends(filled: CandidateIndex,
                                                                shared_data: Path) -> None:
    same, _ = photo_index(shared_data, filled)
    files = {"file": (same.name, same.read_bytes(), "image/jpeg")}
    _, wide = call(filled, "POST", "/api/search/by-photo?size=20", files=files)
    _, narrow = call(filled, "POST", "/api/search/by-photo?size=1", files=files)
    assert wide["total"] == narrow["total"] >= 1 and len(narrow["hits"]) == 1
    _, none = call(filled, "POST", "/api/search/by-photo?platform=douyin", files=files)
    _, only = call(filled, "POST", "/api/search/by-photo?platform=sandbox&q=thumb", files=files)
    assert none["total"] == 0 and only["total"] == wide["total"]
