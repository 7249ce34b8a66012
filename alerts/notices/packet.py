"""A complaint packet: everything a platform's portrait-rights form asks for, in one folder.

    from alerts.notices.packet import build_packet
    packet = build_packet(catalog, "42", platform="douyin", out=Path("packets"))
    packet.folder, packet.zip_path

``<out>/packet-<notice number>/`` (and the same as ``.zip``) holds, per language (zh, en):

- ``notice.<lang>.pdf`` and ``.txt``: the filled notice (the text to paste into web forms);
- ``power-of-attorney.<lang>.pdf`` and ``.txt``: the template an agency has the rights holder
  sign (when an agent files);
- ``CHECKLIST.<lang>.txt``: the platform's requirements (alerts/notices/platform_requirements/)
  with their sources and dates, each marked with the file that provides it or as one the
  rights holder must add (identity papers, which Likewatch never holds);

and ``evidence-<capture>.zip``, the sealed evidence bundle (``likewatch evidence verify``
checks it offline), plus ``packet.json``: what is in the packet, with sha256 sums.

A notice must carry preliminary evidence (Civil Code art. 1195), so a packet needs a sealed
capture of the alert: without one, :class:`PacketError` says how to make it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alerts.notices.build import find_evidence, prepare_notice
from alerts.notices.outcomes import NoticeState
from alerts.notices.platforms import platform_info
from alerts.notices.render import (
    LANGS,
    NoticeContext,
    NoticeError,
    render_pdf,
    render_poa,
    render_template,
    render_text,
)
from alerts.notices.requirements import requirements_for
from likewatch.catalog import Catalog

FILES_ZH = {"notice": "侵权通知", "power_of_attorney": "授权委托书模板",
            "checklist": "核对清单", "evidence": "封存证据包（可离线核验）",
            "manifest": "材料包清单及文件哈希"}
FILES_EN = {"notice": "the notice", "power_of_attorney": "the power-of-attorney template",
            "checklist": "this checklist", "evidence": "the sealed evidence bundle (verifiable "
            "offline)", "manifest": "what is in the packet, with sha256 sums"}
COVERS_ZH = {"notice": "notice.zh.pdf / notice.zh.txt（侵权通知）",
             "power_of_attorney": "power-of-attorney.zh.pdf（授权委托书，请权利人签字）",
             "evidence": "evidence-*.zip（封存证据包）",
             "user": "由权利人自行提供（本系统不保存身份证件）"}
COVERS_EN = {"notice": "notice.en.pdf / notice.en.txt (the notice)",
             "power_of_attorney": "power-of-attorney.en.pdf (to be signed by the rights holder)",
             "evidence": "evidence-*.zip (the sealed evidence bundle)",
             "user": "the rights holder adds it (Likewatch keeps no identity papers)"}
STATUS_ZH = {"official": "平台官方说明", "secondary": "第三方说明", "law": "法律规定",
             "none": "未找到平台说明"}
KIND_ZH = {"official": "官方", "secondary": "第三方", "law": "法律"}


class PacketError(Exception):
    """A packet cannot be made for that alert (no such alert, no sealed evidence yet)."""


@dataclass
class Packet:
    folder: Path
    zip_path: Path | None
    platform: str
    notice_no: str
    notice: NoticeState | None
    files: list[str] = field(default_factory=list)


def _kind(name: str) -> str:
    for prefix, kind in (("notice.", "notice"), ("power-of-attorney.", "power_of_attorney"),
                         ("CHECKLIST.", "checklist"), ("evidence-", "evidence"),
                         ("packet.json", "manifest")):
        if name.startswith(prefix):
            return kind
    return "notice"


def build_packet(catalog: Catalog, ref: str, *, platform: str | None = None,
                 out: Path, langs: tuple[str, ...] = LANGS, make_zip: bool = True,
                 reviewer_signs: tuple[str, ...] = (), actor: str = "packet",
                 adjust: Callable[[NoticeContext, str], NoticeContext] | None = None) -> Packet:
    """Write the complaint packet of alert ``ref`` for ``platform`` under ``out``.

    ``actor``: who the notice's record names if this drafts it; ``adjust(ctx, lang)``: what
    the documents in ``lang`` say beyond the alert's own context (the review desk's form:
    the rights holder's identity, the agent, more URLs and evidence hashes)."""
    cap = find_evidence(catalog, ref)
    if cap is None:
        raise PacketError(f"no sealed evidence for {ref!r} yet: a complaint needs preliminary "
                          f"evidence; capture it first (likewatch evidence capture --alert "
                          f"{ref})")
    from alerts.evidence.bundle import export_bundle

    try:
        ctx, platform, state = prepare_notice(catalog, cap.capture_id, platform,
                                              reviewer_signs, actor=actor)
    except NoticeError as exc:
        raise PacketError(str(exc)) from None
    folder = out / ("packet-" + re.sub(r"[^\w.-]+", "_", ctx.notice_id))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    evidence = export_bundle(catalog, cap.capture_id, folder / f"evidence-{cap.capture_id}.zip")
    docs: list[Path] = []
    for lang in langs:
        said = adjust(ctx, lang) if adjust is not None else ctx
        for stem, text in (("notice", render_text(said, platform, lang)),
                           ("power-of-attorney", render_poa(said, platform, lang))):
            (folder / f"{stem}.{lang}.txt").write_text(text, encoding="utf-8")
            (folder / f"{stem}.{lang}.pdf").write_bytes(render_pdf(text, lang))
            docs += [folder / f"{stem}.{lang}.pdf", folder / f"{stem}.{lang}.txt"]
    names = sorted([p.name for p in docs] + [evidence.name, "packet.json"]
                   + [f"CHECKLIST.{lang}.txt" for lang in langs])
    req = requirements_for(platform)
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    for lang in langs:
        labels = FILES_ZH if lang == "zh" else FILES_EN
        files = [{"name": n, "zh": FILES_ZH[_kind(n)], "en": labels[_kind(n)]} for n in names]
        text = render_template([f"{platform}.checklist.{lang}.txt.j2", f"checklist.{lang}.txt.j2"],
                               {"p": platform_info(platform), "req": req, "files": files,
                                "notice_id": ctx.notice_id, "created": created,
                                "evidence_name": evidence.name, "covers_zh": COVERS_ZH,
                                "covers_en": COVERS_EN, "status_zh": STATUS_ZH,
                                "kind_zh": KIND_ZH})
        (folder / f"CHECKLIST.{lang}.txt").write_text(text, encoding="utf-8")
    manifest = {
        "format": "likewatch-complaint-packet/1", "notice": ctx.notice_id, "platform": platform,
        "alert": ctx.alert_id, "capture": cap.capture_id, "created": created,
        "languages": list(langs),
        "requirements": {"platform": req.platform, "compiled": req.compiled,
                         "status": req.status, "sources": [s.url or s.title for s in req.sources]},
        "ai": None if ctx.ai is None else {"label": ctx.ai.label, "labelled": ctx.ai.labelled,
                                           "unlabelled_ai": ctx.ai.unlabelled,
                                           "signs": [s.code for s in ctx.ai.signs]},
        "files": [{"name": n, "sha256": hashlib.sha256((folder / n).read_bytes()).hexdigest()}
                  for n in names if n != "packet.json"],
    }
    (folder / "packet.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2)
                                        + "\n", encoding="utf-8")
    zip_path = None
    if make_zip:
        zip_path = folder.with_suffix(".zip")
        tmp = zip_path.with_name(zip_path.name + ".part")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for n in names:
                zf.write(folder / n, f"{folder.name}/{n}")
        tmp.replace(zip_path)
    return Packet(folder=folder, zip_path=zip_path, platform=platform,
                  notice_no=ctx.notice_id, notice=state, files=names)
