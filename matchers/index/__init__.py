"""The candidate index: where every candidate is stored for matching back and for search.

    from matchers.index import open_index
    index = open_index()          # setting `index`: embedded (default) or elasticsearch

Two implementations of :class:`matchers.index.base.CandidateIndex` give the same answers:
:class:`~matchers.index.embedded.EmbeddedIndex` (SQLite + numpy, in-process) and
:class:`~matchers.index.elastic.ElasticsearchIndex` (with a durable ingest queue in
``$LIKEWATCH_HOME/index-queue.sqlite3``).
"""

from __future__ import annotations

from likewatch import settings
from matchers.index.base import (
    BadQuery,
    CandidateDoc,
    CandidateIndex,
    IndexFailure,
    IndexUnavailable,
    SearchFilters,
    SearchPage,
)

__all__ = ["BadQuery", "CandidateDoc", "CandidateIndex", "IndexFailure", "IndexUnavailable",
           "SearchFilters", "SearchPage", "open_index"]


def open_index(backend: str | None = None, url: str | None = None,
               prefix: str = "likewatch") -> CandidateIndex:
    """The index chosen by the settings ``index`` and ``elasticsearch_url`` (or arguments)."""
    backend = backend or settings.get("index")
    home = settings.home()
    if backend == "embedded":
        from matchers.index.embedded import EmbeddedIndex

        return EmbeddedIndex(home / "index.sqlite3")
    if backend == "elasticsearch":
        from matchers.index.elastic import ElasticsearchIndex

        return ElasticsearchIndex(url or settings.get("elasticsearch_url"), prefix=prefix,
                                  queue_path=home / "index-queue.sqlite3")
    raise settings.SettingsError(f"setting index: expected 'embedded' or 'elasticsearch', "
                                 f"got {backend!r}")
