"""What the alerts package adds to ``/metrics`` (``likewatch.metrics``, entry-point group
``likewatch.metrics``): alerts in the catalog by tier and status, the tier by the one rule
of :func:`alerts.views.alert_tiers`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, cast

from sqlalchemy import select

from alerts.views import alert_tiers
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.metrics import Sample

BATCH = 2000


def metric_samples(cat: Catalog) -> Iterator[Sample]:
    """``likewatch_alerts{tier, status}``."""
    counts: Counter[tuple[str, str]] = Counter()
    after = 0
    with cat.session() as s:
        while True:
            rows = s.execute(select(Alert.id, Alert.person_id, Alert.candidate_id, Alert.status)
                             .where(Alert.id > after).order_by(Alert.id).limit(BATCH)).all()
            if not rows:
                break
            tiers = alert_tiers(s, cast(Any, rows))  # rows carry the fields it reads
            counts.update((tiers[r.id], str(r.status)) for r in rows)
            after = rows[-1].id
    for (tier, status), n in sorted(counts.items()):
        yield "likewatch_alerts", {"tier": tier, "status": status}, n
