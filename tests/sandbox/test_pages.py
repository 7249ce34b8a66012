"""Pages and API of the sandbox, against a real server on 127.0.0.1 (faults off)."""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable

import pytest

from sandbox.server import SandboxServer
from tests.sandbox.helpers import fetch, get_json, get_text, next_data

ITEM_LINK = re.compile(r'<a class="item" href="/video/(v\d{5})"><img src="/media/thumb/(v\d{5})\.jpg"')
NEXT_LINK = re.compile(r'<a rel="next" href="(/browse\?page=\d+)">')
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def check_item(item: dict) -> None:
    assert re.fullmatch(r"v\d{5}", item["id"])
    assert item["kind"] in ("short", "episode")
    assert isinstance(item["title"], str) and item["title"]
    assert isinstance(item["description"], str)
    assert set(item["uploader"]) == {"id", "name"}
    assert all(isinstance(t, str) for t in item["tags"])
    assert ISO_Z.match(item["publishedAt"])
    assert isinstance(item["viewCount"], int)
    assert item["thumbnailUrl"] == f"/media/thumb/{item['id']}.jpg"
    assert item["videoUrl"] in (None, f"/media/video/{item['id']}.mp4")
    if item["series"] is not None:
        assert set(item["series"]) == {"id", "title", "episode"}
    assert all(set(c) == {"name", "role"} for c in item["cast"])


def test_robots(sandbox_server: SandboxServer) -> None:
    status, headers, body = fetch(sandbox_server.base_url + "/robots.txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "User-agent: *" in text and "Disallow: /private/" in text
    assert "crawl-delay" not in text.lower()
    assert fetch(sandbox_server.base_url + "/private/x")[0] == 403


def test_browse_paginates_newest_first(sandbox_server: SandboxServer) -> None:
    url: str | None = "/browse?page=1"
    seen: list[str] = []
    pages = 0
    while url:
        html = get_text(sandbox_server.base_url + url)
        links = ITEM_LINK.findall(html)
        assert all(a == b for a, b in links)
        seen += [a for a, _ in links]
        pages += 1
        nxt = NEXT_LINK.search(html)
        url = nxt.group(1) if nxt else None
        if url:
            assert len(links) == 24
    assert pages == 13 and len(seen) == 300 == len(set(seen))
    assert seen == sorted(seen, reverse=True)  # ids follow publication order
    assert fetch(sandbox_server.base_url + "/browse?page=14")[0] == 404
    assert fetch(sandbox_server.base_url + "/browse?page=x")[0] == 400


def test_detail_page_state(sandbox_server: SandboxServer) -> None:
    feed = get_json(sandbox_server.base_url + "/api/feed?limit=100")
    by_id = {it["id"]: it for it in feed["items"]}
    episode = next(it for it in feed["items"] if it["kind"] == "episode")
    with_video = next(it for it in feed["items"] if it["videoUrl"])
    for item in (episode, with_video, feed["items"][0]):
        html = get_text(sandbox_server.base_url + f"/video/{item['id']}")
        state = next_data(html)
        check_item(state)
        assert state == by_id[item["id"]]
        # The media URLs are only in the JSON state, not in the visible HTML.
        assert "/media/" not in html.replace(html[html.index("__NEXT_DATA__"):], "")
    assert fetch(sandbox_server.base_url + "/video/v99999")[0] == 404
    unpublished = f"v{sandbox_server.published_count + 1:05d}"
    assert fetch(sandbox_server.base_url + f"/video/{unpublished}")[0] == 404
    assert fetch(sandbox_server.base_url + f"/media/thumb/{unpublished}.jpg")[0] == 404


def test_search_page_has_no_results_without_javascript(sandbox_server: SandboxServer) -> None:
    q = urllib.parse.quote("霸道")
    html = get_text(sandbox_server.base_url + f"/search?q={q}")
    assert '<div id="results"></div>' in html
    assert 'class="result"' not in html and "/video/v" not in html
    api = get_json(sandbox_server.base_url + f"/api/search?q={q}")
    assert api["items"] and all("霸道" in it["title"] for it in api["items"])
    recent = get_json(sandbox_server.base_url + "/api/search?q=")["items"]
    assert len(recent) == 50 and recent[0]["id"] == f"v{sandbox_server.published_count:05d}"
    assert get_json(sandbox_server.base_url + "/api/search?q=zzzzqqq")["items"] == []


def test_feed_cursor_pagination_and_new_uploads(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.base_url + "/api/feed"
    cursor: str | None = None
    last_cursor: str | None = None
    ids: list[str] = []
    while True:
        page = get_json(base + (f"?cursor={cursor}" if cursor else ""))
        assert len(page["items"]) <= 20
        for it in page["items"]:
            check_item(it)
        ids += [it["id"] for it in page["items"]]
        if page["next_cursor"] is None:
            break
        last_cursor = cursor = page["next_cursor"]
    assert len(ids) == 300 == len(set(ids)) and ids == sorted(ids)
    times = [get_json(base + "?limit=100")["items"][i]["publishedAt"] for i in (0, 99)]
    assert times[0] < times[1]  # oldest first
    new = sandbox_server.publish_now(3)
    assert len(new) == 3
    # Resuming from the last non-null cursor reaches the new items (following cursors).
    cursor, later = last_cursor, []
    while cursor:
        page = get_json(base + f"?cursor={cursor}")
        later += [it["id"] for it in page["items"]]
        cursor = page["next_cursor"]
    assert later[-3:] == new and len(later) <= 23
    first = get_text(sandbox_server.base_url + "/browse")
    assert ITEM_LINK.findall(first)[0][0] == new[-1]  # newest first on the listing
    assert fetch(base + "?limit=101")[0] == 400
    assert fetch(base + "?cursor=garbage!")[0] == 400
    assert len(get_json(base + "?limit=100")["items"]) == 100


def test_publish_every_reveals_items_over_time(
        sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = sandbox_factory(publish_every=0.2)
    start = server.published_count
    deadline = time.monotonic() + 10
    while server.published_count < start + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.published_count >= start + 2
    html = get_text(server.base_url + "/browse")
    assert ITEM_LINK.findall(html)[0][0] == f"v{server.published_count:05d}"


def test_reserve_runs_out_cleanly(sandbox_server: SandboxServer) -> None:
    revealed = sandbox_server.publish_now(10_000)
    assert len(revealed) >= 120 and sandbox_server.reserve_count == 0
    assert sandbox_server.publish_now(1) == []
    assert fetch(sandbox_server.base_url + f"/video/{revealed[-1]}")[0] == 200


@pytest.mark.parametrize("path,ctype", [
    ("/media/thumb/v00001.jpg", "image/jpeg"),
    ("/browse", "text/html; charset=utf-8"),
    ("/api/feed", "application/json; charset=utf-8"),
])
def test_content_types(sandbox_server: SandboxServer, path: str, ctype: str) -> None:
    status, headers, body = fetch(sandbox_server.base_url + path)
    assert status == 200 and headers["Content-Type"] == ctype
    assert int(headers["Content-Length"]) == len(body)
