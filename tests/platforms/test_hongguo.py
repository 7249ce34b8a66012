"""Hongguo share pages: only the shared episode gets the stream; empty replies are challenges."""

from __future__ import annotations

import pytest

from crawler.platforms.base import AdapterError, NoData
from crawler.platforms.hongguo import Hongguo
from tests.platforms.adapters_util import FIXTURES

SHARE = "https://novelquickapp.com/hongguo/ug/pages/video-animation-share"


def test_share_page_without_the_shared_episode_in_its_url_gives_no_stream() -> None:
    body = (FIXTURES / "hongguo/share.html").read_text(encoding="utf-8")
    page = Hongguo().parse(SHARE + "?share_token=SCRUBBED", body)
    assert [i.video_url for i in page.items] == ["", "", ""]
    zlink = ("https%3A%2F%2Fz.example%2F%3FschemeParams%3D%257B%2522vid%2522%253A%2522"
             "7420000000000100003%2522%257D")
    page = Hongguo().parse(f"{SHARE}?zlink={zlink}", body)
    assert [bool(i.video_url) for i in page.items] == [False, False, True]


def test_empty_and_unknown_replies() -> None:
    with pytest.raises(NoData):
        Hongguo().parse(SHARE, " ")
    with pytest.raises(AdapterError) as err:
        Hongguo().parse(SHARE, '<script>window._ROUTER_DATA = {"loaderData":{}}</script>')
    assert not isinstance(err.value, NoData)
