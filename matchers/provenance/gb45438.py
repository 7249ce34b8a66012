"""The implicit label of GB 45438-2025 (网络安全技术 人工智能生成合成内容标识方法).

Since 2025-09-01 China's Measures for Labelling AI-Generated Synthetic Content require a
generated file to carry, in its metadata, an implicit label: a JSON object with

    Label              "1" AI-generated, "2" possibly AI-generated, "3" suspected AI-generated
    ContentProducer    the generating service's name or code
    ProduceID          the producer's content number
    ReservedCode1      reserved (e.g. a signature or hash)
    ContentPropagator  the platform that disseminated it, name or code
    PropagateID        the propagator's content number
    ReservedCode2      reserved

It is written as the XMP property ``TC260:AIGC`` (namespace
``http://www.tc260.org.cn/ns/AIGC/1.0/``) whose value is the JSON text, entity-escaped inside
the element (``<TC260:AIGC>{&quot;Label&quot;:&quot;1&quot;,...}</TC260:AIGC>``) or as an
attribute; some writers put one element or attribute per field instead. PNGs also carry the
JSON as a text chunk keyed ``AIGC``, MP4s as the metadata key ``AIGC`` (containers.py finds
them all). XMP is parsed with defusedxml: no DTD, no entity expansion.

A label that is present but off the standard (a missing or unknown field, a Label other than
1-3, characters outside printable ASCII) is still reported, with its ``problems`` listed.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.etree.ElementTree import Element  # noqa: S405 - typing only; parsing is defusedxml

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from matchers.provenance.walk import Payload

TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
TC260_NS_PREFIX = "http://www.tc260.org.cn/ns/AIGC"  # variants without the version or slash
FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator",
          "PropagateID", "ReservedCode2")
REQUIRED = ("Label", "ContentProducer", "ProduceID")
LABELS = {"1": "AI-generated", "2": "possibly AI-generated", "3": "suspected AI-generated"}
LABELS_ZH = {"1": "属于人工智能生成合成内容", "2": "可能为人工智能生成合成内容",
             "3": "疑似为人工智能生成合成内容"}
_PRINTABLE = re.compile(r"[\x21-\x7e]*")  # Annex E: single-byte printable, no spaces
_RAW_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?AIGC\b[^>]*>(.{0,65536}?)</(?:[\w.-]+:)?AIGC>", re.S)


@dataclass(frozen=True)
class AigcLabel:
    """One implicit label as found in a file."""

    label: str
    content_producer: str = ""
    produce_id: str = ""
    reserved_code1: str = ""
    content_propagator: str = ""
    propagate_id: str = ""
    reserved_code2: str = ""
    carrier: str = ""  # where: "jpeg/app1-xmp", "png/text-AIGC", "mp4/udta-meta-AIGC", ...
    form: str = "json"  # json | xmp-json | xmp-fields
    problems: tuple[str, ...] = ()

    @property
    def valid_label(self) -> str | None:
        """"1", "2" or "3"; None for any other value."""
        return self.label if self.label in LABELS else None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["problems"] = list(self.problems)
        d["meaning"] = LABELS.get(self.label)
        return d


@dataclass
class LabelResult:
    labels: list[AigcLabel] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def best(self) -> AigcLabel | None:
        """The label to report: the first valid one (standard order of carriers), else the
        first found."""
        for lab in self.labels:
            if lab.valid_label:
                return lab
        return self.labels[0] if self.labels else None


def _as_text(value: Any) -> tuple[str, str | None]:
    if isinstance(value, str):
        return value, None
    if isinstance(value, bool) or value is None:
        return ("" if value is None else str(value).lower()), "not a string"
    if isinstance(value, int | float):
        return str(value), "a number, not a string"
    return json.dumps(value, ensure_ascii=False)[:200], "not a string"


def label_from_fields(fields: dict[str, Any], carrier: str, form: str,
                      extra_problems: tuple[str, ...] = ()) -> AigcLabel:
    """An :class:`AigcLabel` from the standard's field names, with its problems listed."""
    problems = list(extra_problems)
    values: dict[str, str] = {}
    for name in FIELDS:
        if name not in fields:
            if name in REQUIRED:
                problems.append(f"{name} missing")
            continue
        text, issue = _as_text(fields[name])
        if issue:
            problems.append(f"{name} is {issue}")
        if text and not _PRINTABLE.fullmatch(text):
            problems.append(f"{name} has characters outside printable ASCII")
        values[name] = text
    unknown = sorted(k for k in fields if k not in FIELDS)
    if unknown:
        problems.append("unknown field(s): " + ", ".join(unknown[:10]))
    label = values.get("Label", "")
    if label not in LABELS:
        problems.append(f"Label {label!r} is not 1, 2 or 3")
    return AigcLabel(label=label, content_producer=values.get("ContentProducer", ""),
                     produce_id=values.get("ProduceID", ""),
                     reserved_code1=values.get("ReservedCode1", ""),
                     content_propagator=values.get("ContentPropagator", ""),
                     propagate_id=values.get("PropagateID", ""),
                     reserved_code2=values.get("ReservedCode2", ""),
                     carrier=carrier, form=form, problems=tuple(problems))


def label_from_json(text: str | bytes, carrier: str, form: str = "json",
                    extra_problems: tuple[str, ...] = ()) -> AigcLabel:
    """Parse the label's JSON text; ValueError when it is not a JSON object."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip().strip("\x00").strip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{carrier}: the label is not JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{carrier}: the label is JSON but not an object")
    return label_from_fields(obj, carrier, form, extra_problems)


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _tc260(ns: str) -> bool:
    return ns.startswith(TC260_NS_PREFIX)


def _labels_in_tree(root: Element, carrier: str) -> list[AigcLabel]:
    found: list[AigcLabel] = []
    fields: dict[str, str] = {}
    notes: set[str] = set()
    for el in root.iter():
        ns, local = _split(el.tag)
        for key, value in el.attrib.items():
            ans, alocal = _split(key)
            if _tc260(ans) and alocal == "AIGC":
                notes.add(ans)
                found.append(label_from_json(value, carrier, "xmp-json",
                                             ("label written as an XMP attribute",)))
            elif _tc260(ans) and alocal in FIELDS:
                notes.add(ans)
                fields.setdefault(alocal, value)
        if not (_tc260(ns) and local == "AIGC"):
            if _tc260(ns) and local in FIELDS and (el.text or "").strip():
                notes.add(ns)
                fields.setdefault(local, (el.text or "").strip())
            continue
        notes.add(ns)
        children = list(el)
        if not children:
            found.append(label_from_json(el.text or "", carrier, "xmp-json"))
            continue
        for sub in el.iter():  # one element (or attribute) per field, at any depth
            slocal = _split(sub.tag)[1]
            if slocal in FIELDS and (sub.text or "").strip():
                fields.setdefault(slocal, (sub.text or "").strip())
            for key, value in sub.attrib.items():
                if _split(key)[1] in FIELDS:
                    fields.setdefault(_split(key)[1], value)
    if fields:
        found.append(label_from_fields(fields, carrier, "xmp-fields",
                                       ("one XMP element per field, not the JSON value",)))
    odd = sorted(n for n in notes if n != TC260_NS)
    if odd:
        found = [AigcLabel(**{**asdict(lab), "problems": (*lab.problems,
                                                          f"namespace {odd[0]!r}")})
                 for lab in found]
    return found


def labels_from_xmp(data: bytes, carrier: str) -> list[AigcLabel]:
    """Every TC260 label in one XMP packet; ValueError when the packet cannot be read."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff\x00 \r\n\t")
    if "AIGC" not in text:
        return []
    try:
        root = fromstring(text)
    except DefusedXmlException as exc:
        raise ValueError(f"{carrier}: XMP refused ({type(exc).__name__}: DTDs and entities "
                         "are not allowed)") from None
    except ParseError as exc:
        # Not well-formed: read the label element's text directly (a label is still a
        # label, but the packet's damage is reported with it).
        m = _RAW_ELEMENT.search(data)
        if m is None:
            raise ValueError(f"{carrier}: XMP is not well-formed XML ({exc})") from None
        return [label_from_json(html.unescape(m.group(1).decode("utf-8", "replace")),
                                carrier, "xmp-json",
                                ("XMP packet not well-formed; label read from its text",))]
    return _labels_in_tree(root, carrier)


def find_labels(payloads: list[Payload]) -> LabelResult:
    """Every GB 45438 label among a file's metadata payloads, in the order found."""
    result = LabelResult()
    for p in payloads:
        try:
            if p.kind == "xmp":
                result.labels.extend(labels_from_xmp(p.data, p.carrier))
            else:
                result.labels.append(label_from_json(p.data, p.carrier))
        except ValueError as exc:
            result.errors.append(str(exc))
    distinct = {(lab.label, lab.content_producer, lab.produce_id) for lab in result.labels}
    if len(result.labels) > 1:
        note = (f"{len(result.labels)} implicit labels in one file (the standard keeps one)"
                + ("; they disagree" if len(distinct) > 1 else ""))
        result.labels = [AigcLabel(**{**asdict(lab), "problems": (*lab.problems, note)})
                         for lab in result.labels]
    return result
