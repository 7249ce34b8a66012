"""The generic adapter: a site described by a YAML file in ``crawler/sites/``, no code.

Also home of the small helpers every platform adapter uses (a dotted JSON path language,
fallback chains, URL / number / date normalisation), so adapters stay declarative.

Path language (``jpath``), evaluated against parsed JSON:

- ``a.b.c``: keys; ``a[0]`` / ``a[-1]``: list index; ``a[*]``: every element of a list
  (or every value of a dict); ``*``: every value of a dict; ``**``: the node and all its
  descendants (recursive descent); ``["webapp.video-detail"]``: a key with dots in it.
- A path returns every match, flattened, in document order; ``jfirst`` tries a fallback
  chain of paths and returns the first match that is not empty.

A YAML site (see docs/platforms.md for the full worked example)::

    name: sandbox                # adapter NAME becomes "yaml:sandbox"
    browser: false               # NEEDS_BROWSER
    valid_url: null              # optional regex with (?P<id>...) for URLs the site claims
    pages:                       # first page rule whose `url` regex matches is used
      - url: '/browse'
        format: html             # html | json
        detail_links: {css: 'a.item::attr(href)'}
        next: {css: 'a[rel=next]::attr(href)'}
      - url: '/video/(?P<id>[^/?#]+)'
        format: html
        state: {script_id: __NEXT_DATA__}   # or {marker: window.__INITIAL_STATE__}
        items: props.pageProps.item
        fields:
          item_id: [id, {url_group: id}]    # fallback chain: first non-empty wins
          title: [title, {css: 'h1::text'}]
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import yaml

from crawler.platforms.base import (
    Adapter,
    AdapterError,
    CandidateItem,
    MissingField,
    Page,
    embedded_json,
)

SITES_DIR = Path(__file__).resolve().parents[1] / "sites"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"

_TOKEN = re.compile(
    r'\[\*\]|\[(-?\d+)\]|\["([^"]*)"\]|\.?"([^"]*)"|\.?(\*\*|\*)|\.?([^.\[\]"]+)'
)

# ----------------------------------------------------------------------------- helpers


def _tokens(path: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"bad path {path!r} at {pos}")
        if m.group(0) == "[*]":
            out.append(("all", None))
        elif m.group(1) is not None:
            out.append(("index", int(m.group(1))))
        elif m.group(2) is not None:
            out.append(("key", m.group(2)))
        elif m.group(3) is not None:
            out.append(("key", m.group(3)))
        elif m.group(4) == "**":
            out.append(("deep", None))
        elif m.group(4) == "*":
            out.append(("all", None))
        else:
            out.append(("key", m.group(5)))
        pos = m.end()
    return out


def _descend(node: Any) -> Iterable[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _descend(child)


def jpath(obj: Any, path: str) -> list[Any]:
    """Every value at ``path`` in ``obj`` (see the module docstring for the language)."""
    nodes = [obj]
    for kind, arg in _tokens(path):
        nxt: list[Any] = []
        for node in nodes:
            if kind == "key":
                if isinstance(node, dict) and arg in node:
                    nxt.append(node[arg])
                elif isinstance(node, list) and arg.isdigit() and int(arg) < len(node):
                    nxt.append(node[int(arg)])
            elif kind == "index":
                if isinstance(node, list) and -len(node) <= arg < len(node):
                    nxt.append(node[arg])
            elif kind == "all":
                if isinstance(node, dict):
                    nxt.extend(node.values())
                elif isinstance(node, list):
                    nxt.extend(node)
            else:  # deep
                nxt.extend(_descend(node))
        nodes = nxt
    return nodes


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


def jfirst(obj: Any, *paths: str, default: Any = None) -> Any:
    """The first non-empty value found by a fallback chain of paths."""
    for path in paths:
        for value in jpath(obj, path):
            if not _empty(value):
                return value
    return default


def first(*values: Any, default: Any = None) -> Any:
    """The first non-empty value of a fallback chain of already computed values."""
    for v in values:
        if not _empty(v):
            return v
    return default


def abs_url(base: str, url: Any) -> str:
    """An absolute http(s) URL: protocol-relative and relative links resolved against base."""
    if not isinstance(url, str) or not url.strip():
        return ""
    url = url.strip()
    if url.startswith("//"):
        return (urlsplit(base).scheme or "https") + ":" + url
    return urljoin(base, url)


_SUFFIX = {"万": 10_000, "w": 10_000, "亿": 100_000_000, "k": 1_000, "m": 1_000_000,
           "b": 1_000_000_000}


def to_int(value: Any) -> int | None:
    """Counts as platforms print them: 1234, "1,234", "1.2万", "3.4M views", "12K"."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    m = re.search(r"(\d[\d,]*(?:\.\d+)?)\s*(万|亿|[kKmMbBwW](?![a-zA-Z]{2}))?", str(value))
    if m is None:
        return None
    number = float(m.group(1).replace(",", ""))
    if m.group(2):
        number *= _SUFFIX[m.group(2).lower()]
    return int(round(number))


def to_datetime(value: Any) -> dt.datetime | None:
    """UTC datetime from a Unix time (s or ms, int or digit string) or an ISO 8601 string."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10_000_000_000 else value
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    return None


def strip_tags(text: Any) -> str:
    """Plain text from a search-result title with highlight markup (<em class=keyword>)."""
    if not isinstance(text, str):
        return ""
    return re.sub(r"<[^>]+>", "", text).strip()


def with_query(url: str, **params: str) -> str:
    """``url`` with the given query parameters set (others kept)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def add_item(page: Page, item: CandidateItem) -> None:
    """Validate ``item`` into ``page.items``; one without its mandatory fields goes to
    ``page.errors`` (counted per platform) and the rest of the page is still used."""
    try:
        page.items.append(item.validate())
    except MissingField as exc:
        page.errors.append(exc)


def cast_list(entries: Iterable[Any], name_keys: Iterable[str] = ("name",),
              role_keys: Iterable[str] = ("role",)) -> list[dict[str, str]]:
    """[{"name", "role"}] from a platform's credit entries, whichever keys it uses."""
    name_keys, role_keys = tuple(name_keys), tuple(role_keys)
    out: list[dict[str, str]] = []
    for entry in entries:
        if isinstance(entry, str):
            out.append({"name": entry.strip(), "role": ""})
            continue
        if not isinstance(entry, dict):
            continue
        name = first(*(entry.get(k) for k in name_keys), default="")
        if name:
            role = first(*(entry.get(k) for k in role_keys), default="")
            out.append({"name": str(name).strip(), "role": str(role).strip()})
    return out


# ----------------------------------------------------------------------------- YAML sites

_FIELDS = ("item_id", "url", "thumbnail_url", "video_url", "title", "description",
           "uploader", "uploader_id", "tags", "cast", "published_at", "view_count")


class YamlSiteAdapter(Adapter):
    """Base of the adapters built from YAML site files (no NAME: not registered itself)."""

    SITE: ClassVar[dict[str, Any]] = {}
    SOURCE: ClassVar[str] = ""
    START_PATHS: ClassVar[dict[str, str]] = {}
    FIXTURE_DIR: ClassVar[Path] = FIXTURES_DIR / "generic"

    def __init__(self) -> None:
        # ``item_url`` names the site's item pages without claiming them: the registry's
        # class-level suitable() still follows VALID_URL, but a running crawl's instance can
        # tell an item's id from its detail URL, so known items are not fetched again.
        item_url = self.SITE.get("item_url")
        if item_url and self.VALID_URL is None:
            pattern = re.compile(item_url)

            def suitable(url: str) -> bool:
                return pattern.search(url) is not None

            def match_id(url: str) -> str:
                m = pattern.search(url)
                if m is None:
                    raise AdapterError(f"{self.NAME}: {url} is not an item page")
                return m.group("id")

            self.suitable = suitable  # type: ignore[method-assign]
            self.match_id = match_id  # type: ignore[method-assign]

    def parse(self, url: str, body: str) -> Page:
        rule, match = self._rule_for(url)
        fmt = rule.get("format", "html")
        selector = None
        if fmt == "json":
            try:
                state: Any = json.loads(body)
            except json.JSONDecodeError as exc:
                raise AdapterError(f"{self.NAME}: response of {url} is not JSON: {exc}") from exc
        else:
            from parsel import Selector

            selector = Selector(text=body)
            state = self._state(rule, body)
        page = Page()
        ctx = {"url": url, "match": match}
        items_spec = rule.get("items")
        if items_spec is not None:
            for node in self._nodes(items_spec, state, selector):
                add_item(page, self._item(rule.get("fields", {}), node, selector, ctx))
        for link in self._values(rule.get("detail_links"), state, selector, ctx):
            absolute = abs_url(url, link)
            if absolute and absolute not in page.detail_urls:
                page.detail_urls.append(absolute)
        nxt = self._values(rule.get("next"), state, selector, ctx)
        if nxt:
            page.next_url = abs_url(url, nxt[0])
        cursor = self._values(rule.get("cursor"), state, selector, ctx)
        if cursor and not _empty(cursor[0]):
            page.next_cursor = str(cursor[0])  # the spider asks cursor_url() for the next URL
        return page

    def start_url(self, url: str, mode: str, *, query: str = "", cursor: str | None = None) -> str:
        """The site's ``start`` path for ``mode``, on the origin of the user's URL."""
        if mode not in self.START_PATHS:
            raise AdapterError(f"{self.NAME} does not support mode {mode!r} "
                               f"(has {tuple(self.START_PATHS)})")
        parts = urlsplit(url)
        if mode == "listing" and parts.path not in ("", "/"):
            return url  # the user named a listing page: start there
        path = self.START_PATHS[mode].replace("{query}", quote(query))
        start = urljoin(f"{parts.scheme}://{parts.netloc}/", path)
        return self.cursor_url(start, cursor) if cursor else start

    def cursor_url(self, url: str, cursor: str) -> str:
        """Next page of a cursor feed: the page rule's ``cursor_param`` set to ``cursor``."""
        try:
            rule, _ = self._rule_for(url)
        except AdapterError:
            rule = {}
        return with_query(url, **{rule.get("cursor_param", "cursor"): cursor})

    # -- internals ---------------------------------------------------------------------

    def _rule_for(self, url: str) -> tuple[dict[str, Any], re.Match[str]]:
        parts = urlsplit(url)
        target = parts.path + ("?" + parts.query if parts.query else "")
        for rule in self.SITE.get("pages", []):
            m = re.search(rule["url"], target)
            if m is not None:
                return rule, m
        raise AdapterError(f"{self.NAME}: no page rule matches {url}")

    def _state(self, rule: dict[str, Any], body: str) -> Any:
        spec = rule.get("state")
        if not spec:
            return None
        marker = spec.get("script_id") or spec.get("marker")
        return embedded_json(body, marker)

    def _nodes(self, spec: Any, state: Any, selector: Any) -> list[Any]:
        if isinstance(spec, dict) and "css" in spec:
            return list(selector.css(spec["css"])) if selector is not None else []
        path = spec["path"] if isinstance(spec, dict) else spec
        nodes: list[Any] = []
        for value in jpath(state, path):
            nodes.extend(value if isinstance(value, list) else [value])
        return [n for n in nodes if n is not None]

    def _values(self, spec: Any, node: Any, selector: Any, ctx: dict[str, Any]) -> list[Any]:
        """All values of one source (a path string or a {css|path|url_group|const} map)."""
        if spec is None:
            return []
        if isinstance(spec, str):
            return [v for v in jpath(node, spec) if not _empty(v)] if node is not None else []
        if "const" in spec:
            return [spec["const"]]
        if "url_group" in spec:
            group = ctx["match"].groupdict().get(spec["url_group"])
            return [group] if group else []
        if "url" in spec and spec["url"] == "page":
            return [ctx["url"]]
        if "css" in spec:
            base = node if node is not None and hasattr(node, "css") else selector
            if base is None:
                return []
            return [v.strip() for v in base.css(spec["css"]).getall() if v.strip()]
        if "path" in spec:
            values = self._values(spec["path"], node, selector, ctx)
            prefix = spec.get("prefix", "")
            return [f"{prefix}{v}" for v in values] if prefix else values
        raise AdapterError(f"{self.NAME}: unknown source {spec!r}")

    def _field(self, name: str, chain: Any, node: Any, selector: Any,
               ctx: dict[str, Any]) -> Any:
        chain = chain if isinstance(chain, list) else [chain]
        for source in chain:
            values = self._values(source, node, selector, ctx)
            if not values:
                continue
            if name in ("tags",):
                flat: list[str] = []
                for v in values:
                    flat.extend(str(x) for x in (v if isinstance(v, list) else [v]) if x)
                return flat
            if name == "cast":
                entries: list[Any] = []
                for v in values:
                    entries.extend(v if isinstance(v, list) else [v])
                return cast_list(entries)
            return values[0]
        return None

    def _item(self, fields: dict[str, Any], node: Any, selector: Any,
              ctx: dict[str, Any]) -> CandidateItem:
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise AdapterError(f"{self.NAME}: unknown fields in site file: {sorted(unknown)}")
        got = {name: self._field(name, chain, node, selector, ctx)
               for name, chain in fields.items()}
        base = ctx["url"]
        item = CandidateItem(
            platform=self.NAME,
            item_id=str(first(got.get("item_id"), default="")),
            url=abs_url(base, first(got.get("url"), default=base if "url" not in fields else "")),
            thumbnail_url=abs_url(base, got.get("thumbnail_url")),
            video_url=abs_url(base, got.get("video_url")),
            title=str(first(got.get("title"), default="")).strip(),
            description=str(first(got.get("description"), default="")),
            uploader=str(first(got.get("uploader"), default="")),
            uploader_id=str(first(got.get("uploader_id"), default="")),
            tags=got.get("tags") or [],
            cast=got.get("cast") or [],
            published_at=to_datetime(got.get("published_at")),
            view_count=to_int(got.get("view_count")),
            raw_state=node if isinstance(node, dict) else None,
        )
        return item


def load_site(path: Path) -> type[YamlSiteAdapter]:
    """Build the adapter class for one YAML site file (validated on load)."""
    site = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(site, dict) or not isinstance(site.get("pages"), list):
        raise AdapterError(f"{path}: a site file needs a 'pages' list")
    for rule in site["pages"]:
        if "url" not in rule:
            raise AdapterError(f"{path}: every page rule needs a 'url' regex")
        re.compile(rule["url"])
    name = "yaml:" + str(site.get("name") or path.stem)
    valid_url = site.get("valid_url")
    if valid_url is not None and "(?P<id>" not in valid_url:
        raise AdapterError(f"{path}: valid_url needs a named 'id' group")
    attrs = {
        "NAME": name,
        "VALID_URL": valid_url,
        "NEEDS_BROWSER": bool(site.get("browser", False)),
        "TESTS": list(site.get("tests", [])),
        "SITE": site,
        "SOURCE": str(path),
        "START_PATHS": dict(site.get("start", {})),
        "MODES": tuple(site.get("start", {})) or ("listing",),
        "SEARCH_NEEDS_BROWSER": bool(site.get("search_browser", False)),
        "BROWSER_READY": site.get("browser_ready"),
        "FIXTURE_DIR": FIXTURES_DIR / "generic" / path.stem,
        "__doc__": site.get("description", f"YAML site {name}"),
    }
    cls_name = "Yaml_" + re.sub(r"\W", "_", str(site.get("name") or path.stem))
    return type(cls_name, (YamlSiteAdapter,), attrs)


def load_sites(directory: Path | None = None) -> dict[str, type[YamlSiteAdapter]]:
    """Every YAML site in ``directory`` (default ``crawler/sites/``), keyed by NAME."""
    directory = directory or SITES_DIR
    sites: dict[str, type[YamlSiteAdapter]] = {}
    for path in sorted(directory.glob("*.yaml")):
        cls = load_site(path)
        if cls.NAME in sites:
            raise AdapterError(f"{path}: site name {cls.NAME} defined twice")
        sites[cls.NAME] = cls
    return sites


def extra_adapters() -> dict[str, type[Adapter]]:
    """Registry hook (crawler.platforms._discover): the YAML sites become adapters."""
    return dict(load_sites())
