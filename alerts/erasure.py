"""Erase a protected person on request: their biometric data goes, everywhere it is kept.

Deleted:
- the reference photos (files in the media store, unless another reference or a candidate
  uses the same file) and their ``Reference`` rows with every signal value (embeddings,
  face hashes): the reference banks rebuild without them (``bank_generation`` changes);
- the person's match rows, and the face values of candidates that were theirs: face and
  face-PDQ values of matched frames that lie within the signal's threshold of one of the
  person's references (a frame another person also matched by face is left to them);
- the index's links to the person (its candidates are re-sent to the candidate index,
  which drops the person and the deleted face values from them);
- alerts without sealed evidence or takedown history, with their outbox rows,
  deliveries and decisions; the person's own subscriptions are switched off.

Kept, for legal reasons, and said so in the report: alerts that have sealed evidence or a
takedown history, and that evidence. A sealed capture is a leaf of the append-only
transparency log: deleting it would break every later proof, and it is what a court or
platform may still ask for. It holds the infringing page, not the reference photos. The
person's row stays as an anchor for those alerts, renamed ``~erased-<id>``, without
aliases or accounts (its display name only while kept alerts name it); the
``person_erasures`` row records what was deleted and kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from likewatch.catalog import Catalog
from likewatch.catalog.alerts import Alert, Delivery, OutboxMessage, Subscription
from likewatch.catalog.evidence import EvidenceCapture
from likewatch.catalog.models import (
    Candidate,
    CandidateSignal,
    Client,
    MatchRow,
    Media,
    Person,
    Reference,
)
from likewatch.catalog.notices import Notice
from likewatch.catalog.review import PersonErasure, ReviewDecision
from likewatch.work.db import write_session

FACE_SIGNALS = ("face", "face_pdq")
KEPT_REASON = ("sealed evidence and takedown records are kept for legal reasons: they are "
               "leaves of the append-only evidence log and what a platform or court may ask "
               "for; they show the infringing content, not the person's reference photos")


class ErasureError(LookupError):
    """No such person (or already erased)."""


@dataclass
class ErasureReport:
    person: str
    client: str
    deleted: dict[str, int] = field(default_factory=dict)
    kept: dict[str, Any] = field(default_factory=dict)
    index: str = ""

    def lines(self) -> list[str]:
        out = [f"erased person {self.person} of {self.client}"]
        out += [f"  deleted {n} {what}" for what, n in self.deleted.items()]
        if self.kept.get("alerts"):
            out.append(f"  kept {len(self.kept['alerts'])} alert(s) with "
                       f"{self.kept['evidence_captures']} sealed evidence capture(s): "
                       + ", ".join(self.kept["alerts"]))
            out.append(f"  why: {self.kept['reason']}")
        out.append(f"  index: {self.index}")
        return out


def _person_faces(s: Session, person_id: int, refs: list[Reference]) -> set[int]:
    """Ids of candidate face values that are this person's face (see the module doc)."""
    from matchers.signals import all_signal_types

    types = all_signal_types()
    frames = set(s.execute(select(MatchRow.candidate_id, MatchRow.frame)
                           .where(MatchRow.person_id == person_id,
                                  MatchRow.signal.in_(FACE_SIGNALS))).all())
    shared = set(s.execute(select(MatchRow.candidate_id, MatchRow.frame)
                           .where(MatchRow.person_id != person_id,
                                  MatchRow.signal.in_(FACE_SIGNALS))).all())
    out: set[int] = set()
    for cand_id, frame in frames - shared:
        for cs in s.scalars(select(CandidateSignal).where(
                CandidateSignal.candidate_id == cand_id, CandidateSignal.frame == frame,
                CandidateSignal.signal.in_(FACE_SIGNALS))):
            stype = types.get(cs.signal)
            if stype is None:
                continue
            for ref in refs:
                if any(_near(stype, cs.value, v) for v in (ref.signals or {}).get(cs.signal, [])):
                    out.add(cs.id)
                    break
    return out


def _near(stype: Any, a: str, b: str) -> bool:
    try:
        return bool(stype.compare(a, b).matched)
    except ValueError:
        return False


def erase_person(cat: Catalog, person_id: int, actor: str, *,
                 reindex: Callable[[list[int]], str] | None = None) -> ErasureReport:
    """Erase person ``person_id`` (see the module docstring); ``reindex`` re-sends the
    given candidate ids to the candidate index and says how it went."""
    files: list[str] = []
    with write_session(cat) as s:
        p = s.get(Person, person_id)
        if p is None or s.scalar(select(PersonErasure.id).where(
                PersonErasure.person_id == person_id)) is not None:
            raise ErasureError(f"no person {person_id} (or already erased)")
        client = s.get(Client, p.client_id)
        report = ErasureReport(p.key, client.name if client else "")
        refs = list(s.scalars(select(Reference).where(Reference.person_id == p.id)))
        face_ids = _person_faces(s, p.id, refs)
        touched = set(s.scalars(select(MatchRow.candidate_id).where(MatchRow.person_id == p.id)))

        alerts = list(s.scalars(select(Alert).where(Alert.person_id == p.id)))
        held = set(s.scalars(select(EvidenceCapture.alert_id).where(
            EvidenceCapture.alert_id.in_([str(a.id) for a in alerts]))))
        tracked = set(s.scalars(select(Notice.alert_id).where(  # a takedown notice
            Notice.alert_id.in_([a.id for a in alerts]))))
        kept = [a for a in alerts if str(a.id) in held or a.id in tracked]
        gone = [a.id for a in alerts if a not in kept]
        outbox = list(s.scalars(select(OutboxMessage.id).where(OutboxMessage.alert_id.in_(gone))))
        s.execute(delete(Delivery).where(Delivery.outbox_id.in_(outbox)))
        s.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(outbox)))
        s.execute(delete(ReviewDecision).where(ReviewDecision.alert_id.in_(gone)))
        s.execute(delete(Alert).where(Alert.id.in_(gone)))
        for a in kept:  # the references they cite are going
            a.reference_id = None
            a.signals = [{k: v for k, v in m.items() if k != "reference_id"}
                         for m in (a.signals or [])]
        report.deleted["alerts"] = len(gone)
        report.deleted["match rows"] = len(list(s.scalars(
            select(MatchRow.id).where(MatchRow.person_id == p.id))))
        s.execute(delete(MatchRow).where(MatchRow.person_id == p.id))
        report.deleted["candidate face values"] = len(face_ids)
        if face_ids:
            s.execute(delete(CandidateSignal).where(CandidateSignal.id.in_(face_ids)))

        shas = {r.sha256 for r in refs}
        s.execute(delete(Reference).where(Reference.person_id == p.id))
        report.deleted["references"] = len(refs)
        s.flush()
        photos = 0
        for sha in shas:
            in_use = s.scalar(select(Reference.id).where(Reference.sha256 == sha).limit(1)) or \
                s.scalar(select(Candidate.id).where(or_(Candidate.thumbnail_sha256 == sha,
                                                        Candidate.video_sha256 == sha)).limit(1))
            if in_use:
                continue
            media = s.get(Media, sha)
            if media is not None:
                files.append(media.path)
                s.delete(media)
            photos += 1
        report.deleted["reference photos"] = photos

        subs = list(s.scalars(select(Subscription).where(Subscription.person_id == p.id)))
        s.execute(update(Subscription).where(Subscription.person_id == p.id)
                  .values(enabled=False))
        report.deleted["subscriptions switched off"] = len(subs)

        captures = s.scalar(select(func.count(EvidenceCapture.id)).where(
            EvidenceCapture.alert_id.in_([str(a.id) for a in kept]))) or 0
        report.kept = {"alerts": [a.key for a in kept], "evidence_captures": int(captures),
                       "reason": KEPT_REASON if kept else ""}
        original_key = p.key
        p.key = f"~erased-{p.id}"
        p.aliases, p.official_accounts = [], []
        if not kept:
            p.display_name = ""
        s.add(PersonErasure(client_id=p.client_id, person_id=p.id, person_key=original_key,
                            actor=actor, deleted=dict(report.deleted), kept=dict(report.kept)))
    for rel in files:
        (cat.home / rel).unlink(missing_ok=True)
    report.index = reindex(sorted(touched)) if reindex and touched else "nothing to re-send"
    return report


def reindex_with(cat: Catalog, index: Any) -> Callable[[list[int]], str]:
    """A ``reindex`` for :func:`erase_person` that re-sends candidates to ``index``."""
    from matchers.index.base import IndexUnavailable
    from matchers.index.sync import docs_for

    def go(candidate_ids: list[int]) -> str:
        docs = [d for _, d in docs_for(cat, candidate_ids)]
        try:
            index.add(docs)
            index.refresh()
        except IndexUnavailable as exc:
            return f"{len(docs)} candidate(s) queued for the {index.backend} index ({exc})"
        return f"{len(docs)} candidate(s) re-sent to the {index.backend} index"
    return go
