"""Evidence capture with a real Chromium against a real page served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from PIL import Image

from alerts.evidence import EvidenceSubject, capture_evidence, merkle
from alerts.evidence.browser import BrowserWorker
from alerts.evidence.keys import load_public_pem
from likewatch.catalog import Catalog
from likewatch.catalog.evidence import EvidenceCapture
from likewatch.media import MediaStore
from likewatch.netguard import BlockedURL

TITLE = "霸道总裁爱上我 第1集"
UPLOADER = "盗版剪辑号"


def jpeg(color: tuple[int, int, int], size: tuple[int, int] = (64, 36)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=80)
    return buf.getvalue()


THUMB = jpeg((200, 30, 30))
VIDEO = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40
PAGE = f"""<!doctype html><html><head><meta charset="utf-8"><title>{TITLE}</title>
<style>body{{font-size:28px}} .tall{{height:2400px;background:linear-gradient(#fff,#ccf)}}</style>
</head><body><h1>{TITLE}</h1><p class="up">上传者：{UPLOADER}</p>
<img src="/thumb.jpg" width="320">
<img src="http://127.0.0.2:9/tracker.gif">
<div class="tall">肖像权 portrait rights</div><p id="end">页面底部</p>
<script id="__NEXT_DATA__" type="application/json">{{"props":{{"pageProps":{{"item":
{{"id":"v00001","title":"{TITLE}","uploader":{{"name":"{UPLOADER}"}}}}}}}}}}</script>
<script>window.__INITIAL_STATE__ = {{"video": {{"id": "v00001", "likes": 12}}}};
document.getElementById("end").textContent = "脚本渲染：已加载";</script>
</body></html>"""


class PageServer:
    """An aiohttp site on 127.0.0.1 with a content page, a thumbnail and a 'video'."""

    def __init__(self, big_video: bool = False, routes: list[tuple[str, str, Any]] | None = None
                 ) -> None:
        self.big_video = big_video
        self.routes = routes or []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        video = VIDEO * 50 if self.big_video else VIDEO

        async def page(request: web.Request) -> web.Response:
            return web.Response(text=PAGE, content_type="text/html",
                                headers={"X-Served-By": "test-origin"})

        async def thumb(request: web.Request) -> web.Response:
            return web.Response(body=THUMB, content_type="image/jpeg")

        async def mp4(request: web.Request) -> web.Response:
            return web.Response(body=video, content_type="video/mp4")

        app.router.add_get("/video/v00001", page)
        app.router.add_get("/thumb.jpg", thumb)
        app.router.add_get("/v.mp4", mp4)
        for method, path, handler in self.routes:
            app.router.add_route(method, path, handler)
        self.runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    def __enter__(self) -> PageServer:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserWorker]:
    worker = BrowserWorker()
    yield worker
    worker.close()


@pytest.fixture
def page_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[PageServer]:
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    with PageServer() as server:
        yield server


def subject(server: PageServer, **kw: object) -> EvidenceSubject:
    base = dict(alert_id="a-1", url=f"{server.base}/video/v00001", platform="sandbox",
                person_label="演示人物A", rights_holder="演示人物A", agent="星光工作室",
                uploader=UPLOADER, title=TITLE, signal="face", distance=0.31, threshold=0.5,
                thumbnail_url="/thumb.jpg", video_url="/v.mp4",
                media={"keyframe-t=1.20s.jpg": jpeg((10, 200, 10))})
    base.update(kw)
    return EvidenceSubject(**base)  # type: ignore[arg-type]


@pytest.mark.browser
def test_capture_keeps_page_media_headers_state_and_seals_them(
        page_server: PageServer, browser: BrowserWorker, likewatch_home: Path) -> None:
    store = MediaStore(likewatch_home)
    stored_sha, _ = store.put(jpeg((1, 2, 250)))
    with Catalog.open() as catalog:
        result = capture_evidence(subject(page_server, media_sha256s=[stored_sha]),
                                  catalog=catalog, browser=browser)
        with catalog.session() as s:
            row = s.query(EvidenceCapture).one()
    assert result.errors == []
    manifest_bytes = (result.directory / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    names = {f["name"]: f for f in manifest["files"]}
    assert set(names) == {"files/page.png", "files/page.html", "files/http.json",
                          "files/embedded_state.json", "files/thumbnail.jpg", "files/video.mp4",
                          f"files/media/{stored_sha}.jpg", "files/media/keyframe-t_1.20s.jpg"}
    for name, entry in names.items():
        data = (result.directory / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"]
    assert (result.directory / "files/thumbnail.jpg").read_bytes() == THUMB
    assert (result.directory / "files/video.mp4").read_bytes() == VIDEO
    html = (result.directory / "files/page.html").read_text("utf-8")
    assert TITLE in html and "脚本渲染：已加载" in html  # rendered, not just fetched
    http = json.loads((result.directory / "files/http.json").read_bytes())
    assert http["status"] == 200 and http["response_headers"]["x-served-by"] == "test-origin"
    assert http["request_headers"]["user-agent"].startswith("LikewatchBot/")
    assert http["server_addr"]["ipAddress"] == "127.0.0.1"
    assert http["blocked_subrequests"] == ["http://127.0.0.2:9/tracker.gif"]
    state = json.loads((result.directory / "files/embedded_state.json").read_bytes())
    assert state["script:__NEXT_DATA__"]["props"]["pageProps"]["item"]["title"] == TITLE
    assert state["window:__INITIAL_STATE__"] == {"video": {"id": "v00001", "likes": 12}}
    with Image.open(result.directory / "files/page.png") as shot:
        assert shot.width == 1280 and shot.height > 2400  # full page, not just the viewport
    assert manifest["captured_at"].endswith("Z") and manifest["alert"]["title"] == TITLE
    assert manifest["crawler"]["host"] and manifest["crawler"]["browser"]
    # Sealed: logged as leaf 0 under a signed tree head made with a 0600 key.
    assert result.leaf_index == 0 and row.manifest_sha256 == result.manifest_sha256
    assert result.tree_head.root_hash == merkle.leaf_hash(manifest_bytes).hex()
    pub = load_public_pem((likewatch_home / "keys/evidence-ed25519.pub.pem").read_bytes())
    assert result.tree_head.verify(pub)
    mode = stat.S_IMODE(os.stat(likewatch_home / "keys/evidence-ed25519.pem").st_mode)
    assert mode == 0o600


@pytest.mark.browser
def test_oversized_video_and_missing_media_make_a_partial_capture(
        page_server: PageServer, browser: BrowserWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWATCH_EVIDENCE_VIDEO_MAX_BYTES", "1000")
    with Catalog.open() as catalog:
        first = capture_evidence(subject(page_server, media_sha256s=["ab" * 32]),
                                 catalog=catalog, browser=browser)
        second = capture_evidence(subject(page_server, alert_id="a-2"), catalog=catalog,
                                  browser=browser)
    assert any("limit 1000" in e for e in first.errors)
    assert any("not in the media store" in e for e in first.errors)
    manifest = json.loads((first.directory / "manifest.json").read_bytes())
    assert "files/video.mp4" not in {f["name"] for f in manifest["files"]}
    assert manifest["errors"] == first.errors
    assert (second.leaf_index, second.tree_head.tree_size) == (1, 2)


def test_blocked_url_is_refused_before_any_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "")
    with pytest.raises(BlockedURL):
        capture_evidence(EvidenceSubject(alert_id="x", url="http://127.0.0.1:9/video/1"),
                         browser=None)


@pytest.mark.browser
def test_cli_capture_by_url_for_manual_use(page_server: PageServer, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from likewatch.cli import main

    url = f"{page_server.base}/video/v00001"
    assert main(["evidence", "capture", "--url", url, "--alert", "manual-1",
                 "--person", "演示人物A", "--platform", "sandbox"]) == 0
    assert "captured manual-1-" in capsys.readouterr().out
    assert main(["evidence", "export", "manual-1", "--out", str(tmp_path / "m.zip")]) == 0
    assert main(["evidence", "verify", str(tmp_path / "m.zip")]) == 0
    assert main(["notice", "manual-1", "--lang", "en"]) == 0
    assert url in capsys.readouterr().out
    assert main(["evidence", "capture", "--alert", "no-such-alert"]) == 2


@pytest.mark.browser
def test_endless_pages_are_cut_and_the_cut_is_recorded(
        page_server: PageServer, browser: BrowserWorker,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from alerts.evidence import browser as browser_module

    monkeypatch.setattr(browser_module, "MAX_SCREENSHOT_HEIGHT", 1000)
    with Catalog.open() as catalog:
        result = capture_evidence(subject(page_server, video_url="", thumbnail_url=""),
                                  catalog=catalog, browser=browser)
    with Image.open(result.directory / "files/page.png") as shot:
        assert shot.size == (1280, 1000)
    http = json.loads((result.directory / "files/http.json").read_bytes())
    assert http["notes"] and http["notes"][0].startswith("screenshot cut at 1000 px of ")
