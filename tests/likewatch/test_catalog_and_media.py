import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate, Client, Person
from likewatch.media import MediaStore


def test_media_store_is_content_addressed_and_idempotent(likewatch_home):
    store = MediaStore(likewatch_home)
    data = b"\xff\xd8\xff fake jpeg bytes"
    digest, rel = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert rel == f"media/{digest[:2]}/{digest[2:4]}/{digest}"
    assert store.get(digest) == data
    assert store.put(data) == (digest, rel)
    assert not list(store.path(digest).parent.glob(".tmp-*"))


def test_catalog_round_trip_keeps_utc_and_unicode(likewatch_home):
    published = dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.UTC)
    with Catalog.open() as catalog:
        assert (likewatch_home / "catalog.sqlite3").exists()
        with catalog.session() as s:
            client = Client(name="星光工作室", kind="studio")
            s.add(client)
            s.flush()
            s.add(Person(client_id=client.id, key="demo-a", display_name="Demo person A"))
            s.add(Candidate(platform="sandbox", item_id="v1", url="http://x/v1",
                            title="霸道总裁爱上我 第1集", published_at=published))
        with catalog.session() as s:
            cand = s.scalars(select(Candidate)).one()
            assert cand.title == "霸道总裁爱上我 第1集"
            assert cand.published_at == published
            assert cand.match_status == "pending"


def test_catalog_refuses_naive_datetimes(likewatch_home):
    from sqlalchemy.exc import StatementError

    with Catalog.open() as catalog, pytest.raises(StatementError, match="naive datetime"):
        with catalog.session() as s:
            s.add(Candidate(platform="sandbox", item_id="v2", url="http://x/v2",
                            published_at=dt.datetime(2026, 1, 1)))
