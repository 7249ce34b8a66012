"""ReelShort and DramaBox episode numbering as their pages serve it today."""

from __future__ import annotations

import json
import re

from crawler.platforms.dramabox import DramaBox
from crawler.platforms.reelshort import ReelShort
from tests.platforms.adapters_util import FIXTURES

SERIES = "https://www.reelshort.com/movie/the-substitute-bride-66b1c2d3e4f5a6b7c8d9e0f1"
BOOK = "https://www.dramaboxdb.com/movie/41000123456/the-hidden-heiress"


def _with_state(path: str, change: object) -> str:
    body = (FIXTURES / path).read_text(encoding="utf-8")
    m = re.search(r'(<script id="__NEXT_DATA__"[^>]*>)(.*?)(</script>)', body, re.S)
    assert m is not None
    state = json.loads(m.group(2))
    change(state)  # type: ignore[operator]
    return body[:m.start(2)] + json.dumps(state, ensure_ascii=False) + body[m.end(2):]


def test_reelshort_numbering_from_zero_is_shifted_to_one() -> None:
    def from_zero(state: dict) -> None:
        for ch in state["props"]["pageProps"]["data"]["online_base"]:
            ch["serial_number"] -= 1

    page = ReelShort().parse(SERIES, _with_state("reelshort/movie.html", from_zero))
    assert [i.title.rsplit(" - ", 1)[1] for i in page.items] == [
        "Episode 1", "Episode 2", "Episode 3"]


def test_reelshort_preview_is_told_by_name_or_flag() -> None:
    def flagged(state: dict) -> None:
        first = state["props"]["pageProps"]["data"]["online_base"][0]
        first.update(chapter_name="Ep 0", is_preview=1)

    page = ReelShort().parse(
        SERIES, _with_state("reelshort/full_episodes.html", flagged))
    assert [i.title.rsplit(" - ", 1)[1] for i in page.items] == [
        "Preview", "Episode 1", "Episode 2", "Episode 3"]


def test_dramabox_chapters_without_any_number_are_numbered_by_position() -> None:
    def bare(state: dict) -> None:
        for ch in state["props"]["pageProps"]["chapterList"]:
            for key in ("indexStr", "chapterName"):
                ch.pop(key, None)

    page = DramaBox().parse(BOOK, _with_state("dramabox/movie_indexstr.html", bare))
    assert [i.title for i in page.items] == [
        "The Hidden Heiress - EP 1", "The Hidden Heiress - EP 2", "The Hidden Heiress - EP 3"]
    assert all(".m3u8" in i.video_url for i in page.items)
