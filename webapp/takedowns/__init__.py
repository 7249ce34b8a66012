"""Takedown tracking per alert: drafted -> filed -> removed / rejected / counter-notice ->
restored, with re-uploads linked back to the alert they re-upload.

The record is the alert's complaint notice (``notices`` / ``notice_events``), kept by
:class:`alerts.notices.tracker.NoticeTracker`: the desk, ``likewatch outcome`` and
``likewatch report`` read and write the same one, and the allowed changes live only in
``alerts/notices/outcomes.py``. This package adds the labels the pages show.
"""

from __future__ import annotations

from alerts.notices.tracker import NoticeTracker
from likewatch.catalog import Catalog

#: how the pages name each state (storage key -> label)
LABELS = {"drafted": "drafted", "filed": "filed", "removed": "removed",
          "rejected": "rejected", "counter_notice": "counter-notice", "restored": "restored"}


def tracker(cat: Catalog) -> NoticeTracker:
    return NoticeTracker(cat)
