"""Two tenants with real reference photos, candidates, alerts and users, for the desk tests.

Client A "星光工作室" (a studio) protects demo-a; client B "Moon Agency" protects demo-b.
Alerts come from match rows through the real alert builder (``alerts.build.sync_alerts``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from alerts import registry
from alerts.build import sync_alerts
from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Candidate, CandidateSignal, MatchRow, Media, Person
from likewatch.media import MediaStore
from matchers.enroll import enroll
from webapp.accounts import service

A, B = "星光工作室", "Moon Agency"
PASSWORD = "correct horse battery"


@dataclass
class World:
    tokens: dict[str, str] = field(default_factory=dict)  # name -> bearer token
    alerts: dict[str, list[str]] = field(default_factory=dict)  # client -> alert keys
    numbers: dict[str, list[int]] = field(default_factory=dict)
    persons: dict[str, int] = field(default_factory=dict)  # client -> person id
    references: dict[str, int] = field(default_factory=dict)  # client -> reference id
    users: dict[str, str] = field(default_factory=dict)  # name -> e-mail


_SIGNALS: dict[Path, dict[str, list[str]]] = {}


def _signals(photo: Path) -> dict[str, list[str]]:
    """Every signal value of the photo, as the matcher would store them (computed once)."""
    if photo not in _SIGNALS:
        from webapp.search.core import image_signals

        _SIGNALS[photo] = image_signals(photo.read_bytes())
    return _SIGNALS[photo]


def _candidate(cat: Catalog, store: MediaStore, item: str, photo: Path, uploader: str,
               base_url: str, days_ago: int) -> int:
    sha, rel = store.put(photo.read_bytes())
    with cat.session() as s:
        if s.get(Media, sha) is None:
            s.add(Media(sha256=sha, kind="thumbnail", content_type="image/jpeg",
                        size=photo.stat().st_size, path=rel))
            s.flush()
        c = Candidate(platform="sandbox", item_id=item, url=f"{base_url}/video/{item}",
                      title=f"霸道总裁 {item}", uploader=f"剪辑号 {uploader}",
                      uploader_id=uploader, thumbnail_sha256=sha,
                      thumbnail_url=f"{base_url}/thumb/{item}.jpg", match_status="matched",
                      found_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago),
                      published_at=dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC))
        s.add(c)
        s.flush()
        for name, values in _signals(photo).items():
            s.add_all(CandidateSignal(candidate_id=c.id, media_sha256=sha, frame="",
                                      signal=name, value=v) for v in values)
        return c.id


def _match(cat: Catalog, cand: int, person: int, distance: float) -> None:
    with cat.session() as s:
        p = s.get(Person, person)
        assert p is not None
        s.add(MatchRow(candidate_id=cand, person_id=person, signal="face", frame="",
                       distance=distance, threshold=0.505,
                       reference_id=p.references[0].id if p.references else None))


def build(cat: Catalog, faces: Path, base_url: str = "http://127.0.0.1:9") -> World:
    w = World()
    registry.add_client(cat, A, "studio")
    registry.add_client(cat, B, "agency")
    store = MediaStore(cat.home)
    plan = {A: ("demo-a", "演示人物A", "A000370", ["u1", "u2", "u1"]),
            B: ("demo-b", "Demo person B", "B001295", ["u9", "u8"])}
    for client, (key, name, photo, uploaders) in plan.items():
        [res] = enroll(cat, key, [faces / f"{photo}_1.jpg"], client=client, display_name=name,
                       create_client=False)
        w.references[client] = res.reference_id
        with cat.session() as s:
            p = s.query(Person).filter_by(key=key).one()
            w.persons[client] = p.id
        for i, up in enumerate(uploaders):
            cand = _candidate(cat, store, f"v{photo}{i}", faces / f"{photo}_2.jpg", up, base_url,
                              days_ago=len(uploaders) - i)
            _match(cat, cand, w.persons[client], 0.30 + i / 100)
    sync_alerts(cat)
    with cat.session() as s:
        for client, pid in w.persons.items():
            rows = s.query(Alert).filter_by(person_id=pid).order_by(Alert.id).all()
            w.alerts[client] = [a.key for a in rows]
            w.numbers[client] = [a.id for a in rows]
    for name, client, role in [("owner_a", A, "owner"), ("viewer_a", A, "viewer"),
                               ("analyst_a", A, "analyst"), ("reviewer_b", B, "reviewer"),
                               ("owner_b", B, "owner")]:
        email = f"{name.replace('_', '-')}@example.com"
        service.add_user(cat, email, role=role, client=client, password=PASSWORD)
        w.users[name] = email
        w.tokens[name] = service.create_token(cat, email)[0]
    service.add_user(cat, "ops@example.com", role="operator", password=PASSWORD)
    w.users["operator"] = "ops@example.com"
    w.tokens["operator"] = service.create_token(cat, "ops@example.com")[0]
    return w
