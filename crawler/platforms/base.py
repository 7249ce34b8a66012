"""Platform adapters: pure parsing, (url, body) -> items. Spiders only fetch.

Each platform is one module in ``crawler/platforms/`` defining a subclass of
:class:`Adapter` with ``NAME`` (a storage key: never renamed), ``VALID_URL`` (a regex with a
named ``id`` group, or ``None`` for listing-only adapters) and ``TESTS`` (offline cases:
URL, fixture file, expected fields). After yt-dlp's extractors.

Mandatory fields of a candidate are the id, the url and one media url (thumbnail or
video). A missing one raises :class:`MissingField`, counted per platform as an adapter
health problem; every other field is optional and never fatal.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


class AdapterError(Exception):
    """The page could not be parsed at all (e.g. malformed embedded state)."""

    kind = "parse_error"


class NoData(AdapterError):
    """The page answered but carries no data at all (an empty body, an app shell without the
    item's state, an API reply with nothing in it): what platforms serve to a client they
    have stopped trusting. Counted as ``challenged`` for the platform's health, not as a
    parse error, and the page is asked for again by the next crawl."""

    kind = "challenged"


class MissingField(AdapterError):
    """A mandatory field (id, url, media url) is missing from a parsed item."""

    kind = "missing_field"

    def __init__(self, platform: str, field_name: str, url: str) -> None:
        super().__init__(f"{platform}: mandatory field {field_name!r} missing on {url}")
        self.platform = platform
        self.field_name = field_name
        self.url = url


@dataclass
class CandidateItem:
    """One content item as parsed from a platform page. Becomes a Candidate row."""

    platform: str
    item_id: str
    url: str
    thumbnail_url: str = ""
    video_url: str = ""
    title: str = ""
    description: str = ""
    uploader: str = ""
    uploader_id: str = ""
    tags: list[str] = field(default_factory=list)
    cast: list[dict[str, str]] = field(default_factory=list)  # [{"name": .., "role": ..}]
    published_at: dt.datetime | None = None
    view_count: int | None = None  # None: the platform hides the count (unknown is not 0)
    # The platform's own AI-generated-content flag, as "<key>=<value>" exactly as the page or
    # API gives it (e.g. "aigc_label_type=1", "IsAigc=true"); None when it says nothing.
    # Per platform keys and meanings: docs/platforms.md.
    ai_flag: str | None = None
    raw_state: dict[str, Any] | None = None

    def validate(self) -> CandidateItem:
        for name in ("item_id", "url"):
            if not getattr(self, name):
                raise MissingField(self.platform, name, self.url)
        if not (self.thumbnail_url or self.video_url):
            raise MissingField(self.platform, "media_url", self.url)
        return self

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.published_at is not None:
            d["published_at"] = self.published_at.isoformat()
        return d


@dataclass
class Page:
    """What an adapter found on one page: items, and links to follow."""

    items: list[CandidateItem] = field(default_factory=list)
    detail_urls: list[str] = field(default_factory=list)  # item pages to fetch and parse
    next_url: str | None = None  # pagination
    next_cursor: str | None = None  # for cursor-paginated APIs
    # Items of this page that could not be parsed (e.g. MissingField), counted by kind; the
    # rest of the page is still used.
    errors: list[AdapterError] = field(default_factory=list)
    # Which of the platform's shapes was read (e.g. "render_data", "aweme_list",
    # "pinia_function"): counted per crawl as ``likewatch/shapes/<shape>``.
    shape: str = ""


class Adapter:
    NAME: ClassVar[str]
    VALID_URL: ClassVar[str | None] = None
    NEEDS_BROWSER: ClassVar[bool] = False
    # Each case: {"url": ..., "fixture": "file under crawler/platforms/fixtures/<NAME>/",
    #             "expected": {field: exact value | "re:pattern" | type | ("count", n)}}
    TESTS: ClassVar[list[dict[str, Any]]] = []

    @classmethod
    def suitable(cls, url: str) -> bool:
        return cls.VALID_URL is not None and re.match(cls.VALID_URL, url) is not None

    @classmethod
    def match_id(cls, url: str) -> str:
        if cls.VALID_URL is None:
            raise AdapterError(f"{cls.NAME} claims no URLs")
        m = re.match(cls.VALID_URL, url)
        if m is None:
            raise AdapterError(f"{cls.NAME} does not claim {url}")
        # ``id``, or for a pattern with alternatives the first other named group that matched
        # (DramaBox's episode id, Hongguo's series id or share page)
        found = m.group("id") or next((g for g in m.groupdict().values() if g), None)
        if found is None:
            raise AdapterError(f"{cls.NAME}: no id in {url}")
        return str(found)

    def parse(self, url: str, body: str) -> Page:
        """Parse one fetched page. Pure: no network, no clock, no randomness."""
        raise NotImplementedError

    # --- where a crawl starts (used by crawler.spiders.AdapterSpider) ------------------
    # Crawl modes this adapter supports: "listing" (HTML pages with pagination), "search"
    # (a query's results page, rendered in a browser when SEARCH_NEEDS_BROWSER), "api"
    # (a JSON feed with cursor pagination).
    MODES: ClassVar[tuple[str, ...]] = ("listing",)
    SEARCH_NEEDS_BROWSER: ClassVar[bool] = False
    # For pages rendered in the browser: a JavaScript function (source text) that returns
    # true once the page's script has rendered what parse() reads. None: wait for the
    # network to go idle.
    BROWSER_READY: ClassVar[str | None] = None

    def start_url(self, url: str, mode: str, *, query: str = "", cursor: str | None = None) -> str:
        """The first URL of a crawl in ``mode`` from the user's ``url`` (often a site root)."""
        if mode not in self.MODES:
            raise AdapterError(f"{self.NAME} does not support mode {mode!r} (has {self.MODES})")
        return url

    def cursor_url(self, url: str, cursor: str) -> str:
        """The URL of the next page of a cursor-paginated feed, from the current page's URL."""
        from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "cursor"]
        query.append(("cursor", cursor))
        return urlunsplit(parts._replace(query=urlencode(query)))


def embedded_json(body: str, marker: str) -> Any:
    """The JSON state a page embeds, found by a marker.

    Handles ``<script id="__NEXT_DATA__" type="application/json">{...}</script>`` and
    ``window.__INITIAL_STATE__ = {...};`` forms. Raises AdapterError when absent or malformed.
    """
    m = re.search(
        r'<script[^>]*id=["\']' + re.escape(marker) + r'["\'][^>]*>(.*?)</script>', body, re.S
    )
    if m is not None:
        text = m.group(1)
    else:
        m = re.search(re.escape(marker) + r"\s*=\s*", body)
        if m is None:
            raise AdapterError(f"embedded state {marker} not found")
        try:
            value, _ = json.JSONDecoder().raw_decode(body, m.end())
        except json.JSONDecodeError as exc:
            raise AdapterError(f"embedded state {marker} is malformed: {exc}") from exc
        return value
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AdapterError(f"embedded state {marker} is malformed: {exc}") from exc
