"""Fill a takedown notice (Chinese or English) for one alert, as text or PDF.

Templates are Jinja2 files named ``<platform>.<lang>.txt.j2`` or ``notice.<lang>.txt.j2``,
looked up first in ``$LIKEWATCH_HOME/templates/`` (the user's edited copies), then in
``alerts/notices/templates/``. The most specific name wins, so a user can change the notice
for one platform or for all. The PDF is the same text set in Noto Sans CJK (embedded, subset).
"""

from __future__ import annotations

import datetime as dt
import glob
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from alerts.notices.ai import AiFinding
from alerts.notices.platforms import platform_info
from likewatch import settings

LANGS = ("zh", "en")
PACKAGE_TEMPLATES = Path(__file__).parent / "templates"
# Noto Sans CJK ships as TrueType collections in Debian's fonts-noto-cjk; index 2 is the
# Simplified Chinese face (0 JP, 1 KR, 2 SC, 3 TC, 4 HK).
CJK_FONT_CANDIDATES = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
]


class NoticeError(Exception):
    """A notice cannot be made (unknown language, missing template or font)."""


@dataclass
class NoticeItem:
    url: str
    title: str = ""
    uploader: str = ""
    published_at: str | None = None
    found_at: str | None = None


@dataclass
class NoticeContext:
    """Everything a notice template may use."""

    notice_id: str
    rights_holder: str
    person: str
    items: list[NoticeItem]
    platform: str = "generic"
    agent: str = ""
    evidence: dict[str, Any] | None = None
    match: dict[str, Any] = field(default_factory=dict)
    date: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).date().isoformat())
    alert_id: str = ""  # the alert's id as the evidence records it
    ai: AiFinding | None = None  # what the notice says about AI generation (ai.py)

    def variables(self, lang: str) -> dict[str, Any]:
        contact = {k: settings.get(f"notice_contact_{k}")
                   for k in ("name", "email", "phone", "address")}
        unnamed = "权利人" if lang == "zh" else "the rights holder"
        blank = "（请填写）" if lang == "zh" else "(to be completed)"
        return {"notice_id": self.notice_id, "date": self.date, "lang": lang,
                "p": platform_info(self.platform), "rights_holder": self.rights_holder or blank,
                "person": self.person or self.rights_holder or unnamed, "agent": self.agent,
                "contact": contact, "items": self.items, "evidence": self.evidence,
                "match": {"signal": "", "distance": None, "threshold": None, **self.match},
                "ai": self.ai}


def context_from_manifest(manifest: dict[str, Any], tree_head: dict[str, Any] | None,
                          manifest_sha256: str, leaf_index: int | None) -> NoticeContext:
    """A notice context from a sealed evidence manifest (and its capture tree head)."""
    alert = manifest["alert"]
    urls = [alert["url"], *alert.get("extra_urls", [])]
    items = [NoticeItem(url=urls[0], title=alert.get("title", ""),
                        uploader=alert.get("uploader", ""),
                        published_at=alert.get("published_at"), found_at=alert.get("found_at"))]
    items += [NoticeItem(url=u) for u in urls[1:]]
    main_roles = {"screenshot", "rendered_html", "video", "thumbnail"}
    evidence = {
        "capture_id": manifest["capture_id"], "captured_at": manifest["captured_at"],
        "manifest_sha256": manifest_sha256, "leaf_index": leaf_index,
        "tree_size": tree_head["tree_size"] if tree_head else None,
        "root_hash": tree_head["root_hash"] if tree_head else None,
        "tree_timestamp": tree_head["timestamp"] if tree_head else None,
        "key_id": tree_head["key_id"] if tree_head else None,
        "files": [f for f in manifest["files"] if f.get("role") in main_roles],
    }
    match = {k: alert.get(k) for k in ("signal", "distance", "threshold")}
    return NoticeContext(
        notice_id=f"LW-{alert['alert_id']}-{re.sub(r'[^0-9]', '', manifest['captured_at'])[:14]}",
        rights_holder=alert.get("rights_holder", ""), person=alert.get("person", ""),
        agent=alert.get("agent", ""), platform=alert.get("platform") or "generic",
        items=items, evidence=evidence, match=match, alert_id=str(alert["alert_id"]))


def context_from_subject(subject: Any) -> NoticeContext:
    """A notice context straight from an :class:`EvidenceSubject` (no sealed evidence yet)."""
    record = subject.alert_record()
    items = [NoticeItem(url=record["url"], title=record["title"], uploader=record["uploader"],
                        published_at=record["published_at"], found_at=record["found_at"])]
    items += [NoticeItem(url=u) for u in record["extra_urls"]]
    return NoticeContext(
        notice_id=f"LW-{record['alert_id']}", rights_holder=record["rights_holder"],
        person=record["person"], agent=record["agent"], platform=record["platform"] or "generic",
        items=items, match={k: record[k] for k in ("signal", "distance", "threshold")},
        alert_id=str(record["alert_id"]))


def environment() -> jinja2.Environment:
    user_dir = settings.home() / "templates"
    # Plain-text notices, not HTML: nothing to escape.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(user_dir), str(PACKAGE_TEMPLATES)]),
        autoescape=False, keep_trailing_newline=True,  # noqa: S701
        undefined=jinja2.StrictUndefined)


def render_template(names: list[str], variables: dict[str, Any]) -> str:
    """The first of ``names`` found (user templates first), filled, as tidy plain text."""
    env = environment()
    try:
        template = env.select_template(names)
    except jinja2.TemplatesNotFound as exc:
        raise NoticeError(f"no template among {', '.join(names)}") from exc
    try:
        text = template.render(**variables)
    except jinja2.TemplateError as exc:
        raise NoticeError(f"template {template.name}: {exc}") from exc
    lines: list[str] = []
    for line in (raw.rstrip() for raw in text.splitlines()):
        if line or (lines and lines[-1]):  # no leading or doubled blank lines
            lines.append(line)
    return "\n".join(lines).rstrip() + "\n"


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise NoticeError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")


def render_text(ctx: NoticeContext, platform: str, lang: str) -> str:
    """The filled notice as plain text."""
    _check_lang(lang)
    ctx = NoticeContext(**{**ctx.__dict__, "platform": platform})
    return render_template([f"{platform}.{lang}.txt.j2", f"notice.{lang}.txt.j2"],
                           ctx.variables(lang))


def render_poa(ctx: NoticeContext, platform: str, lang: str) -> str:
    """The power-of-attorney template for an agent filing ``ctx``'s notice, as plain text."""
    _check_lang(lang)
    ctx = NoticeContext(**{**ctx.__dict__, "platform": platform})
    return render_template([f"{platform}.poa.{lang}.txt.j2", f"poa.{lang}.txt.j2"],
                           ctx.variables(lang))


NO_LINE_START = set("，。、；：？！）》」』】〕”’…,.;:?!)]}%")


def wrap_cjk(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy character wrapping with hanging closing punctuation (simple kinsoku)."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if current and measure(current + ch) > width and ch not in NO_LINE_START:
            lines.append(current)
            current = ch
        else:
            current += ch
    if current:
        lines.append(current)
    return lines


def find_cjk_font() -> tuple[str, int]:
    """A font file with CJK glyphs that fpdf2 can embed, and its collection index."""
    for path, index in CJK_FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    found = sorted(glob.glob("/usr/share/fonts/**/NotoSansCJK*Regular*.tt[cf]", recursive=True))
    if found:
        return found[0], 0
    raise NoticeError("no CJK font found: install fonts-noto-cjk (deploy/apt-packages.txt)")


def render_pdf(text: str, lang: str, title: str | None = None) -> bytes:
    """Set ``text`` as an A4 PDF with an embedded CJK font; the first line is the heading."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode

    # fontTools narrates every subsetting step at INFO: not news for our logs.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    font_path, index = find_cjk_font()
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("cjk", "", font_path, collection_font_number=index)
    lines = text.splitlines()
    heading = lines.pop(0) if lines else ""
    pdf.set_title(title or heading)
    pdf.set_creator("Likewatch")
    pdf.set_lang("zh-CN" if lang == "zh" else "en")
    pdf.add_page()
    pdf.set_font("cjk", size=15)
    pdf.multi_cell(0, 9, heading, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("cjk", size=10.5)
    # Chinese wraps between any two characters, but never starts a line with closing
    # punctuation (it hangs at the end of the line before); English wraps between words
    # (fpdf2 still breaks a hash or URL longer than the line).
    for line in lines:
        if not line.strip():
            pdf.ln(3)
            continue
        indent = (len(line) - len(line.lstrip(" "))) * 1.8
        if lang == "zh":
            width = pdf.w - pdf.l_margin - pdf.r_margin - indent
            for part in wrap_cjk(line.strip(), width, pdf.get_string_width):
                pdf.set_x(pdf.l_margin + indent)
                pdf.cell(0, 5.6, part, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_x(pdf.l_margin + indent)
            pdf.multi_cell(0, 5.6, line.strip(), align="L", wrapmode=WrapMode.WORD,
                           new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
