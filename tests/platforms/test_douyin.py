"""Douyin's shapes beyond the TESTS cases: API replies (aweme_list, aweme_detail), empty
replies, hidden play counts, the AI label. Fixtures and sources: fixtures/douyin/SOURCE.md."""

from __future__ import annotations

import copy
import json

import pytest

from crawler.platforms.base import AdapterError, NoData
from crawler.platforms.douyin import Douyin, aweme_item
from tests.platforms.adapters_util import FIXTURES

USER = "https://www.douyin.com/user/MS4wLjABAAAA6WE7fY9NIUpQl9-9yGi1fzAjr6YkYR6DFehHdkn0wSrOz7wamcz-PUiXiFRcUYB7"
API = ("https://www.douyin.com/aweme/v1/web/aweme/post/?device_platform=webapp&aid=6383"
       "&sec_user_id=MS4wLjABAAAA6WE7fY9NIUpQl9&max_cursor=0&count=18")


def _aweme_list() -> dict:
    return json.loads((FIXTURES / "douyin/aweme_list.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("url", [USER, API])
def test_douyin_api_reply_gives_every_item_with_its_cover(url: str) -> None:
    """Real aweme_list replies gave 0 items (parse() only looked for awemeId) and, item by
    item, empty thumbnails (video.cover is {uri, url_list})."""
    reply = _aweme_list()
    page = Douyin().parse(url, json.dumps(reply, ensure_ascii=False))
    assert page.shape == "aweme_list"
    assert [i.item_id for i in page.items] == [a["aweme_id"] for a in reply["aweme_list"]]
    for item, aweme in zip(page.items, reply["aweme_list"], strict=True):
        assert item.thumbnail_url == aweme["video"]["origin_cover"]["url_list"][0]
        assert item.video_url == aweme["video"]["play_addr"]["url_list"][0]
    assert page.errors == []


def test_douyin_cover_object_without_origin_cover() -> None:
    aweme = _aweme_list()["aweme_list"][1]
    del aweme["video"]["origin_cover"]
    assert aweme_item("douyin", aweme).thumbnail_url == aweme["video"]["cover"]["url_list"][0]


def test_douyin_hidden_play_count_is_unknown_not_zero() -> None:
    aweme = _aweme_list()["aweme_list"][0]
    assert aweme["statistics"]["play_count"] == 0
    assert aweme_item("douyin", aweme).view_count is None
    shown = copy.deepcopy(aweme)
    shown["statistics"]["play_count"] = 5120
    assert aweme_item("douyin", shown).view_count == 5120


def test_douyin_ai_label() -> None:
    aweme = _aweme_list()["aweme_list"][0]
    assert aweme_item("douyin", aweme).ai_flag is None  # the 2022 reply has no aigc_info
    for label in (0, 1, 2):
        labelled = {**aweme, "aigc_info": {"aigc_label_type": label, "created_by_ai": False}}
        assert aweme_item("douyin", labelled).ai_flag == f"aigc_label_type={label}"


@pytest.mark.parametrize("body", ["", "  \n", '{"status_code": 0, "aweme_list": null}',
                                  '{"status_code": 0, "aweme_detail": null}'])
def test_douyin_reply_without_data_is_a_challenge(body: str) -> None:
    with pytest.raises(NoData) as err:
        Douyin().parse(API, body)
    assert err.value.kind == "challenged"


@pytest.mark.parametrize("body", ['{"status_code": 0, "data": []}', '[1, 2]', '{"aweme_list": 3}'])
def test_douyin_reply_of_unknown_shape_is_a_parse_error(body: str) -> None:
    with pytest.raises(AdapterError) as err:
        Douyin().parse(API, body)
    assert not isinstance(err.value, NoData) and err.value.kind == "parse_error"


def test_douyin_empty_list_is_an_empty_page_not_an_error() -> None:
    page = Douyin().parse(API, '{"status_code": 0, "aweme_list": [], "has_more": 0}')
    assert page.items == [] and page.errors == [] and page.shape == "aweme_list"
