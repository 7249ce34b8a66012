"""TikTok pages with no data at all (challenges) versus pages we cannot read (parse errors)."""

from __future__ import annotations

import pytest

from crawler.platforms.base import AdapterError, NoData
from crawler.platforms.tiktok import TikTok
from tests.platforms.adapters_util import FIXTURES

TIKTOK = "https://www.tiktok.com/@reelhouse.drama/video/7441111111111111111"


@pytest.mark.parametrize("fixture", ["video_shell.html", None])
def test_tiktok_page_without_data_is_a_challenge(fixture: str | None) -> None:
    body = (FIXTURES / "tiktok" / fixture).read_text(encoding="utf-8") if fixture else ""
    with pytest.raises(NoData):
        TikTok().parse(TIKTOK, body)


def test_tiktok_page_without_any_state_is_a_parse_error() -> None:
    with pytest.raises(AdapterError) as err:
        TikTok().parse(TIKTOK, "<html><body><div id=app></div>" + "x" * 5000 + "</body></html>")
    assert not isinstance(err.value, NoData)
