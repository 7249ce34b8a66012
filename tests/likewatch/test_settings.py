import re
from pathlib import Path

import pytest

from likewatch import settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented_and_every_documented_one_exists():
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))
    registered = {s.name for s in settings.all_settings()}
    assert registered - documented == set(), "settings missing from docs/settings.md"
    assert documented - registered == set(), "docs/settings.md lists unknown settings"


def test_environment_beats_config_file_beats_default(tmp_path, monkeypatch):
    monkeypatch.setenv("LIKEWATCH_HOME", str(tmp_path))
    monkeypatch.delenv("LIKEWATCH_MEDIA_TIMEOUT", raising=False)
    assert settings.get("media_timeout") == 30.0
    (tmp_path / "config.yaml").write_text("media_timeout: 12.5\nallow_private_hosts: [127.0.0.1]\n")
    assert settings.get("media_timeout") == 12.5
    assert settings.get("allow_private_hosts") == ["127.0.0.1"]
    monkeypatch.setenv("LIKEWATCH_MEDIA_TIMEOUT", "3")
    assert settings.get("media_timeout") == 3.0


def test_bad_values_and_unknown_names_are_clear_errors(monkeypatch):
    monkeypatch.setenv("LIKEWATCH_MEDIA_MAX_BYTES", "lots")
    with pytest.raises(settings.SettingsError, match="LIKEWATCH_MEDIA_MAX_BYTES"):
        settings.get("media_max_bytes")
    with pytest.raises(settings.SettingsError, match="unknown setting"):
        settings.get("no_such_setting")
