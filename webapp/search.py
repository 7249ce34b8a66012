"""Search for analysts: one set of parameters for ``likewatch search`` and ``GET /api/search``,
and find-by-photo (``--by-photo FILE`` / ``POST /api/search/by-photo``).

Parameters (query string, or the CLI options of the same names):
``q`` text (every word must occur: see matchers.index.base.tokenize), ``platform``,
``client``, ``person`` (comma-separated or repeated: any of them), ``matched``
(true/false), ``since`` / ``until`` (``YYYY-MM-DD`` or ISO 8601, UTC; a date-only
``until`` includes that whole day), ``date_field`` (found_at | published_at), ``sort``
(found_at, published_at, uploader, platform; ``-`` prefix for descending; default
``-found_at``), ``size`` (1-500, default 20), ``after`` (the ``next`` token of the previous
page), ``aggs`` (platform,uploader,day).

Find-by-photo hashes the uploaded image with every signal type (PDQ with its 8 dihedral
variants, pHash, each face's embedding and face PDQ) and searches every candidate:
Hamming signals by exact radius (the signal's threshold), faces by exact kNN within the
face threshold. Hits are ranked by their best distance relative to its threshold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from matchers.index.base import (
    AGG_NAMES,
    EUCLIDEAN_SIGNALS,
    HAMMING_SIGNALS,
    BadQuery,
    CandidateIndex,
    SearchFilters,
    as_utc,
)

MAX_SIZE = 500
MAX_UPLOAD = 20 * 1024 * 1024

routes = web.RouteTableDef()


@dataclass
class SearchRequest:
    text: str = ""
    filters: SearchFilters = field(default_factory=SearchFilters)
    sort: str = "-found_at"
    size: int = 20
    after: str | None = None
    aggs: list[str] = field(default_factory=list)


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    raw = params.get(name)
    if raw is None:
        return []
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def parse_time_param(value: str, *, end_of_day: bool = False) -> dt.datetime:
    """``2026-11-20`` (midnight UTC; the next midnight with ``end_of_day``) or ISO 8601."""
    try:
        if len(value) == 10:
            day = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
            return day + dt.timedelta(days=1) if end_of_day else day
        return as_utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise BadQuery(f"not a date: {value!r} (use YYYY-MM-DD or ISO 8601)") from None


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes"}:
        return True
    if lowered in {"0", "false", "no"}:
        return False
    raise BadQuery(f"not a boolean: {value!r} (use true or false)")


def parse_search_params(params: Mapping[str, Any]) -> SearchRequest:
    """Build a request from query-string-like parameters; BadQuery names the bad one."""
    known = {"q", "platform", "client", "person", "matched", "since", "until", "date_field",
             "sort", "size", "after", "aggs"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise BadQuery(f"unknown parameter {unknown[0]!r}; known: {', '.join(sorted(known))}")
    first = {k: (_values(params, k) or [""])[0] if k not in ("q", "after") else
             str(params.get(k) or "") for k in known}
    f = SearchFilters(platform=_values(params, "platform"), client=_values(params, "client"),
                      person=_values(params, "person"))
    if first["matched"]:
        f.matched = parse_bool(first["matched"])
    if first["since"]:
        f.since = parse_time_param(first["since"])
    if first["until"]:
        f.until = parse_time_param(first["until"], end_of_day=True)
    if first["date_field"]:
        if first["date_field"] not in ("found_at", "published_at"):
            raise BadQuery("date_field must be found_at or published_at")
        f.date_field = first["date_field"]
    size = 20
    if first["size"]:
        try:
            size = int(first["size"])
        except ValueError:
            raise BadQuery(f"size must be a number, got {first['size']!r}") from None
        if not 1 <= size <= MAX_SIZE:
            raise BadQuery(f"size must be between 1 and {MAX_SIZE}")
    aggs = _values(params, "aggs")
    for a in aggs:
        if a not in AGG_NAMES:
            raise BadQuery(f"unknown aggregation {a!r}; choose from {', '.join(AGG_NAMES)}")
    return SearchRequest(text=first["q"], filters=f, sort=first["sort"] or "-found_at",
                         size=size, after=first["after"] or None, aggs=aggs)


def run_search(index: CandidateIndex, req: SearchRequest) -> dict[str, Any]:
    page = index.search(req.text, req.filters, sort=req.sort, size=req.size, after=req.after,
                        aggs=req.aggs)
    out = page.to_json()
    for hit in out["hits"]:
        # Hashes help analysts; face embeddings are biometric data: only their count.
        hit["faces"] = len(hit["signals"].pop("face", []))
    return out


def image_signals(data: bytes, name: str = "") -> dict[str, list[str]]:
    """Every signal value of an uploaded image (PDQ with its dihedral variants)."""
    from matchers.images import ImageError, ImageInput
    from matchers.signals import all_signal_types

    try:
        image = ImageInput.from_bytes(data, name=name)
        image.size  # noqa: B018  (decodes the header: corrupt files fail here, clearly)
        out: dict[str, list[str]] = {}
        for sig_name, sig in all_signal_types().items():
            values = sig.hash_reference(image) if sig_name == "pdq" else sig.hash(image)
            out[sig_name] = list(dict.fromkeys(v.value for v in values))
        return out
    except ImageError as exc:
        raise BadQuery(f"cannot read the image: {exc}") from exc


def search_by_values(index: CandidateIndex, signals: Mapping[str, Sequence[str]], *,
                     size: int = 20, thresholds: Mapping[str, float] | None = None
                     ) -> dict[str, Any]:
    """Candidates near any of ``signals`` ({name: values}), best first, with the distances."""
    if thresholds is None:
        from matchers.signals import all_signal_types

        thresholds = {n: float(t.THRESHOLD) for n, t in all_signal_types().items()}
    found: dict[str, dict[str, float]] = {}
    for name, values in signals.items():
        limit = thresholds[name]
        for value in values:
            hits: list[tuple[str, float]] | list[tuple[str, int]]
            if name in HAMMING_SIGNALS:
                hits = index.radius_search(name, value, int(limit))
            elif name in EUCLIDEAN_SIGNALS:
                hits = index.knn_face(value, size, limit)
            else:
                continue
            for doc_id, dist in hits:
                best = found.setdefault(doc_id, {})
                best[name] = min(best.get(name, dist), dist)

    def rank(doc_id: str) -> tuple[float, str]:
        return min(d / max(thresholds[s], 1e-9) for s, d in found[doc_id].items()), doc_id

    ordered = sorted(found, key=rank)
    docs = {d.doc_id: d for d in index.get(ordered[:size])}
    hits_out = []
    for doc_id in ordered[:size]:
        if doc_id not in docs:
            continue
        doc = dict(docs[doc_id].to_json(), doc_id=doc_id)
        doc.pop("signals", None)
        doc["matches"] = [{"signal": s, "distance": d, "threshold": thresholds[s]}
                          for s, d in sorted(found[doc_id].items(), key=lambda kv: kv[0])]
        hits_out.append(doc)
    return {"total": len(found), "hits": hits_out,
            "signals": {name: len(values) for name, values in signals.items()}}


def search_by_photo(index: CandidateIndex, data: bytes, *, name: str = "",
                    size: int = 20) -> dict[str, Any]:
    return search_by_values(index, image_signals(data, name), size=size)


# --- HTTP ------------------------------------------------------------------------------

def _index(request: web.Request) -> CandidateIndex:
    from webapp.app import INDEX

    return request.app[INDEX]


async def _blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    import asyncio
    import functools

    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs))


@routes.get("/api/search")
async def api_search(request: web.Request) -> web.Response:
    """Full text + filters + aggregations, paged with ``after``. JSON."""
    params = {k: request.query.getall(k) for k in request.query}
    req = parse_search_params(params)
    return web.json_response(await _blocking(run_search, _index(request), req))


@routes.post("/api/search/by-photo")
async def api_search_by_photo(request: web.Request) -> web.Response:
    """Upload an image (multipart field ``file``, or the raw body): candidates that show it
    or the faces in it. ``?size=N`` (default 20)."""
    from webapp import uploads

    size = parse_search_params({"size": request.query.get("size", "20")}).size
    name = ""
    data = b""
    try:  # read in chunks, refused past MAX_UPLOAD (a multipart part is not bounded otherwise)
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if getattr(part, "name", None) == "file":
                    name = getattr(part, "filename", None) or ""
                    data = await uploads.read_limited(_part_chunks(part), MAX_UPLOAD)
                    break
        else:
            data = await uploads.read_limited(request.content.iter_chunked(65536), MAX_UPLOAD)
    except uploads.TooLarge as exc:
        return web.json_response({"error": str(exc)}, status=413)
    if not data:
        raise BadQuery("no image uploaded (multipart field 'file' or the request body)")
    async with uploads.gate():  # a few decodes at a time, memory handed back after each
        try:
            return web.json_response(
                await _blocking(search_by_photo, _index(request), data, name=name, size=size))
        finally:
            del data
            await _blocking(uploads.release_memory)


async def _part_chunks(part: Any) -> Any:
    while chunk := await part.read_chunk(65536):
        yield chunk
