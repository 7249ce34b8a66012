"""The desk in a real Chromium: log in, review the queue, confirm one alert and dismiss
another, see the media's provenance, download the sealed bundle (and verify it), make a
notice and the complaint packet, track the takedown, enrol from a CSV with progress; a
second tenant's user sees none of it.

Screenshots of the queue and of an alert side by side go to ``bench/out/`` (gitignored).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiohttp import web
from playwright.sync_api import Browser, Page

from alerts.evidence.adapter import capture_for_alert
from alerts.evidence.browser import BrowserWorker
from alerts.evidence.verify import verify_bundle
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.provenance import CandidateProvenance
from matchers.index import open_index
from matchers.index.sync import sync_catalog
from tests import chromium
from tests.alerts.test_evidence_capture import PAGE, PageServer
from tests.conftest import REPO, SHARED_DATA
from tests.webapp import world
from webapp.app import create_app

pytestmark = pytest.mark.browser

SHOTS = REPO / "bench" / "out"


@dataclass
class Live:
    base: str
    world: world.World
    catalog: Catalog


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _any_page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    home = tmp_path_factory.mktemp("desk-browser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIKEWATCH_HOME", str(home))
        mp.setenv("LIKEWATCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
        with PageServer(routes=[("GET", "/video/{item}", _any_page)]) as pages:
            catalog = Catalog.open()
            index = open_index("embedded")
            w = world.build(catalog, SHARED_DATA / "faces", base_url=pages.base)
            sync_catalog(catalog, index, full=True)
            worker = BrowserWorker()
            try:  # the oldest alert of A gets sealed evidence, as the alerter would do
                capture_for_alert(catalog, w.alerts[world.A][0], browser=worker)
            finally:
                worker.close()
            port = _free_port()
            server = uvicorn.Server(uvicorn.Config(
                create_app(catalog, index), host="127.0.0.1", port=port, log_config=None,
                access_log=False, lifespan="off"))
            thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
            thread.start()
            deadline = time.monotonic() + 30
            while not server.started:
                assert time.monotonic() < deadline and thread.is_alive(), "server start"
                time.sleep(0.05)
            try:
                yield Live(f"http://127.0.0.1:{port}", w, catalog)
            finally:
                server.should_exit = True
                thread.join(15)
                index.close()
                catalog.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium.launched() as b:
        yield b


def login(browser: Browser, live: Live, who: str) -> Page:
    page = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900}
                               ).new_page()
    r = page.goto(f"{live.base}/alerts")
    assert r is not None and r.status == 401  # the login form, for a page that needs one
    page.fill("input[name=email]", live.world.users[who])
    page.fill("input[name=password]", world.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#queue")
    return page


def row_status(page: Page, key: str) -> str:
    return str(page.get_attribute(f'tr[data-alert="{key}"]', "class"))


def test_review_evidence_notice_and_takedown(browser: Browser, live: Live,
                                             tmp_path: Path) -> None:
    keys = live.world.alerts[world.A]
    page = login(browser, live, "owner_a")
    rows = page.eval_on_selector_all("tr.alert-row", "els => els.map(e => e.dataset.alert)")
    assert rows == list(reversed(keys))  # newest first, A's only
    assert world.B not in page.content()
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "desk-queue.png"), full_page=True)

    # One click each: confirm the newest, dismiss the next (the queue shows open ones).
    page.click(f'tr[data-alert="{keys[2]}"] button.confirm')
    page.wait_for_selector(f'tr[data-alert="{keys[2]}"]', state="detached")
    page.click(f'tr[data-alert="{keys[1]}"] button.dismiss')
    page.wait_for_selector(f'tr[data-alert="{keys[1]}"]', state="detached")
    page.goto(f"{live.base}/alerts?tier=alert&status=")
    assert "status-confirmed" in row_status(page, keys[2])
    assert "status-dismissed" in row_status(page, keys[1])
    page.goto(f"{live.base}/alerts/{keys[2]}")
    decisions = page.inner_text("#decisions")
    assert "confirm by owner-a@example.com" in decisions

    # The alert with sealed evidence, side by side with its face crops and what its media
    # say about their origin.
    with live.catalog.session() as s:
        [alert] = s.query(Alert).filter_by(key=keys[0]).all()
        s.add(CandidateProvenance(candidate_id=alert.candidate_id, ai_label=None,
                                  platform_flag="aigc_label_type=1", media={}))
    page.goto(f"{live.base}/alerts/{keys[0]}")
    assert "aigc_label_type=1 (the platform marks it as AI)" in page.inner_text(
        "#prov-platform-flag")
    assert page.inner_text("#prov-ai-label") == "none"
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth)")
    assert page.locator("#crops img").count() >= 2
    page.locator("#side-by-side").screenshot(path=str(SHOTS / "desk-side-by-side.png"))
    page.screenshot(path=str(SHOTS / "desk-alert.png"), full_page=True)
    assert "Verified" in page.inner_text("#verification")
    with page.expect_download() as got:
        page.click("#bundle")
    bundle = tmp_path / "bundle.zip"
    got.value.save_as(bundle)
    assert verify_bundle(bundle).ok

    # The notice: fields a portrait-rights complaint needs, as a PDF.
    page.select_option("select[name=lang]", "en")
    page.fill("input[name=power_of_attorney]", "POA-2026-017, signed 2026-11-01")
    page.fill("textarea[name=urls]", f"{live.base}/video/{keys[0]}\nhttps://example.com/re-up")
    with page.expect_download() as got:
        page.click("#make-notice")
    pdf = tmp_path / "notice.pdf"
    got.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF") and got.value.suggested_filename.endswith(".pdf")
    page.reload()
    assert page.inner_text("#takedown-state") == "drafted"
    notice_no = page.inner_text("#takedown-notice")
    # The same form's second button: the complaint packet of `likewatch packet`, as a zip.
    page.fill("textarea[name=ai_signs]", "face swap visible at 0:12")
    with page.expect_download(timeout=120_000) as got:
        page.click("#make-packet")
    assert got.value.suggested_filename == f"packet-{notice_no}.zip"
    packet = tmp_path / "packet.zip"
    got.value.save_as(packet)
    with zipfile.ZipFile(packet) as zf:
        names = {n.split("/", 1)[1]: n for n in zf.namelist()}
        assert {"notice.zh.pdf", "notice.en.pdf", "power-of-attorney.zh.pdf",
                "packet.json"} <= set(names)
        evidence = [n for n in names if n.startswith("evidence-")]
        assert len(evidence) == 1
        (tmp_path / "in-packet.zip").write_bytes(zf.read(names[evidence[0]]))
        assert "face swap visible at 0:12" in zf.read(names["notice.en.txt"]).decode()
    assert verify_bundle(tmp_path / "in-packet.zip").ok
    page.reload()
    page.select_option("#takedown select[name=state]", "filed")
    page.fill("#takedown input[name=note]", "filed via the platform form")
    page.click("#takedown button[type=submit]")
    page.wait_for_selector("#takedown-state")
    assert page.inner_text("#takedown-state") == "filed"
    page.goto(f"{live.base}/takedowns")
    assert "sandbox" in page.inner_text("#takedown-stats")


def test_enrol_from_a_csv_with_progress(browser: Browser, live: Live, tmp_path: Path) -> None:
    page = login(browser, live, "owner_a")
    page.goto(f"{live.base}/persons/enrol")
    csv = tmp_path / "roster.csv"
    csv.write_text("person,photo,name,aliases\nnew-p,D000168_1.jpg,新人,小新|Xin\n",
                   encoding="utf-8")
    page.set_input_files("input[name=photos]", [str(SHARED_DATA / "faces" / "D000168_1.jpg")])
    page.set_input_files("input[name=csv]", [str(csv)])
    page.click("#enrol button[type=submit]")
    page.wait_for_function("() => document.getElementById('enrol-status').textContent"
                           ".startsWith('Done')", timeout=60_000)
    assert "1 of 1" in page.inner_text("#enrol-status")
    assert page.get_attribute("#enrol-progress", "value") == "1"
    page.goto(f"{live.base}/persons")
    roster = page.inner_text("#roster")
    assert "新人" in roster and "小新, Xin" in roster


def test_a_second_tenant_sees_none_of_it(browser: Browser, live: Live) -> None:
    page = login(browser, live, "owner_b")
    rows = page.eval_on_selector_all("tr.alert-row", "els => els.map(e => e.dataset.alert)")
    assert rows == list(reversed(live.world.alerts[world.B]))
    text = page.content()
    assert world.A not in text and "演示人物A" not in text
    a_key = live.world.alerts[world.A][0]
    for path in (f"/alerts/{a_key}", f"/media/alerts/{a_key}/reference",
                 f"/api/alerts/{a_key}/evidence/bundle", f"/persons/{live.world.persons[world.A]}"):
        r: Any = page.goto(live.base + path)
        assert r is not None and r.status == 404, path
    page.goto(f"{live.base}/persons")
    assert "demo-a" not in page.content() and "new-p" not in page.content()
