"""``likewatch report``: how takedown notices fare, per platform and per client.

For each group (a platform, a client, and all together):

- ``notices``: notices drafted; ``filed``: notices filed at least once;
- ``pending``: filed and not answered yet (state ``filed``);
- ``removed``: the content is down now (``removed``, or ``counter_notice`` after a removal
  while the objection runs); ``rejected``; ``restored``: put back after a counter-notice or
  an appeal; ``counter_notice``: an objection is running;
- ``success_rate``: of the answered notices (filed, no longer ``filed``), the share whose
  content was taken down at least once; ``None`` when none was answered yet;
- ``median_hours_to_removal``: from the first filing to the first removal, over the notices
  removed at least once; ``None`` when none was.

``client_ids`` restricts everything to those clients' notices (a studio sees only its own).
"""

from __future__ import annotations

import statistics
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.models import Client
from likewatch.catalog.notices import Notice


@dataclass
class Outcomes:
    group: str
    notices: int = 0
    filed: int = 0
    pending: int = 0
    removed: int = 0
    rejected: int = 0
    counter_notice: int = 0
    restored: int = 0
    success_rate: float | None = None
    median_hours_to_removal: float | None = None


def _tally(group: str, rows: list[Notice]) -> Outcomes:
    out = Outcomes(group=group, notices=len(rows))
    answered = taken_down = 0
    hours: list[float] = []
    for n in rows:
        if n.filed_at is None:
            continue
        out.filed += 1
        if n.state == "filed":
            out.pending += 1
        else:
            answered += 1
            taken_down += n.removed_at is not None
        out.removed += n.state == "removed" or (n.state == "counter_notice"
                                                and n.removed_at is not None)
        out.rejected += n.state == "rejected"
        out.counter_notice += n.state == "counter_notice"
        out.restored += n.state == "restored"
        if n.removed_at is not None:
            hours.append((n.removed_at - n.filed_at).total_seconds() / 3600)
    out.success_rate = round(taken_down / answered, 4) if answered else None
    out.median_hours_to_removal = round(statistics.median(hours), 2) if hours else None
    return out


def outcome_report(catalog: Catalog, *,
                   client_ids: Collection[int] | None = None) -> dict[str, Any]:
    """``{"overall": {...}, "by_platform": [...], "by_client": [...]}`` (see the module)."""
    with catalog.session() as s:
        q = select(Notice, Client.name).join(Client, Client.id == Notice.client_id)
        if client_ids is not None:
            q = q.where(Notice.client_id.in_(list(client_ids)))
        rows = [(n, name) for n, name in s.execute(q)]
    by_platform: dict[str, list[Notice]] = {}
    by_client: dict[str, list[Notice]] = {}
    for n, name in rows:
        by_platform.setdefault(n.platform, []).append(n)
        by_client.setdefault(name, []).append(n)
    return {
        "overall": asdict(_tally("all", [n for n, _ in rows])),
        "by_platform": [asdict(_tally(k, v)) for k, v in sorted(by_platform.items())],
        "by_client": [asdict(_tally(k, v)) for k, v in sorted(by_client.items())],
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    head = (f"{'group':<24}{'notices':>8}{'filed':>7}{'pending':>8}{'removed':>8}"
            f"{'rejected':>9}{'restored':>9}{'success':>9}{'median h':>10}")
    lines: list[str] = []
    for title, rows in (("by platform", report["by_platform"]),
                        ("by client", report["by_client"]), ("overall", [report["overall"]])):
        lines += [title, head]
        for r in rows:
            rate = "-" if r["success_rate"] is None else f"{r['success_rate']:.0%}"
            med = ("-" if r["median_hours_to_removal"] is None
                   else f"{r['median_hours_to_removal']:.1f}")
            lines.append(f"{r['group'][:23]:<24}{r['notices']:>8}{r['filed']:>7}"
                         f"{r['pending']:>8}{r['removed']:>8}{r['rejected']:>9}"
                         f"{r['restored']:>9}{rate:>9}{med:>10}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
