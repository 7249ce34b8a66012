"""Each platform's complaint requirements are data with their sources and dates."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import yaml

from alerts.notices.platforms import PLATFORMS
from alerts.notices.requirements import (
    DATA_DIR,
    REQUIRED_ITEMS,
    RequirementsError,
    known_platforms,
    parse,
    requirements_for,
)


def test_every_platform_has_its_requirements_with_sources() -> None:
    assert set(known_platforms()) == set(PLATFORMS) - {"sandbox", "generic"}
    for platform in known_platforms():
        req = requirements_for(platform)
        assert req.platform == platform
        dt.date.fromisoformat(req.compiled)
        assert {r.id for r in req.requires} >= set(REQUIRED_ITEMS)
        assert any(r.packet == "user" and r.id == "identity" for r in req.requires)
        assert req.unverified("zh") and req.unverified("en")
        for source in req.sources:
            assert source.url.startswith("https://") or source.url.startswith("http://")
            assert source.dated == "undated" or dt.date.fromisoformat(source.dated)
        # The basis claimed is among the sources ("none": nothing found, the baseline).
        if req.status in ("official", "secondary"):
            assert any(s.kind == req.status for s in req.sources), platform


def test_platforms_without_a_file_get_the_civil_code_baseline() -> None:
    req = requirements_for("sandbox")
    assert req.platform == "generic" and req.status == "law"
    assert "第一千一百九十五条" in req.sources[0].title and req.sources[0].kind == "law"


def _raw(platform: str) -> dict[str, Any]:
    data = yaml.safe_load((DATA_DIR / f"{platform}.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(status="rumour"), "status 'rumour' is not one of"),
    (lambda d: d["requires"].pop(0), "requires lacks identity"),
    (lambda d: d["requires"][1].update(packet="fax"), "requires[1]: packet 'fax'"),
    (lambda d: d["sources"][0].update(kind="blog"), "sources[0]: kind 'blog'"),
    (lambda d: d["sources"][0].pop("url"), "sources[0]: 'url' must be a non-empty string"),
    (lambda d: d.update(sources=[]), "status 'secondary' needs at least one source"),
    (lambda d: d.pop("channel"), "'channel' must have 'zh' and 'en'"),
])
def test_malformed_files_are_named(change: Any, message: str) -> None:
    data = _raw("douyin")
    change(data)
    with pytest.raises(RequirementsError, match=re.escape(message)):
        parse(data, "douyin.yaml")
