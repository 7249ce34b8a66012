"""One content page read by the platform adapter that claims its URL (no Scrapy involved).

:func:`parse_page` is declared as a ``likewatch.page_parsers`` entry point
(``likewatch/plugins.py``): evidence capture, which sits beside the crawler and does not
import it, fills a manual capture's fields (title, uploader, times, media URLs) with it.
"""

from __future__ import annotations

from crawler.platforms import adapter_for_url
from crawler.platforms.base import CandidateItem


def parse_page(url: str, html: str) -> tuple[str, CandidateItem] | None:
    """(platform name, the item at ``url``) as its adapter parses ``html``, or None when no
    adapter claims the URL or the page holds no item. Adapter errors propagate."""
    cls = adapter_for_url(url)
    if cls is None:
        return None
    items = cls().parse(url, html).items
    if not items:
        return None
    same = [i for i in items if i.url == url]
    return cls.NAME, (same or items)[0]
