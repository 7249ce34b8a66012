"""The generic adapter: a site described by a YAML file in ``crawler/sites/``, no code.

Field values come from a fallback chain of sources: JSON paths (the language of
``crawler.platforms._parsing.jpath``), CSS selectors, URL groups, constants.

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

import json
import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urljoin, urlsplit

import yaml
from cssselect import SelectorError

from crawler.platforms._parsing import (  # re-exported: adapters' helpers
    FIXTURES_DIR,
    PlatformAdapter,
    _empty,
    abs_url,
    add_item,
    cast_list,
    first,
    jfirst,
    jpath,
    strip_tags,
    to_datetime,
    to_int,
    with_query,
)
from crawler.platforms.base import Adapter, AdapterError, CandidateItem, Page, embedded_json

__all__ = ["FIXTURES_DIR", "YamlSiteAdapter", "abs_url", "add_item", "cast_list",
           "extra_adapters", "first", "jfirst", "jpath", "load_site", "load_sites",
           "strip_tags", "to_datetime", "to_int", "with_query"]

SITES_DIR = Path(__file__).resolve().parents[1] / "sites"

# ----------------------------------------------------------------------------- YAML sites

_FIELDS = ("item_id", "url", "thumbnail_url", "video_url", "title", "description",
           "uploader", "uploader_id", "tags", "cast", "published_at", "view_count")


class YamlSiteAdapter(PlatformAdapter):
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
        try:
            return self._parse(url, body)
        except AdapterError:
            raise
        except (TypeError, AttributeError, KeyError, ValueError, re.error, SyntaxError,
                SelectorError) as exc:
            # the site file is data: a spec it gets wrong (a bad CSS selector, a path
            # applied to the wrong kind of value) fails this page, named
            raise AdapterError(f"{self.NAME}: site file {self.SOURCE} does not apply to {url}: "
                               f"{type(exc).__name__}: {exc}") from exc

    def _parse(self, url: str, body: str) -> Page:
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
    """Build the adapter class for one YAML site file (validated on load). A file that is
    not valid YAML or not a valid site raises AdapterError naming the file."""
    try:
        return _load_site(path)
    except AdapterError:
        raise
    except (yaml.YAMLError, re.error, TypeError, AttributeError, ValueError, KeyError) as exc:
        raise AdapterError(f"{path}: not a valid site file: {type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc


def _load_site(path: Path) -> type[YamlSiteAdapter]:
    site = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(site, dict) or not isinstance(site.get("pages"), list):
        raise AdapterError(f"{path}: a site file needs a 'pages' list")
    for key in ("valid_url", "item_url", "browser_ready", "name", "description"):
        if site.get(key) is not None and not isinstance(site[key], str):
            raise AdapterError(f"{path}: {key} must be a string")
    for key in ("valid_url", "item_url"):
        if site.get(key):
            re.compile(site[key])
    start = site.get("start", {})
    if not isinstance(start, dict) or not all(isinstance(v, str) for v in start.values()):
        raise AdapterError(f"{path}: start must map crawl modes to paths")
    for rule in site["pages"]:
        if not isinstance(rule, dict) or not isinstance(rule.get("url"), str) or \
                not isinstance(rule.get("fields") or {}, dict):
            raise AdapterError(f"{path}: every page rule needs a 'url' regex (and 'fields' "
                               "a mapping)")
        if "url" not in rule:
            raise AdapterError(f"{path}: every page rule needs a 'url' regex")
        re.compile(rule["url"])
        unknown = set(rule.get("fields") or {}) - set(_FIELDS)
        if unknown:
            raise AdapterError(f"{path}: unknown fields in site file: {sorted(unknown)}")
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
