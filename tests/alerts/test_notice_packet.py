"""Notices name the AI-labelling violation; a complaint packet for every platform."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from alerts.evidence.adapter import subject_for_alert
from alerts.evidence.keys import canonical_json
from alerts.evidence.log import TransparencyLog
from alerts.evidence.verify import verify_bundle
from alerts.notices import render_text
from alerts.notices.build import prepare_notice
from alerts.notices.outcomes import list_notices
from alerts.notices.packet import PacketError, build_packet
from alerts.notices.platforms import PLATFORMS
from alerts.notices.requirements import requirements_for
from likewatch.catalog import Catalog
from likewatch.catalog.evidence import EvidenceCapture
from likewatch.cli import main
from tests.alerts.notice_world import make_alert

UNLABELLED_AI = {"ai_label": None, "c2pa_signer": "Gen Signer", "c2pa_ai": True,
                 "platform_flag": "aigc_label_type=1",
                 "media": {"thumbnail": {"ai_label": None, "label": None}}}
LABELLED = {"ai_label": "1", "producer": "001191110108MA01KP2T5U00000",
            "media": {"video": {"ai_label": "1", "label": {
                "carrier": "mp4/udta-meta-AIGC", "produce_id": "vid-42"}}}}
CHECKED_PLAIN = {"ai_label": None, "media": {"thumbnail": {"ai_label": None, "label": None}}}
PLATFORM_KEYS = ["douyin", "kuaishou", "bilibili", "hongguo", "tiktok", "youtube", "reelshort",
                 "dramabox"]


def seal(catalog: Catalog, alert_id: int) -> str:
    """Seal a capture of the alert as the capture step would (page files written here, no
    browser); returns the capture id."""
    record = subject_for_alert(catalog, alert_id).alert_record()
    capture_id = f"{alert_id}-20261201T010203000000Z"
    directory = catalog.home / "evidence" / capture_id
    (directory / "files").mkdir(parents=True)
    png = io.BytesIO()
    Image.new("RGB", (32, 24), "white").save(png, "PNG")
    files = {"files/page.png": ("screenshot", png.getvalue()),
             "files/page.html": ("rendered_html", "<html>演示</html>".encode())}
    entries = []
    for name, (role, data) in files.items():
        (directory / name).write_bytes(data)
        entries.append({"name": name, "role": role, "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data), "content_type": ""})
    manifest = {"format": "likewatch-evidence/1", "capture_id": capture_id,
                "captured_at": "2026-12-01T01:02:03.000Z",
                "completed_at": "2026-12-01T01:02:05.000Z", "alert": record,
                "crawler": {"software": "likewatch"}, "page": {}, "files": entries,
                "errors": []}
    data = canonical_json(manifest)
    sha = hashlib.sha256(data).hexdigest()
    (directory / "manifest.json").write_bytes(data)
    index, _ = TransparencyLog(catalog).append(data, sha, capture_id)
    with catalog.session() as s:
        s.add(EvidenceCapture(capture_id=capture_id, alert_id=str(alert_id),
                              platform=record["platform"], url=record["url"],
                              dir=f"evidence/{capture_id}", manifest_sha256=sha,
                              leaf_index=index))
    return capture_id


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True)
    return "".join(done.stdout.decode("utf-8").split())


def test_unlabelled_ai_notice_names_both_violations() -> None:
    """Acceptance: a notice for an alert on unlabelled AI content names both violations."""
    cat = Catalog.open()
    ai = make_alert(cat, "ai1", provenance=UNLABELLED_AI)
    ctx, platform, state = prepare_notice(cat, str(ai))
    assert platform == "douyin" and state is not None and state.state == "drafted"
    zh, en = render_text(ctx, platform, "zh"), render_text(ctx, platform, "en")
    assert "第一千零一十九条" in zh and "侵犯了其肖像权" in zh  # the portrait right
    assert "《人工智能生成合成内容标识办法》第五条、第十条" in zh  # the labelling measures
    assert "GB 45438-2025" in zh and "C2PA 内容凭证声明为 AI 生成（签名者 Gen Signer）" in zh
    assert "平台自身标注为 AI 内容（aigc_label_type=1）" in zh
    assert "Articles 1018 and 1019" in en
    assert "Measures for Labelling AI-Generated Synthetic Content (Articles 5 and 10" in en
    assert "a second violation, separate from the infringement of the likeness" in en
    # Control: media checked, the platform says "not AI": the portrait right only.
    plain = make_alert(cat, "plain1", provenance={**CHECKED_PLAIN,
                                                  "platform_flag": "aigc_label_type=0"})
    zh_plain = render_text(prepare_notice(cat, str(plain))[0], "douyin", "zh")
    assert "第一千零一十九条" in zh_plain and "标识办法" not in zh_plain
    assert "未发现隐式标识" in zh_plain  # what was checked is still said
    # A reviewer's sign alone (media never checked) is enough, and the title's own words.
    seen = make_alert(cat, "seen1", title="AI换脸 霸道总裁 第3集")
    ctx_seen = prepare_notice(cat, str(seen), reviewer_signs=("换脸痕迹见 0:12",))[0]
    zh_seen = render_text(ctx_seen, "douyin", "zh")
    assert "审核人员记录：换脸痕迹见 0:12" in zh_seen and "发布者在标题/简介/标签中自称（AI换脸）" in zh_seen
    assert "第十条" in zh_seen


def test_labelled_notice_says_the_label_admits_generation() -> None:
    cat = Catalog.open()
    ctx = prepare_notice(cat, str(make_alert(cat, "lab1", provenance=LABELLED)))[0]
    zh, en = render_text(ctx, "kuaishou", "zh"), render_text(ctx, "kuaishou", "en")
    assert "Label 为 1（属于人工智能生成合成内容）" in zh and "内容制作编号 vid-42" in zh
    assert "该标识是内容制作方自己作出的声明" in zh and "以信息技术手段伪造" in zh
    assert "标识办法》第五条" not in zh  # labelled: not the unlabelled violation
    assert "it admits that the likeness of 演示人物A in it was forged" in en
    assert "implicit label Label=1 in mp4/udta-meta-AIGC" in en


@pytest.mark.slow
def test_a_packet_for_every_platform(tmp_path: Path) -> None:
    """Acceptance: a complaint packet for each platform, zh and en, verifiable evidence."""
    cat = Catalog.open()
    alert = make_alert(cat, "pk1", provenance=UNLABELLED_AI)
    capture = seal(cat, alert)
    assert set(PLATFORM_KEYS) <= set(PLATFORMS)
    # Both languages for two platforms, one each for the others: a CJK PDF takes ~1-2 s
    # (font subsetting), and every language goes through the same code.
    langs_of = {p: ("zh", "en") if p in ("douyin", "youtube") else (("zh",) if i % 2 else ("en",))
                for i, p in enumerate(PLATFORM_KEYS)}
    for platform in PLATFORM_KEYS:
        langs = langs_of[platform]
        packet = build_packet(cat, str(alert), platform=platform, out=tmp_path, langs=langs)
        names = set(packet.files)
        for lang in ("zh", "en"):
            docs = {f"notice.{lang}.pdf", f"notice.{lang}.txt", f"power-of-attorney.{lang}.pdf",
                    f"power-of-attorney.{lang}.txt", f"CHECKLIST.{lang}.txt"}
            assert docs <= names if lang in langs else not docs & names
        assert f"evidence-{capture}.zip" in names and "packet.json" in names
        assert verify_bundle(packet.folder / f"evidence-{capture}.zip").ok
        manifest = json.loads((packet.folder / "packet.json").read_text("utf-8"))
        for f in manifest["files"]:
            data = (packet.folder / f["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == f["sha256"], f["name"]
        assert manifest["ai"]["unlabelled_ai"] is True and manifest["platform"] == platform
        assert packet.zip_path is not None
        with zipfile.ZipFile(packet.zip_path) as zf:
            assert {n.split("/", 1)[1] for n in zf.namelist()} == names
        req = requirements_for(platform)
        if "zh" in langs:
            notice_zh = pdf_text(packet.folder / "notice.zh.pdf")
            assert packet.notice_no in notice_zh and "人工智能生成合成内容标识办法" in notice_zh
            assert "第一千零一十九条" in notice_zh
            poa = pdf_text(packet.folder / "power-of-attorney.zh.pdf")
            assert "授权委托书" in poa and "星光工作室" in poa
            assert PLATFORMS[platform].name_zh in poa
            checklist_zh = (packet.folder / "CHECKLIST.zh.txt").read_text("utf-8")
            assert all(r.zh in checklist_zh for r in req.requires)
            assert ("[需自备]" in checklist_zh) == any(r.packet == "user" for r in req.requires)
        if "en" in langs:
            notice_en = pdf_text(packet.folder / "notice.en.pdf")
            assert "Articles1018and1019" in notice_en and "MeasuresforLabelling" in notice_en
            assert "PowerofAttorney" in pdf_text(packet.folder / "power-of-attorney.en.pdf")
            checklist = (packet.folder / "CHECKLIST.en.txt").read_text("utf-8")
            assert req.compiled in checklist and req.channel("en") in checklist
            for r in req.requires:
                assert r.en in checklist, (platform, r.id)
            for source in req.sources:
                assert source.title in checklist and source.url in checklist
            assert ("[YOU ADD]" in checklist) == any(r.packet == "user" for r in req.requires)
    notices = list_notices(cat)
    assert sorted(n.platform for n in notices) == sorted(PLATFORM_KEYS)
    assert {n.state for n in notices} == {"drafted"}


def test_packet_needs_sealed_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = Catalog.open()
    alert = make_alert(cat, "noev")
    out = tmp_path / "packets"
    with pytest.raises(PacketError, match="no sealed evidence"):
        build_packet(cat, str(alert), out=out)
    assert main(["packet", str(alert), "--out", str(out)]) == 2
    assert "capture it first" in capsys.readouterr().err
    assert main(["packet", "no-such-alert", "--out", str(out)]) == 2
    assert not out.exists()


def test_cli_packet_one_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = Catalog.open()
    alert = make_alert(cat, "cli1", platform="bilibili", provenance=LABELLED)
    seal(cat, alert)
    key = "lw_星光工作室_cli1"  # the alert's key works as well as its id
    assert main(["packet", key, "--lang", "zh", "--out", str(tmp_path), "--no-zip"]) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert folder.is_dir() and not folder.with_suffix(".zip").exists()
    names = {p.name for p in folder.iterdir()}
    assert "notice.zh.pdf" in names and "notice.en.pdf" not in names
    assert "以信息技术手段伪造" in (folder / "notice.zh.txt").read_text("utf-8")
    assert main(["notices", "--json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["platform"] == "bilibili" and row["notice"] in folder.name


@pytest.mark.parametrize(("flag", "says_ai"), [
    ("aigc_label_type=1", True), ("aigc_label_type=2", True), ("IsAigc=true", True),
    ("argue_msg=作者声明：该视频使用人工智能合成技术", True), ("aigc_label_type=0", False),
    ("IsAigc=false", False), ("aigcLabelType=", False), (None, False),
])
def test_platform_flags_as_the_adapters_give_them(flag: str | None, says_ai: bool) -> None:
    from alerts.notices.ai import platform_says_ai

    assert platform_says_ai(flag) is says_ai
