"""Bilibili's shapes beyond the TESTS cases: the search page's window.__pinia as JSON, as a
function call and unreadable; the uploader's AI declaration. Sources: fixtures/bilibili/SOURCE.md."""

from __future__ import annotations

import json

from crawler.platforms.bilibili import Bilibili, BilibiliSearch
from tests.platforms.adapters_util import FIXTURES

SEARCH = "https://search.bilibili.com/all?keyword=%E6%9B%BF%E8%BA%AB%E6%96%B0%E5%A8%98"
VIDEO = "https://www.bilibili.com/video/BV1Qm4y1X7aZ/"


def _read(name: str) -> str:
    return (FIXTURES / "bilibili" / name).read_text(encoding="utf-8")


def test_function_form_gives_what_the_json_form_gives() -> None:
    as_json = BilibiliSearch().parse(SEARCH, _read("search.html"))
    as_call = BilibiliSearch().parse(SEARCH, _read("search_pinia.html"))
    assert (as_json.shape, as_call.shape) == ("pinia:json", "pinia:function")
    assert [i.to_dict() for i in as_call.items] == [i.to_dict() for i in as_json.items]
    assert as_call.next_url == as_json.next_url is not None
    assert all(i.published_at and i.uploader_id and i.tags for i in as_call.items)


def test_unreadable_state_falls_back_to_the_cards_and_says_so() -> None:
    broken = _read("search_pinia.html").replace("return {", "return {x:a+1,", 1)
    page = BilibiliSearch().parse(SEARCH, broken)
    assert page.shape == "cards"
    assert [i.item_id for i in page.items] == ["BV1Qm4y1X7aZ"]
    assert [e.kind for e in page.errors] == ["parse_error"]
    assert "__pinia" in str(page.errors[0])


def test_ai_declaration_is_the_ai_flag_and_other_declarations_are_not() -> None:
    body = _read("video.html")
    assert '"argue_info"' not in body
    assert Bilibili().parse(VIDEO, body).items[0].ai_flag is None

    def declared(msg: str) -> str | None:
        argue = json.dumps({"argue_msg": msg, "argue_type": 0, "argue_link": ""},
                           ensure_ascii=False)
        page = body.replace('"videoData":{', '"videoData":{"argue_info":' + argue + ",", 1)
        return Bilibili().parse(VIDEO, page).items[0].ai_flag

    assert declared("作者声明：该视频使用人工智能合成技术") == "argue_msg=作者声明：该视频使用人工智能合成技术"
    assert declared("作者声明：含AI生成内容") == "argue_msg=作者声明：含AI生成内容"
    assert declared("危险行为，请勿模仿") is None
    assert declared("") is None
