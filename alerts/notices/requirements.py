"""What each platform's portrait-rights complaint asks for, kept as data with its sources.

One YAML file per platform in ``alerts/notices/platform_requirements/`` (``generic.yaml``: the
baseline of Civil Code art. 1195, used where a platform has no file). Each says:

- ``compiled``: the date the file was written from its sources;
- ``status``: what the list rests on: ``official`` (the platform's own page), ``secondary``
  (third-party descriptions), ``law`` (the Civil Code), ``none`` (nothing found: the baseline);
- ``channel``: where to file (the addressee, the operator, is in platforms.py);
- ``sources``: url, title, kind, the date the source carries (or ``undated``), what it says;
- ``requires``: one entry per item the platform asks for, in Chinese and English, with who
  supplies it in a packet: ``notice``, ``power_of_attorney``, ``evidence`` or ``user`` (the
  rights holder's own documents, which Likewatch never holds: identity papers);
- ``unverified``: what could not be checked.

The files are checked when loaded (:class:`RequirementsError` names the file and the field).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "platform_requirements"
STATUSES = ("official", "secondary", "law", "none")
SOURCE_KINDS = ("official", "secondary", "law")
SUPPLIERS = ("notice", "power_of_attorney", "evidence", "user")
REQUIRED_ITEMS = ("identity", "authorization", "urls", "evidence", "reasons")


class RequirementsError(ValueError):
    """A platform requirements file is missing or malformed."""


@dataclass(frozen=True)
class Source:
    url: str
    title: str
    kind: str
    dated: str
    says: str


@dataclass(frozen=True)
class Requirement:
    id: str
    zh: str
    en: str
    packet: str  # who supplies it: notice | power_of_attorney | evidence | user

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class PlatformRequirements:
    platform: str
    compiled: str
    status: str
    channel_zh: str
    channel_en: str
    sources: tuple[Source, ...]
    requires: tuple[Requirement, ...]
    unverified_zh: str
    unverified_en: str

    def channel(self, lang: str) -> str:
        return self.channel_zh if lang == "zh" else self.channel_en

    def unverified(self, lang: str) -> str:
        return self.unverified_zh if lang == "zh" else self.unverified_en


def _text(d: dict[str, Any], key: str, where: str, allow_empty: bool = False) -> str:
    value = d.get(key)
    if isinstance(value, dt.date):
        value = value.isoformat()
    if not isinstance(value, str) or (not value.strip() and not allow_empty):
        raise RequirementsError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _lang_pair(d: dict[str, Any], key: str, where: str) -> tuple[str, str]:
    pair = d.get(key)
    if not isinstance(pair, dict):
        raise RequirementsError(f"{where}: {key!r} must have 'zh' and 'en'")
    return _text(pair, "zh", f"{where} {key}"), _text(pair, "en", f"{where} {key}")


def parse(data: dict[str, Any], where: str) -> PlatformRequirements:
    """Check and convert one file's content."""
    status = _text(data, "status", where)
    if status not in STATUSES:
        raise RequirementsError(f"{where}: status {status!r} is not one of {STATUSES}")
    sources = []
    for i, s in enumerate(data.get("sources") or []):
        w = f"{where} sources[{i}]"
        kind = _text(s, "kind", w)
        if kind not in SOURCE_KINDS:
            raise RequirementsError(f"{w}: kind {kind!r} is not one of {SOURCE_KINDS}")
        url = _text(s, "url", w, allow_empty=kind == "law")
        sources.append(Source(url, _text(s, "title", w), kind, _text(s, "dated", w),
                              _text(s, "says", w)))
    if status != "none" and not sources:
        raise RequirementsError(f"{where}: status {status!r} needs at least one source")
    requires = []
    for i, r in enumerate(data.get("requires") or []):
        w = f"{where} requires[{i}]"
        packet = _text(r, "packet", w)
        if packet not in SUPPLIERS:
            raise RequirementsError(f"{w}: packet {packet!r} is not one of {SUPPLIERS}")
        requires.append(Requirement(_text(r, "id", w), _text(r, "zh", w), _text(r, "en", w),
                                    packet))
    missing = set(REQUIRED_ITEMS) - {r.id for r in requires}
    if missing:
        raise RequirementsError(f"{where}: requires lacks {', '.join(sorted(missing))}")
    channel = _lang_pair(data, "channel", where)
    unverified = _lang_pair(data, "unverified", where)
    return PlatformRequirements(
        platform=_text(data, "platform", where), compiled=_text(data, "compiled", where),
        status=status, channel_zh=channel[0], channel_en=channel[1], sources=tuple(sources),
        requires=tuple(requires), unverified_zh=unverified[0], unverified_en=unverified[1])


@cache
def requirements_for(platform: str) -> PlatformRequirements:
    """The platform's requirements, else the generic baseline (``generic.yaml``)."""
    path = DATA_DIR / f"{platform}.yaml"
    if not path.is_file():
        path = DATA_DIR / "generic.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RequirementsError(f"{path.name}: {exc}") from exc
    if not isinstance(data, dict):
        raise RequirementsError(f"{path.name}: not a mapping")
    return parse(data, path.name)


def known_platforms() -> list[str]:
    """Platforms with their own requirements file."""
    return sorted(p.stem for p in DATA_DIR.glob("*.yaml") if p.stem != "generic")
