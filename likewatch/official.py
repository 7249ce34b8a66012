"""Who is an official account: the one rule, used by the matchers and by alert building.

A person's official accounts (``Person.official_accounts``, JSON
``[{"platform": .., "uploader": ..}]``; ``likewatch person add --official`` and
``likewatch enroll --official`` write them) are the person's own channels, or their
studio's: content they post is the person's own and never alerts.

The rule:

- **platform**: ``"*"`` (or an empty or missing platform) means every platform; any
  other value must equal the content's platform, compared case-insensitively;
- **uploader**: compared normalised (surrounding spaces dropped, case folded, one leading
  ``@`` dropped: ``@StarStudio`` and ``starstudio`` are one account) against the
  content's uploader name and its uploader id; either may match. An empty uploader
  matches nothing.

So ``{"platform": "*", "uploader": "@StarStudio"}`` covers an upload by ``StarStudio``
(name or id) on any platform.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ANY_PLATFORM = "*"


def normalise(value: str) -> str:
    """An account name or platform as compared: trimmed, case-folded, without a leading @."""
    text = value.strip().casefold()
    return text[1:].strip() if text.startswith("@") else text


@dataclass(frozen=True)
class OfficialAccount:
    """An account of the person themself (or their studio): never alerts."""

    platform: str
    uploader: str

    def covers(self, platform: str, uploaders: Iterable[str]) -> bool:
        """True when ``platform`` agrees (or this entry is for any platform) and one of
        ``uploaders`` (the content's uploader name and id) is this account."""
        mine_platform = normalise(self.platform) or ANY_PLATFORM
        if mine_platform not in (ANY_PLATFORM, normalise(platform)):
            return False
        mine = normalise(self.uploader)
        return bool(mine) and any(normalise(u) == mine for u in uploaders if u)


def parse_official_accounts(raw: Iterable[Mapping[str, str]] | None) -> list[OfficialAccount]:
    """``Person.official_accounts`` JSON as objects; entries without an uploader are dropped."""
    out = []
    for item in raw or []:
        uploader = str(item.get("uploader") or "").strip()
        if uploader:
            out.append(OfficialAccount(str(item.get("platform") or ANY_PLATFORM), uploader))
    return out


def parse_account_arg(text: str) -> OfficialAccount:
    """``PLATFORM:UPLOADER`` as given to ``--official`` (an empty platform, or ``*``, is any
    platform); ``ValueError`` without an uploader."""
    platform, sep, uploader = text.partition(":")
    if not sep or not uploader.strip():
        raise ValueError(f"--official wants PLATFORM:UPLOADER, not {text!r}")
    return OfficialAccount(platform.strip() or ANY_PLATFORM, uploader.strip())


def is_official(accounts: Iterable[OfficialAccount], platform: str, *uploaders: str) -> bool:
    """Whether content by any of ``uploaders`` on ``platform`` is the person's own."""
    return any(a.covers(platform, uploaders) for a in accounts)


def is_official_upload(raw: Iterable[Mapping[str, str]] | None, platform: str,
                       *uploaders: str) -> bool:
    """:func:`is_official` straight from a person's stored ``official_accounts`` JSON."""
    return is_official(parse_official_accounts(raw), platform, *uploaders)
