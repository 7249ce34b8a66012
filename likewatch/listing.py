"""Listings on standard output, the same way in every command: one line of text a row, or
with ``--json`` one JSON object a row (JSON Lines, Chinese kept as it is); a text listing
with no rows says so in one line, a JSON one prints nothing.

    return listing.show(rows, as_json=args.json, line=format_alert_line, empty="no alerts")
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any


def show(rows: Sequence[dict[str, Any]], *, as_json: bool,
         line: Callable[[dict[str, Any]], str], empty: str) -> int:
    """Print ``rows`` (``line(row)`` each, or JSON); the command's exit code, 0."""
    for row in rows:
        print(json.dumps(row, ensure_ascii=False) if as_json else line(row))
    if not as_json and not rows:
        print(empty)
    return 0
