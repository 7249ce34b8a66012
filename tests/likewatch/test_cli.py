import subprocess
import sys


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "likewatch.cli", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_settings_lists_every_setting():
    out = run("settings")
    assert out.returncode == 0, out.stderr
    assert "allow_private_hosts" in out.stdout and "catalog_url" in out.stdout


def test_bad_setting_value_is_a_user_error_exit_2(monkeypatch):
    import os

    env = dict(os.environ, LIKEWATCH_MEDIA_MAX_BYTES="lots")
    out = run("settings", env=env)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("likewatch: error:")
    assert len(out.stderr.strip().splitlines()) == 1
