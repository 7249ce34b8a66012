"""Scenarios the sandbox plays while serving (sandbox/scenarios.py): an item taken down
answers 404 and leaves listings, search and the feed; a re-upload is a re-encoded copy
under a new id, served from memory."""

from __future__ import annotations

import io

import av
import numpy as np
from PIL import Image

from sandbox.scenarios import person_item, reupload
from sandbox.server import SandboxServer
from tests.sandbox.helpers import fetch, get_json


def _feed_ids(server: SandboxServer) -> list[str]:
    ids, cursor = [], None
    while True:
        page = get_json(server.base_url + "/api/feed?limit=50"
                        + (f"&cursor={cursor}" if cursor else ""))
        ids += [it["id"] for it in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_a_taken_down_item_is_gone_and_its_reupload_is_a_reencoded_copy(
        sandbox_server: SandboxServer) -> None:
    base = sandbox_server.base_url
    original = next(it for it in sandbox_server.published() if it["videoUrl"]
                    and sandbox_server.catalogue.truth[it["id"]]["person"] == "demo-a")
    item = original["id"]
    assert fetch(base + original["thumbnailUrl"])[0] == 200
    before = _feed_ids(sandbox_server)
    assert item in before

    sandbox_server.take_down(item)
    assert fetch(base + original["thumbnailUrl"])[0] == 404
    after = _feed_ids(sandbox_server)
    assert item not in after and after == [i for i in before if i != item]
    assert item not in {it["id"] for it in sandbox_server.search(original["title"])}

    copy = reupload(sandbox_server, item)
    assert copy != item and copy in _feed_ids(sandbox_server)
    served = next(it for it in sandbox_server.published() if it["id"] == copy)
    assert served["uploader"]["id"] != original["uploader"]["id"]
    status, _, body = fetch(base + served["thumbnailUrl"])
    assert status == 200
    thumb = sandbox_server.media_bytes(item, "thumb")
    assert thumb is not None and body != thumb  # re-encoded, not the same bytes
    with Image.open(io.BytesIO(body)) as new, Image.open(io.BytesIO(thumb)) as old:
        assert new.size == (round(old.width * 0.97), round(old.height * 0.97))
        small = [np.asarray(im.convert("L").resize((64, 36)), dtype=np.float32)
                 for im in (new, old)]
        assert float(np.abs(small[0] - small[1]).mean()) < 8  # the same picture
    status, _, clip = fetch(base + served["videoUrl"])  # the clip, decoded and encoded again
    assert status == 200 and clip != sandbox_server.media_bytes(item, "video")
    with av.open(io.BytesIO(clip)) as c:
        stream = c.streams.video[0]
        assert (stream.width, stream.height) == (600, 338)
        assert sum(1 for _ in c.decode(stream)) > 10


def test_person_item_finds_a_thumbnail_of_the_person(sandbox_server: SandboxServer) -> None:
    item = person_item(sandbox_server, "demo-a")
    assert sandbox_server.catalogue.truth[item]["person"] == "demo-a"
    assert sandbox_server.catalogue.truth[item]["in_thumbnail"]
