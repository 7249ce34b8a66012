"""`likewatch capture`: a page served on 127.0.0.1 is recorded with every secret scrubbed."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from crawler.capture import SCRUBBED, scrub_text
from likewatch.cli import main
from tests.platforms.adapters_util import FIXTURES

SECRETS = ["abc123msTokenValue", "DFSzswVYxyzBogus", "Q7BxaBogusValue", "sess1onIdValue",
           "ttwidValue99", "csrfValue77", "SESSDATAvalue", "odinTTvalue", "acNonceValue",
           "xSignatureValue", "verifyFpValue", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"]


def _page() -> str:
    """The Douyin video fixture with secrets planted the ways real pages carry them."""
    body = (FIXTURES / "douyin" / "video.html").read_text(encoding="utf-8")
    state_secret = quote(json.dumps({"msToken": SECRETS[0], "ttwid": SECRETS[4],
                                     "url": f"https://www.douyin.com/x?a=1&X-Bogus={SECRETS[1]}"}))
    body = body.replace("%7B%221%22%3A", "%7B%22secret%22%3A" + state_secret + "%2C%221%22%3A", 1)
    planted = f"""
<a href="https://www.douyin.com/aweme/v1/web/aweme/post/?device_platform=webapp&amp;msToken={SECRETS[0]}&amp;X-Bogus={SECRETS[1]}&a_bogus={SECRETS[2]}">next</a>
<script>window.__conf = {{"sessionid": "{SECRETS[3]}", "csrf_token": "{SECRETS[5]}", "nickname": "红桃短剧场",
 "jwt": "{SECRETS[11]}"}};
document.cookie = "ttwid={SECRETS[4]}; SESSDATA={SECRETS[6]}; odin_tt={SECRETS[7]}; __ac_nonce={SECRETS[8]}";</script>
<img src="https://p3-pc-sign.douyinpic.com/a.jpeg?x-expires=1796385600&x-signature={SECRETS[9]}&from=327834062">
<input type="hidden" name="verifyFp" value="x"><script>var s = "verifyFp={SECRETS[10]}";</script>
"""
    return body.replace("</body>", planted + "</body>")


@pytest.fixture
def page_server() -> Iterator[str]:
    body = _page().encode("utf-8")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", "http://10.255.255.1/video/1")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Set-Cookie", f"sessionid={SECRETS[3]}")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_capture_scrubs_and_suggests_a_case(page_server: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    out = tmp_path / "fixtures"
    real = "https://www.douyin.com/video/7441234567890123456"
    code = main(["capture", "douyin", f"{page_server}/video/7441234567890123456?msToken=zzTOPzz",
                 "--out", str(out), "--name", "video_captured.html", "--as-url", real])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    saved = (out / "video_captured.html").read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in saved, secret
    assert saved.count(SCRUBBED) >= len(SECRETS)
    assert "红桃短剧场" in saved and "x-expires=1796385600" in saved  # the rest is intact
    # the scrubbed page still parses, and the suggested case says what it found
    assert "parse_error" not in result, result
    assert result["case"]["expected"]["item_id"] == "7441234567890123456"
    assert result["case"]["url"] == real
    source = (out / "SOURCE.md").read_text(encoding="utf-8")
    assert "video_captured.html" in source and "msToken=SCRUBBED" in source
    assert "zzTOPzz" not in source


def test_capture_refuses_loopback_unless_allowed(page_server: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", raising=False)
    out = tmp_path / "out"
    assert main(["capture", "douyin", f"{page_server}/video/1", "--out", str(out)]) == 2
    assert "allow_private_hosts" in capsys.readouterr().err
    assert not out.exists()


def test_capture_guards_redirects(page_server: str, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    assert main(["capture", "douyin", f"{page_server}/redirect", "--out", str(tmp_path)]) == 2


def test_capture_unknown_platform_is_a_user_error(tmp_path: Path) -> None:
    assert main(["capture", "nosuchsite", "https://example.com/", "--out", str(tmp_path)]) == 2


def test_scrub_keeps_public_fields() -> None:
    text = '{"signature":"my bio","token":"4qmFsgK","msToken":"x1"} ?a=1&sign=zz&b=2'
    assert scrub_text(text) == ('{"signature":"my bio","token":"4qmFsgK","msToken":"SCRUBBED"}'
                                " ?a=1&sign=SCRUBBED&b=2")


def test_committed_fixtures_hold_no_unscrubbed_secrets() -> None:
    """Every fixture is already what `capture` would write: scrubbing changes nothing."""
    changed = []
    for path in FIXTURES.rglob("*"):
        if path.suffix in (".html", ".json"):
            text = path.read_text(encoding="utf-8")
            if scrub_text(text) != text:
                changed.append(path.name)
    assert changed == [], changed
