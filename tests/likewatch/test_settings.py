import re
from pathlib import Path

import pytest

from likewatch import settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented_and_every_documented_one_exists():
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))
    registered = {s.name for s in settings.all_settings()}
    assert registered - documented == set(), "settings missing from docs/settings.md"
    assert documented - registered == set(), "docs/settings.md lists unknown settings"


def test_environment_beats_config_file_beats_default(tmp_path, monkeypatch):
    monkeypatch.setenv("LIKEWATCH_HOME", str(tmp_path))
    monkeypatch.delenv("LIKEWATCH_MEDIA_TIMEOUT", raising=False)
    assert settings.get("media_timeout") == 30.0
    (tmp_path / "config.yaml").write_text("media_timeout: 12.5\nallow_private_hosts: [127.0.0.1]\n")
    assert settings.get("media_timeout") == 30.0  # config.yaml was read once already
    settings.reload()
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


def test_config_yaml_is_parsed_once_per_process_and_home(tmp_path, monkeypatch):
    """settings.get() does not re-read the file; update_config() and reload() do."""
    import yaml

    monkeypatch.setenv("LIKEWATCH_HOME", str(tmp_path))
    settings.update_config({"media_timeout": 7.0, "allow_private_hosts": ["10.0.0.1"]})
    reads = []
    real = yaml.safe_load
    monkeypatch.setattr(yaml, "safe_load", lambda text: reads.append(1) or real(text))
    settings.reload()
    for _ in range(50):
        assert settings.get("media_timeout") == 7.0
    assert len(reads) == 1
    settings.update_config({"allow_private_hosts": ["127.0.0.1"]})  # lists merge
    assert settings.get("allow_private_hosts") == ["10.0.0.1", "127.0.0.1"]
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("LIKEWATCH_HOME", str(other))  # another home: its own (absent) file
    assert settings.get("media_timeout") == 30.0


def _variables_outside_the_registry() -> set[str]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Variables outside the registry", 1)[1]
    return set(re.findall(r"^\| `(LIKEWATCH_[A-Z0-9_]+)` \|", section, re.M))


def test_every_likewatch_variable_the_code_reads_is_declared():
    """No knob read but declared nowhere: each LIKEWATCH_* name in the code, the tests,
    the benchmarks and deploy/ is a setting's variable or documented as outside the
    registry (docs/settings.md)."""
    root = DOCS.parents[1]
    known = {s.env_var for s in settings.all_settings()} | _variables_outside_the_registry()
    used: dict[str, str] = {}
    for folder in ("likewatch", "crawler", "matchers", "alerts", "scheduler", "webapp",
                   "sandbox", "demo", "bench", "tests", "deploy"):
        for path in (root / folder).rglob("*"):
            if (not path.is_file() or "deploy/es/" in path.as_posix()
                    or path.suffix in {".pyc", ".so", ".jpg", ".png", ".mp4", ".zip", ".gz"}):
                continue
            text = path.read_text(encoding="utf-8", errors="ignore")
            for name in re.findall(r"LIKEWATCH_[A-Z0-9_]*[A-Z0-9]", text):
                used.setdefault(name, str(path.relative_to(root)))
    assert {n: p for n, p in used.items() if n not in known} == {}
    assert "LIKEWATCH_HOME" in used and "LIKEWATCH_RETRY_BACKOFF_BASE" in used


def test_an_unknown_key_in_config_yaml_is_an_error_naming_the_closest_setting(
        tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("LIKEWATCH_HOME", str(tmp_path))
    (tmp_path / "config.yaml").write_text("media_timout: 3\nlog_level: INFO\n")
    settings.reload()
    with pytest.raises(settings.SettingsError,
                       match=r"unknown setting 'media_timout'; did you mean 'media_timeout'\?"):
        settings.get("log_level")  # any read: the file is checked as a whole
    (tmp_path / "config.yaml").write_text("qqqzzz: 1\n")
    settings.reload()
    with pytest.raises(settings.SettingsError, match=r"unknown setting 'qqqzzz'; `likewatch "):
        settings.get("log_level")
    # the command says so on one line and exits 2, whatever it was asked to do
    out = subprocess.run([sys.executable, "-m", "likewatch.cli", "status"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"likewatch: error: {tmp_path / 'config.yaml'}: unknown setting 'qqqzzz'; "
        "`likewatch settings` lists them"]
    (tmp_path / "config.yaml").write_text("media_timeout: [\n")
    settings.reload()
    with pytest.raises(settings.SettingsError, match="not valid YAML"):
        settings.get("media_timeout")
    (tmp_path / "config.yaml").write_text("media_timeout: 3\n")  # a known key: fine
    settings.reload()
    assert settings.get("media_timeout") == 3.0
