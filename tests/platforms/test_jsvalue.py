"""The reader of JavaScript literals pages embed (crawler/platforms/_jsvalue.py)."""

from __future__ import annotations

import pytest

from crawler.platforms._jsvalue import MAX_DEPTH, JsValueError, js_assignment


def test_function_call_binds_parameters_to_arguments() -> None:
    page = ('<script>window.__pinia=(function(a,b,c,d){a.x=1;return {r:{list:[{bvid:"BV1",'
            'title:"\\u003Cem class=\\"keyword\\"\\u003E短剧\\u003C\\u002Fem\\u003E",play:b,'
            'pay:c,tags:[d,,d],ok:!0,no:!1,gone:void 0,neg:-1.5,"quoted key":a}]}}}'
            '("video",12345,false,"x"));</script>')
    value, form = js_assignment(page, "__pinia")
    assert form == "function"
    item = value["r"]["list"][0]
    assert item == {"bvid": "BV1", "title": '<em class="keyword">短剧</em>', "play": 12345,
                    "pay": False, "tags": ["x", None, "x"], "ok": True, "no": False,
                    "gone": None, "neg": -1.5, "quoted key": "video"}


def test_a_parameter_named_like_a_string_value_is_not_confused_with_it() -> None:
    # chompjs / json5 would give the identifier a as the string "a"
    value, _ = js_assignment('__pinia=(function(a){return {x:a,y:"a"}}("bound"))', "__pinia")
    assert value == {"x": "bound", "y": "a"}


def test_wrapped_call_and_missing_arguments() -> None:
    value, form = js_assignment("window.__pinia=(function(a,b){return [a,b]})(1);", "__pinia")
    assert (value, form) == ([1, None], "function")


def test_json_and_javascript_string_forms() -> None:
    assert js_assignment('var ytInitialData = {"a": [1, 2]};', "ytInitialData") == (
        {"a": [1, 2]}, "json")
    escaped = "var ytInitialData = '\\x7b\\x22a\\x22:\\x5b1,2\\x5d\\x7d';"
    assert js_assignment(escaped, "ytInitialData") == ({"a": [1, 2]}, "string")
    assert js_assignment("window['ytInitialData'] = {\"b\": true};", "ytInitialData") == (
        {"b": True}, "json")


def test_absent_is_none_and_other_code_is_an_error() -> None:
    assert js_assignment("<html>nothing</html>", "__pinia") is None
    for code in ('__pinia=(function(a){return alert(a)}(1))',  # a call: never run
                 '__pinia=(function(){var x=1}())',  # returns nothing
                 '__pinia=(function(a){return {x:a+1}}(1))',  # an operator
                 '__pinia=document.title'):
        with pytest.raises(JsValueError):
            js_assignment(code, "__pinia")


def test_depth_is_bounded() -> None:
    deep = "__pinia=(function(){return " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "}())"
    with pytest.raises(JsValueError, match="deeply"):
        js_assignment(deep, "__pinia")
