"""YouTube Shorts: the largest thumbnail of every list a page gives, and the reel sequence."""

from __future__ import annotations

import json
import re

from crawler.platforms.youtube_shorts import YoutubeShorts, YoutubeShortsTab
from tests.platforms.adapters_util import FIXTURES

SHORT = "https://www.youtube.com/shorts/Ab3dEf6hIj0"


def _sqp(width: int, height: int) -> dict:
    return {"url": f"https://i.ytimg.com/vi/Ab3dEf6hIj0/hqdefault.jpg?sqp=-oaymwE{width}&rs=AOn4",
            "width": width, "height": height}


def test_short_takes_the_480x360_of_the_microformat_over_videodetails_336x188() -> None:
    """As real player responses of shorts have it: videoDetails lists 168×94 … 336×188, the
    microformat the 480×360 hqdefault."""
    body = (FIXTURES / "youtube_shorts/short.html").read_text(encoding="utf-8")
    start = body.index("{", body.index("ytInitialPlayerResponse"))
    player, end = json.JSONDecoder().raw_decode(body, start)
    player["videoDetails"]["thumbnail"]["thumbnails"] = [
        _sqp(168, 94), _sqp(196, 110), _sqp(246, 138), _sqp(336, 188)]
    player["microformat"]["playerMicroformatRenderer"]["thumbnail"]["thumbnails"] = [
        {"url": "https://i.ytimg.com/vi/Ab3dEf6hIj0/hqdefault.jpg", "width": 480, "height": 360}]
    body = body[:start] + json.dumps(player) + body[end:]
    item = YoutubeShorts().parse(SHORT, body).items[0]
    assert item.thumbnail_url == "https://i.ytimg.com/vi/Ab3dEf6hIj0/hqdefault.jpg"


def test_tab_takes_the_largest_source() -> None:
    body = (FIXTURES / "youtube_shorts/channel_shorts.html").read_text(encoding="utf-8")
    small = '{"url":"https://i.ytimg.com/vi/Ab3dEf6hIj0/small.jpg","width":336,"height":188},'
    body, n = re.subn(r'("sources":\[)(\{"url":"https://i\.ytimg\.com/vi/Ab3dEf6hIj0/)',
                      lambda m: m.group(1) + small + m.group(2), body, count=1)
    assert n == 1
    page = YoutubeShortsTab().parse("https://www.youtube.com/@ReelHouseDrama/shorts", body)
    assert page.items[0].item_id == "Ab3dEf6hIj0"
    assert "small.jpg" not in page.items[0].thumbnail_url


def test_sequence_alone_still_gives_the_short() -> None:
    body = (FIXTURES / "youtube_shorts/short_mweb.html").read_text(encoding="utf-8")
    body = re.sub(r"<script[^>]*>var ytInitialData = .*?</script>", "", body, flags=re.S)
    page = YoutubeShorts().parse("https://m.youtube.com/shorts/Qq1wWe2rRt3", body)
    assert page.shape == "reel_sequence"
    assert [i.item_id for i in page.items] == ["Qq1wWe2rRt3", "Ab3dEf6hIj0", "Zz9yXx8wVv7"]
    assert page.items[0].thumbnail_url == "https://i.ytimg.com/vi/Qq1wWe2rRt3/frame0.jpg"
