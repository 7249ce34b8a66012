"""Alerts made directly in the catalog for the notice tests (no crawl, no matching)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Candidate, Client, Person
from likewatch.catalog.provenance import CandidateProvenance


def make_alert(cat: Catalog, item: str, *, client: str = "星光工作室", person: str = "demo-a",
               name: str = "演示人物A", platform: str = "douyin", title: str = "霸道总裁 第1集",
               description: str = "", tags: list[str] | None = None,
               provenance: dict[str, Any] | None = None) -> int:
    """An alert of ``person`` (of ``client``) on a new candidate; returns the alert id.

    ``provenance``: columns of the candidate's ``candidate_provenance`` row, if any."""
    with cat.session() as s:
        c = s.scalar(select(Client).where(Client.name == client))
        if c is None:
            c = Client(name=client, kind="agency")
            s.add(c)
            s.flush()
        p = s.scalar(select(Person).where(Person.client_id == c.id, Person.key == person))
        if p is None:
            p = Person(client_id=c.id, key=person, display_name=name)
            s.add(p)
            s.flush()
        cand = Candidate(platform=platform, item_id=item,
                         url=f"https://www.{platform}.example.invalid/video/{item}",
                         title=title, description=description, tags=tags or [],
                         uploader="盗版剪辑号", uploader_id="u-1",
                         published_at=dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC),
                         thumbnail_url="https://img.example.invalid/t.jpg",
                         match_status="matched")
        s.add(cand)
        s.flush()
        if provenance is not None:
            s.add(CandidateProvenance(candidate_id=cand.id, **provenance))
        alert = Alert(key=f"lw_{client}_{item}", client_id=c.id, person_id=p.id,
                      candidate_id=cand.id, signal="face", distance=0.31, threshold=0.5)
        s.add(alert)
        s.flush()
        return alert.id
