"""Takedown notices: every platform in both languages, PDF text (CJK) extracted and checked."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from alerts.evidence.keys import canonical_json
from alerts.evidence.log import TransparencyLog
from alerts.notices import notice_for_alert, render_pdf, render_text
from alerts.notices.platforms import PLATFORMS
from likewatch.catalog import Catalog
from likewatch.catalog.evidence import EvidenceCapture
from likewatch.cli import main

URL = "https://www.example-video.invalid/video/7312345678901234567"
MANIFEST = {
    "format": "likewatch-evidence/1", "capture_id": "a-7-20261126T010203000000Z",
    "captured_at": "2026-11-26T01:02:03.000Z", "completed_at": "2026-11-26T01:02:05.000Z",
    "alert": {"alert_id": "a-7", "url": URL, "platform": "douyin", "person": "演示人物A",
              "rights_holder": "演示人物A", "agent": "星光工作室", "uploader": "盗版剪辑号",
              "title": "霸道总裁爱上我 第1集", "published_at": "2026-11-20T08:00:00.000Z",
              "found_at": "2026-11-26T01:00:00.000Z", "signal": "face", "distance": 0.31,
              "threshold": 0.5, "extra_urls": ["https://mirror.invalid/v/1"]},
    "crawler": {"software": "likewatch"}, "page": {},
    "files": [{"name": "files/page.png", "role": "screenshot", "sha256": "ab" * 32, "size": 1},
              {"name": "files/embedded_state.json", "role": "embedded_state",
               "sha256": "cd" * 32, "size": 1}],
    "errors": [],
}


def seal_manifest(home: Path) -> tuple[str, str]:
    """Log a manifest as a capture would (no browser): returns (manifest sha256, root)."""
    data = canonical_json(MANIFEST)
    sha = hashlib.sha256(data).hexdigest()
    directory = home / "evidence" / MANIFEST["capture_id"]
    directory.mkdir(parents=True)
    (directory / "manifest.json").write_bytes(data)
    with Catalog.open() as catalog:
        index, head = TransparencyLog(catalog).append(data, sha, MANIFEST["capture_id"])
        with catalog.session() as s:
            s.add(EvidenceCapture(capture_id=MANIFEST["capture_id"], alert_id="a-7",
                                  platform="douyin", url=URL,
                                  dir=f"evidence/{MANIFEST['capture_id']}",
                                  manifest_sha256=sha, leaf_index=index))
    return sha, head.root_hash


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text layer, extracted by poppler's pdftotext (deploy/apt-packages.txt)."""
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True)
    return done.stdout.decode("utf-8")


@pytest.fixture
def sealed(likewatch_home: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setenv("LIKEWATCH_NOTICE_CONTACT_NAME", "张律师")
    monkeypatch.setenv("LIKEWATCH_NOTICE_CONTACT_EMAIL", "legal@studio.invalid")
    return seal_manifest(likewatch_home)


def test_every_platform_renders_in_both_languages(sealed: tuple[str, str]) -> None:
    sha, root = sealed
    with Catalog.open() as catalog:
        ctx = notice_for_alert(catalog, "a-7")
    assert set(PLATFORMS) >= {"bilibili", "douyin", "kuaishou", "tiktok", "youtube", "hongguo",
                              "reelshort", "dramabox", "sandbox", "generic"}
    for platform, info in PLATFORMS.items():
        zh = render_text(ctx, platform, "zh")
        en = render_text(ctx, platform, "en")
        for text in (zh, en):
            assert URL in text and "https://mirror.invalid/v/1" in text
            assert sha in text and root in text and "ab" * 32 in text
            assert "演示人物A" in text and "星光工作室" in text and "张律师" in text
            assert "legal@studio.invalid" in text and "盗版剪辑号" in text
        assert info.name_zh in zh and info.name_en in en
        assert "第一千零一十八条" in zh and "第一千零一十九条" in zh
        assert "删除、屏蔽、断开链接" in zh and "关于删除侵犯肖像权内容的通知" in zh
        assert "Articles 1018 and 1019" in en and "right of publicity" in en
        assert "remove" in en and "block" in en and "disable (disconnect) all links" in en
        assert "{{" not in zh + en and "{%" not in zh + en


@pytest.mark.parametrize(("platform", "lang"), [("douyin", "zh"), ("youtube", "en")])
def test_pdf_text_is_extracted_cjk_included(sealed: tuple[str, str], platform: str,
                                            lang: str, tmp_path: Path) -> None:
    sha, _ = sealed
    with Catalog.open() as catalog:
        ctx = notice_for_alert(catalog, "a-7")
    text = render_text(ctx, platform, lang)
    pdf = render_pdf(text, lang)
    assert pdf.startswith(b"%PDF-")
    extracted = squash(pdf_text(pdf, tmp_path))
    # Every line of the notice is in the PDF's text layer (whitespace aside), CJK included.
    for line in text.splitlines():
        assert squash(line) in extracted, line
    assert "霸道总裁爱上我第1集" in extracted and squash(sha) in extracted
    assert b"/FontFile" in pdf and b"/ToUnicode" in pdf  # an embedded font with a text map


def test_user_templates_override_per_platform_then_for_all(
        sealed: tuple[str, str], likewatch_home: Path) -> None:
    templates = likewatch_home / "templates"
    templates.mkdir()
    (templates / "bilibili.zh.txt.j2").write_text(
        '{% extends "notice.zh.txt.j2" %}{% block title %}致哔哩哔哩：肖像权侵权通知{% endblock %}',
        encoding="utf-8")
    (templates / "notice.en.txt.j2").write_text(
        "Custom notice for {{ p.name_en }}: {{ items[0].url }}\n", encoding="utf-8")
    with Catalog.open() as catalog:
        ctx = notice_for_alert(catalog, "a-7")
    assert render_text(ctx, "bilibili", "zh").startswith("致哔哩哔哩：肖像权侵权通知\n")
    assert "第一千零一十九条" in render_text(ctx, "bilibili", "zh")  # the rest is inherited
    assert render_text(ctx, "kuaishou", "zh").startswith("关于删除侵犯肖像权内容的通知")
    assert render_text(ctx, "youtube", "en") == f"Custom notice for YouTube: {URL}\n"


def test_cli_notice_text_and_pdf(sealed: tuple[str, str], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notice", "a-7", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "北京抖音科技有限公司（抖音）" in out  # the alert's own platform by default
    assert main(["notice", "a-7", "--platform", "tiktok", "--lang", "en", "--format", "pdf",
                 "--out", str(tmp_path / "n.pdf")]) == 0
    text = pdf_text((tmp_path / "n.pdf").read_bytes(), tmp_path)
    assert "TikTok" in text and "演示人物" in squash(text)
    assert main(["notice", "a-7", "--platform", "myspace"]) == 2
    assert main(["notice", "no-such-alert"]) == 2
