"""Search for analysts: ``core`` (one set of parameters for the CLI and the API, and
find-by-photo), ``routes`` (the API and the page, scoped to the caller's clients)."""

from __future__ import annotations

from webapp.search.core import (
    MAX_SIZE,
    MAX_UPLOAD,
    SearchRequest,
    image_signals,
    parse_search_params,
    run_search,
    search_by_photo,
    search_by_values,
)

__all__ = ["MAX_SIZE", "MAX_UPLOAD", "SearchRequest", "image_signals", "parse_search_params",
           "run_search", "search_by_photo", "search_by_values"]
