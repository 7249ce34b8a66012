"""Parsing helpers shared by the platform adapters (pure functions, no I/O).

A dotted JSON path language (``jpath``), fallback chains (``jfirst``, ``first``), URL, count
and date normalisation, and ``add_item`` (keep the valid items of a page, report the rest).

Path language, evaluated against parsed JSON:

- ``a.b.c``: keys; ``a[0]`` / ``a[-1]``: list index; ``a[*]``: every element of a list
  (or every value of a dict); ``*``: every value of a dict; ``**``: the node and all its
  descendants (recursive descent); ``["webapp.video-detail"]``: a key with dots in it.
- A path returns every match, flattened, in document order; ``jfirst`` tries a fallback
  chain of paths and returns the first match that is not empty.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from crawler.platforms.base import Adapter, AdapterError, CandidateItem, MissingField, Page

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
# What a page of an unexpected shape raises inside a parser (a value of the wrong type where
# the code expected a dict, a list cut short, ...).
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError, RecursionError)


class PlatformAdapter(Adapter):
    """Base of our platform adapters: a page whose state has an unexpected shape raises
    AdapterError (counted as ``parse_error`` for the platform's health) instead of whatever
    Python error the parser ran into, which would lose the page without a trace."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        parse = cls.__dict__.get("parse")
        if parse is None or getattr(parse, "_shape_guarded", False):
            return

        @functools.wraps(parse)
        def guarded(self: Adapter, url: str, body: str) -> Page:
            try:
                return parse(self, url, body)  # type: ignore[no-any-return]
            except AdapterError:
                raise
            except _SHAPE_ERRORS as exc:
                raise AdapterError(f"{self.NAME}: unexpected page structure on {url}: "
                                   f"{type(exc).__name__}: {exc}") from exc

        guarded._shape_guarded = True  # type: ignore[attr-defined]
        cls.parse = guarded  # type: ignore[method-assign]

_TOKEN = re.compile(
    r'\[\*\]|\[(-?\d+)\]|\["([^"]*)"\]|\.?"([^"]*)"|\.?(\*\*|\*)|\.?([^.\[\]"]+)'
)

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
    link: str = url.strip()
    if link.startswith("//"):
        return (urlsplit(base).scheme or "https") + ":" + link
    return urljoin(base, link)


def url_of(value: Any) -> str:
    """A URL from the forms platforms use for one image or stream: a string, a list of
    strings (the first), or an object holding them (``{"uri", "url_list": [...]}`` on
    Douyin/TikTok APIs, ``urlList``, ``url``, ``src``). "" when there is none."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return next((u for u in (url_of(v) for v in value) if u), "")
    if isinstance(value, dict):
        for key in ("url_list", "urlList", "UrlList", "url", "src"):
            found = url_of(value.get(key))
            if found:
                return found
    return ""


def flag(obj: Any, *paths: str) -> str | None:
    """A platform's AI-content flag as ``"<key>=<value>"`` from the first path present (even
    when it says 0/false: the platform said it), or None when the object carries none."""
    for path in paths:
        for value in jpath(obj, path):
            if isinstance(value, bool):
                value = "true" if value else "false"
            if isinstance(value, str | int | float) and value != "":
                key = path.rsplit(".", 1)[-1].strip('[]"')
                return f"{key}={value}"
    return None


def episode_number(entry: dict[str, Any], position: int, *, zero_based: tuple[str, ...] = (),
                   one_based: tuple[str, ...] = ()) -> int:
    """An episode's number (from 1): a 0-based index key + 1, else a 1-based display key
    (``"001"``, ``"EP 3"``), else its position in the list (from 1)."""
    for key in zero_based:
        n = to_int(entry.get(key))
        if n is not None:
            return n + 1
    for key in one_based:
        n = to_int(entry.get(key))
        if n is not None:
            return n
    return position + 1


def is_blank(body: str) -> bool:
    """True when a response has no content at all (nothing but white space)."""
    return not body.strip()


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
