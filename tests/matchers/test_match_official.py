"""The matchers apply the core's official-account rule (likewatch/official.py): the same
answer as alert building gives (tests/alerts/test_alert_build.py)."""

from __future__ import annotations

import numpy as np

from likewatch import official
from matchers import match
from matchers.banks import BankReference, BankSet, ReferenceBank
from matchers.signals.base import SignalValue
from tests.matchers.bank_fakes import bits_hex, fake_types


def test_the_matchers_rule_is_the_cores():
    assert match.is_official is official.is_official
    assert match.OfficialAccount is official.OfficialAccount


def test_any_platform_and_at_sign_accounts_never_match():
    rng = np.random.default_rng(7)
    a = bits_hex(rng)
    accounts = official.parse_official_accounts([{"platform": "*", "uploader": "@StarStudio"}])
    bs = BankSet([ReferenceBank("star", "studio", references=[BankReference(1, {"fbits": [a]})],
                                official_accounts=accounts)], signal_types=fake_types())
    v = [SignalValue("fbits", a)]
    for platform in ("douyin", "bilibili", "sandbox"):
        assert bs.match_values(v, platform=platform, uploader="StarStudio") == []
        assert bs.match_values(v, platform=platform, uploader="x", uploader_id="starstudio") == []
    assert [m.person for m in bs.match_values(v, platform="douyin", uploader="StarStudio2")] \
        == ["star"]
