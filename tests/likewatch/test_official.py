"""The official-account rule (likewatch/official.py) on its own; the matchers and alert
building are checked against it in tests/matchers/test_banks.py and
tests/alerts/test_alert_build.py."""

from __future__ import annotations

import pytest

from likewatch.official import (
    OfficialAccount,
    is_official_upload,
    normalise,
    parse_official_accounts,
)

STAR = [{"platform": "*", "uploader": "@StarStudio"}]


@pytest.mark.parametrize("platform, uploaders, expected", [
    ("douyin", ("StarStudio",), True),           # "*": any platform; "@" and case ignored
    ("bilibili", ("someone", "starstudio"), True),  # the uploader id may match instead
    ("douyin", (" @STARSTUDIO ",), True),
    ("douyin", ("StarStudio2",), False),         # another account
    ("douyin", ("", ""), False),
])
def test_any_platform_and_a_normalised_uploader(platform, uploaders, expected):
    assert is_official_upload(STAR, platform, *uploaders) is expected


def test_a_named_platform_covers_only_that_platform():
    accounts = [{"platform": "Douyin", "uploader": "star"}]
    assert is_official_upload(accounts, "douyin", "Star")
    assert not is_official_upload(accounts, "kuaishou", "Star")


def test_empty_platform_means_any_and_empty_uploader_means_none():
    assert parse_official_accounts([{"platform": "", "uploader": "a"},
                                    {"uploader": "b"}, {"platform": "x", "uploader": " "}]) == [
        OfficialAccount("*", "a"), OfficialAccount("*", "b")]
    assert not OfficialAccount("*", "").covers("douyin", ["", "x"])
    assert normalise(" @Ab ") == "ab" and normalise("@@a") == "@a"


def test_the_official_option_is_parsed_in_one_place():
    from likewatch.official import parse_account_arg

    assert parse_account_arg("douyin:@Star") == OfficialAccount("douyin", "@Star")
    assert parse_account_arg(":star") == parse_account_arg("*:star") == OfficialAccount("*", "star")
    for bad in ("star", "douyin:", "douyin: "):
        with pytest.raises(ValueError, match="PLATFORM:UPLOADER"):
            parse_account_arg(bad)
