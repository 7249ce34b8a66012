"""The matcher records each candidate's provenance in the catalog as it hashes the media."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from likewatch.catalog import Catalog
from likewatch.catalog.models import Candidate
from likewatch.catalog.provenance import (
    CandidateProvenance,
    provenance_summary,
    set_platform_flag,
)
from matchers.pipeline import _media_path, process_pending
from matchers.provenance.record import record_candidate_provenance
from tests.matchers import provenance_files as pf
from tests.matchers.test_pipeline import _candidate as pipeline_candidate


def _candidate(catalog: Catalog, item: str, thumb: bytes | None = None,
               video: bytes | None = None) -> int:
    return pipeline_candidate(catalog, item, thumb, video=video)


def test_process_pending_records_provenance(tmp_path: Path) -> None:
    catalog = Catalog.open()
    video = pf.mp4(tmp_path / "v.mp4", pf.label("2", producer="VIDGEN")).read_bytes()
    ids = {
        "thumb-1": _candidate(catalog, "t1", thumb=pf.jpeg(pf.label("1", producer="IMGGEN"))),
        "both": _candidate(catalog, "both", thumb=pf.png(pf.label("3")), video=video),
        "plain": _candidate(catalog, "plain", thumb=pf.jpeg(None)),
        "c2pa": _candidate(catalog, "c2pa", thumb=pf.c2pa_signed_jpeg(signer="Gen Signer")),
        "broken": _candidate(catalog, "broken", thumb=b"\xff\xd8\xff\xe1\x00\x01"),
    }
    with catalog.session() as s:  # what the crawler stores from CandidateItem.ai_flag
        set_platform_flag(s, ids["plain"], "aigc_label_type=1")
        set_platform_flag(s, ids["thumb-1"], None)  # the page said nothing
    summary = process_pending(catalog)
    assert summary.candidates == 5
    with catalog.session() as s:
        rows = {r.candidate_id: r for r in s.scalars(select(CandidateProvenance))}
        assert set(rows) == set(ids.values())
        assert (rows[ids["thumb-1"]].ai_label, rows[ids["thumb-1"]].producer) == ("1", "IMGGEN")
        both = rows[ids["both"]]  # the stronger label wins: 2 (video) before 3 (thumbnail)
        assert (both.ai_label, both.producer) == ("2", "VIDGEN")
        assert both.media["thumbnail"]["ai_label"] == "3"
        assert both.media["video"]["ai_label"] == "2"
        plain = rows[ids["plain"]]
        assert plain.ai_label is None and plain.platform_flag == "aigc_label_type=1"
        assert plain.media["thumbnail"]["ai_label"] is None  # the matcher kept the flag
        assert rows[ids["thumb-1"]].platform_flag is None
        signed = rows[ids["c2pa"]]
        assert signed.c2pa_signer == "Gen Signer" and signed.c2pa_ai and signed.ai_label is None
        assert rows[ids["broken"]].ai_label is None
        assert rows[ids["broken"]].media["thumbnail"]["errors"]
        shown = provenance_summary(s, ids["c2pa"])
        assert shown is not None and shown["c2pa"]["signer"] == "Gen Signer"
        assert provenance_summary(s, 10_000) is None


def test_recording_again_updates_the_one_row() -> None:
    catalog = Catalog.open()
    cid = _candidate(catalog, "again", thumb=pf.jpeg(pf.label("1")))
    with catalog.session() as s:
        cand = s.get(Candidate, cid)
    assert cand is not None
    first = record_candidate_provenance(catalog, cand, _media_path)
    second = record_candidate_provenance(catalog, cand, _media_path)
    assert first is not None and second is not None
    with catalog.session() as s:
        rows = s.scalars(select(CandidateProvenance)).all()
        assert len(rows) == 1 and rows[0].ai_label == "1"
        assert rows[0].checked_at >= first.checked_at
