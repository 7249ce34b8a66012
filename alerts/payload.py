"""The alert as every channel says it: one typed model, one JSON Schema.

:class:`AlertPayload` is what a webhook receives as its JSON body, what an e-mail carries
as its JSON attachment, what chat messages are written from (``alerts.channels.message_text``)
and what the API returns for an alert; :class:`DigestPayload` wraps several for a digest
subscription. The JSON Schema (:func:`json_schema`) is published in ``docs/webhooks.md``;
``tests/alerts/test_payload.py`` fails when the two differ, and the delivery tests check
what each channel actually sent against the models.

Never carries embeddings or reference photo bytes: images are named by sha256 (and the
platform URL for the candidate's thumbnail).

Wire compatibility: field names, nesting and value formats are those of the untyped
payload this replaced (times are ISO 8601 in UTC with a ``Z``; ``distance`` rounded to 4
decimals). Fields are only ever added, and an added one is optional and left out of the
JSON while empty: ``tier`` (``alert`` or ``review``), each signal's ``details`` (a name's
kind, a removed item), ``reupload_of`` (the taken-down item this one copies).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from likewatch.catalog.alerts import Alert
from likewatch.catalog.models import Candidate, Client, Person, Reference
from likewatch.catalog.notices import Notice

ALERT_TYPE: Final = "likewatch.alert"
DIGEST_TYPE: Final = "likewatch.digest"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonRef(_Model):
    """The protected person: the client's own id for them, and their display name."""

    id: str
    name: str


class Where(_Model):
    """The content item on its platform."""

    platform: str
    item_id: str
    url: str
    title: str
    uploader: str
    uploader_id: str


class BestMatch(_Model):
    """The closest signal behind the alert."""

    signal: str = Field(description="signal type name, e.g. face, pdq, phash, face_pdq")
    distance: float = Field(description="distance to the reference, rounded to 4 decimals")
    threshold: float = Field(description="the threshold it was within (inclusive)")
    frame: str = Field(description='"" for a thumbnail, else the video time, e.g. "t=1.20s"')


class SignalHit(_Model):
    """One (signal, frame, reference) that matched: every one behind the alert."""

    signal: str
    frame: str
    distance: float
    threshold: float
    reference_id: int | None
    details: dict[str, Any] | None = Field(
        default=None, exclude_if=lambda v: v is None,
        description='how it matched, for signals that say more than a distance: a name '
                    '("name": {"kind": exact|alias|variant|pinyin|homophone|near_homophone, '
                    '"field", "text", "name"}) or a removed item watched for re-uploads '
                    '("reupload": {"removed_item", "notice_id", "via"}); absent otherwise')


class CandidateImage(_Model):
    """The matching image, by hash (never its bytes)."""

    sha256: str | None
    url: str
    video_sha256: str | None
    frame: str


class ReferenceRef(_Model):
    """The reference photo that matched best, by id and hash (never the photo)."""

    id: int | None
    sha256: str | None


class ReuploadOf(_Model):
    """The taken-down item this one is a copy of, and the notice that removed it."""

    notice_no: str = Field(description="the notice's number, as printed on it")
    platform: str = Field(description="the platform the notice went to")
    removed_at: AwareDatetime | None = Field(description="when the platform removed it")
    alert_id: str = Field(description="the alert (its id) the notice was about")
    item_id: str = Field(description="the removed item's id on its platform")
    url: str = Field(description="the removed item's URL")


class AlertPayload(_Model):
    """One alert: a protected person's likeness found in one content item."""

    id: str = Field(pattern=r"^lw_[0-9a-f]{32}$",
                    description="idempotency key, equal to the X-Likewatch-Alert-Id header")
    type: Literal["likewatch.alert"]
    severity: Literal["high", "medium", "low"]
    status: str = Field(description="new, confirmed or dismissed")
    tier: Literal["alert", "review"] | None = Field(
        default=None, exclude_if=lambda v: v is None,
        description="alert (pushed) or review (held for a decision); absent when not set")
    client: str
    person: PersonRef
    where: Where
    published_at: AwareDatetime | None
    found_at: AwareDatetime | None
    alerted_at: AwareDatetime | None
    updated_at: AwareDatetime | None = Field(
        description="the latest change; keep the copy with the latest updated_at")
    match: BestMatch
    signals: list[SignalHit]
    candidate_image: CandidateImage
    reference: ReferenceRef
    reupload_of: ReuploadOf | None = Field(
        default=None, exclude_if=lambda v: v is None,
        description="set when this item is a copy of one taken down after a notice "
                    "(a re-upload); absent otherwise")

    def wire(self) -> dict[str, Any]:
        """The JSON object channels send."""
        return self.model_dump(mode="json")


class DigestPayload(_Model):
    """Several alerts of a digest subscription, sent at most every N minutes."""

    id: str = Field(pattern=r"^lwd_[0-9a-f]{32}$",
                    description="the digest's idempotency key (the X-Likewatch-Alert-Id header)")
    type: Literal["likewatch.digest"]
    alerts: list[AlertPayload]

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.UTC) if value is not None else None


def alert_payload(s: Session, alert: Alert) -> AlertPayload:
    """The payload of ``alert``: who, where, when, how close, which images."""
    person = s.get(Person, alert.person_id)
    cand = s.get(Candidate, alert.candidate_id)
    client = s.get(Client, alert.client_id)
    ref = s.get(Reference, alert.reference_id) if alert.reference_id else None
    if person is None or cand is None or client is None:
        raise LookupError(f"alert {alert.key}: its person, candidate or client is gone")
    return AlertPayload(
        id=alert.key, type=ALERT_TYPE,
        severity=alert.severity,  # type: ignore[arg-type]  # a str column; pydantic checks it
        status=alert.status, client=client.name,
        person=PersonRef(id=person.key, name=person.display_name or person.key),
        where=Where(platform=cand.platform, item_id=cand.item_id, url=cand.url,
                    title=cand.title, uploader=cand.uploader, uploader_id=cand.uploader_id),
        published_at=_utc(cand.published_at), found_at=_utc(cand.found_at),
        alerted_at=_utc(alert.created_at), updated_at=_utc(alert.updated_at),
        match=BestMatch(signal=alert.signal, distance=round(alert.distance, 4),
                        threshold=alert.threshold, frame=alert.frame),
        signals=[SignalHit(signal=m["signal"], frame=m.get("frame", ""),
                           distance=m["distance"], threshold=m["threshold"],
                           reference_id=m.get("reference_id"), details=m.get("details"))
                 for m in alert.signals or []],
        candidate_image=CandidateImage(sha256=cand.thumbnail_sha256, url=cand.thumbnail_url,
                                       video_sha256=cand.video_sha256, frame=alert.frame),
        reference=ReferenceRef(id=ref.id if ref else None, sha256=ref.sha256 if ref else None),
        reupload_of=reupload_of(s, alert),
    )


def reupload_of(s: Session, alert: Alert) -> ReuploadOf | None:
    """What ``alert`` is a re-upload of (``Alert.reupload_of``), or None."""
    if alert.reupload_of is None:
        return None
    notice = s.get(Notice, alert.reupload_of)
    original = s.get(Alert, notice.alert_id) if notice is not None else None
    cand = s.get(Candidate, original.candidate_id) if original is not None else None
    if notice is None or original is None or cand is None:
        return None
    return ReuploadOf(notice_no=notice.notice_no, platform=notice.platform,
                      removed_at=_utc(notice.removed_at), alert_id=original.key,
                      item_id=cand.item_id, url=notice.url or cand.url)


def digest_payload(key: str, alerts: list[AlertPayload]) -> DigestPayload:
    """The payload of a digest of ``alerts`` under its batch ``key``."""
    return DigestPayload(id=key, type=DIGEST_TYPE, alerts=alerts)


def parse(body: bytes | str | dict[str, Any]) -> AlertPayload | DigestPayload:
    """A received body as its model (what a receiver, or a test, checks a delivery with)."""
    data = json.loads(body) if isinstance(body, (bytes, str)) else body
    if data.get("type") == DIGEST_TYPE:
        return DigestPayload.model_validate(data)
    return AlertPayload.model_validate(data)


def json_schema() -> dict[str, Any]:
    """The published JSON Schema: an alert or a digest (``docs/webhooks.md``)."""
    alert = AlertPayload.model_json_schema(ref_template="#/$defs/{model}")
    digest = DigestPayload.model_json_schema(ref_template="#/$defs/{model}")
    defs = {**alert.pop("$defs", {}), **digest.pop("$defs", {}),
            "AlertPayload": alert, "DigestPayload": digest}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://likewatch.invalid/schemas/alert.json",
            "title": "Likewatch alert or digest",
            "oneOf": [{"$ref": "#/$defs/AlertPayload"}, {"$ref": "#/$defs/DigestPayload"}],
            "$defs": dict(sorted(defs.items()))}
