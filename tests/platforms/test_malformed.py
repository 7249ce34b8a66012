"""Damaged pages never crash an adapter: it returns what it could parse, or raises
AdapterError (counted as parse_error) — never a KeyError, TypeError, ... that would lose the
page silently. Deterministic mutations of every fixture."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from crawler.platforms.base import AdapterError, Page
from tests.platforms.adapters_util import cases, fixture_path

MINE = {"bilibili", "bilibili_search", "douyin", "douyin_search", "kuaishou", "tiktok",
        "youtube_shorts", "youtube_shorts_tab", "hongguo", "reelshort", "dramabox",
        "yaml:sandbox"}
CASES = [c for c in cases() if c[0] in MINE]


def mutations(body: str, seed: int) -> Iterator[tuple[str, str]]:
    rng = random.Random(seed)
    for frac in (0.1, 0.5, 0.9, 0.99):
        yield f"truncated at {frac:.0%}", body[: int(len(body) * frac)]
    strings = list(re.finditer(r'"(?:[^"\\]|\\.)*"\s*:\s*("(?:[^"\\]|\\.)*"|\d+|\[|\{)', body))
    for i in range(40):
        if not strings:
            break
        m = rng.choice(strings)
        value_at = m.start(1)
        replacement = rng.choice(["null", "123", "[]", "{}", '"x"', "true", '[1,"a",null]'])
        if body[value_at] in "[{":  # replace the whole container would need parsing: wrap it
            yield f"value {i} set to {replacement}", body[:value_at] + replacement + ",\"_\":" + body[value_at:]
        else:
            yield f"value {i} set to {replacement}", body[:value_at] + replacement + body[m.end(1):]
    keys = list(re.finditer(r'"([A-Za-z_][\w.-]*)"\s*:', body))
    for i in range(15):
        if not keys:
            break
        m = rng.choice(keys)
        yield f"key {m.group(1)} renamed", body[: m.start(1)] + "zz" + body[m.start(1):]


@pytest.mark.parametrize(("name", "index", "cls", "case"), CASES,
                         ids=[f"{n}-{i}" for n, i, _c, _k in CASES])
def test_damaged_pages_fail_cleanly(name: str, index: int, cls: type, case: dict) -> None:
    body = fixture_path(cls, case).read_text(encoding="utf-8")
    crashes = []
    for what, damaged in mutations(body, seed=index + 1):
        try:
            page = cls().parse(case["url"], damaged)
        except AdapterError:
            continue
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            crashes.append(f"{what}: {type(exc).__name__}: {exc}")
            continue
        assert isinstance(page, Page)
        for item in page.items:  # what is returned is valid
            assert item.item_id and item.url and (item.thumbnail_url or item.video_url)
    assert crashes == []
