"""Enrolment: reference photos of a protected person into their reference bank.

For each photo: decode it (``ImageInput``), find the face (exactly one, or the one chosen
with ``face_index``: faces are numbered left to right from 0), compute every signal's
reference values (``hash_reference``: PDQ adds its 8 dihedral variants), store the photo
in the MediaStore (``Media`` kind ``reference``) and the serialized values in
``Reference.signals``. All photos are checked before anything is written: a refused photo
enrols nothing, so a retry after fixing it does not leave half a batch behind.

The photo and its embeddings are the client's: nothing here logs either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from likewatch.media import MediaStore
from matchers.images import ImageError, ImageInput
from matchers.signals.base import SignalType, SignalValue

if TYPE_CHECKING:
    from likewatch.catalog import Catalog

log = logging.getLogger(__name__)

FACE_SIGNALS = frozenset({"face", "face_pdq"})


class EnrolError(ValueError):
    """A photo cannot be enrolled; ``str(err)`` says which one and why, on one line."""


@dataclass
class EnrolResult:
    """One reference photo enrolled (or found already enrolled)."""

    person: str
    client: str
    file: str
    reference_id: int
    sha256: str
    signals: dict[str, int] = field(default_factory=dict)  # signal name -> values stored
    faces_found: int = 1
    already: bool = False

    def line(self) -> str:
        """The one line ``likewatch enroll`` prints."""
        sig = ",".join(f"{k}:{v}" for k, v in sorted(self.signals.items()))
        state = "already enrolled" if self.already else "enrolled"
        return (f"{state} person={self.person} client={self.client} "
                f"reference={self.reference_id} sha256={self.sha256[:12]} signals={sig} "
                f"file={self.file}")


Box = tuple[int, int, int, int]


def _face_order(values: list[SignalValue]) -> list[Box]:
    boxes = {v.box for v in values if v.box is not None}
    return sorted(boxes, key=lambda b: (b[0], b[1]))


def _iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _same_face(box: Box | None, chosen: Box) -> bool:
    # Face-level values of one face carry (nearly) its box; a variant such as a mirrored
    # face_pdq may be a pixel off, so boxes are compared by overlap, not equality.
    return box is not None and _iou(box, chosen) > 0.5


def reference_signals(image: ImageInput, types: Mapping[str, SignalType], *,
                      label: str = "", face_index: int | None = None
                      ) -> tuple[dict[str, list[str]], int]:
    """{signal: [values]} for one reference photo, and the number of faces found.

    Raises EnrolError for no face, several faces without ``face_index``, or a
    ``face_index`` out of range; ImageError for an unreadable photo.
    """
    values = {name: t.hash_reference(image) for name, t in types.items()}
    # Faces are counted on the "face" signal (one value per face); without it, on the
    # other face-level signals' original values.
    face_values = values.get("face") or [v for name in FACE_SIGNALS & set(values)
                                         for v in values[name] if not v.variant]
    faces = _face_order(face_values)
    if "face" in values and not faces:
        raise EnrolError(f"{label}: no face found; a reference photo must show the "
                         "person's face")
    if len(faces) > 1 and face_index is None:
        raise EnrolError(f"{label}: {len(faces)} faces found; choose one with --face N "
                         f"(0-{len(faces) - 1}, numbered left to right)")
    if face_index is not None and not 0 <= face_index < max(len(faces), 1):
        raise EnrolError(f"{label}: --face {face_index} out of range, {len(faces)} "
                         "face(s) found")
    if faces:
        chosen = faces[face_index or 0]
        for name in FACE_SIGNALS & set(values):
            values[name] = [v for v in values[name] if _same_face(v.box, chosen)]
    return {name: [v.value for v in vs] for name, vs in values.items() if vs}, len(faces)


def enroll(catalog: Catalog, person_key: str, files: Sequence[str | Path | bytes], *,
           client: str = "default", display_name: str = "", face_index: int | None = None,
           official_accounts: Sequence[tuple[str, str]] = (),
           signal_types: Mapping[str, SignalType] | None = None,
           create_client: bool = True, aliases: Sequence[str] = (),
           progress: Callable[[int, int], object] | None = None) -> list[EnrolResult]:
    """Enrol reference photos of ``person_key`` (the person is created if new; the client
    too unless ``create_client`` is False, when an unknown client is an EnrolError --
    ``likewatch enroll`` and the desk never create one by a typo).

    ``official_accounts``: (platform, uploader) pairs added to the person's allow-list
    (``*`` as platform: any platform); content they post never matches.
    ``progress(done, total)`` after each photo is read and hashed.
    """
    from likewatch.catalog.models import Client, Media, Person, Reference

    if not person_key.strip():
        raise EnrolError("a person id is required")
    if not files:
        raise EnrolError("no reference photo given")
    if not create_client:
        with catalog.session() as s:
            if s.scalars(select(Client.id).where(Client.name == client)).first() is None:
                raise EnrolError(f"no client named {client!r} (add it first with "
                                 "`likewatch client add`)")
    if signal_types is None:
        from matchers.signals import all_signal_types

        signal_types = all_signal_types()
    prepared = []
    for i, f in enumerate(files):
        label = f"photo {i}" if isinstance(f, bytes) else str(f)
        try:
            data = f if isinstance(f, bytes) else Path(f).read_bytes()
        except OSError as e:
            raise EnrolError(f"{label}: cannot read: {e.strerror or e}") from e
        image = ImageInput.from_bytes(data, name=label)
        try:
            signals, n_faces = reference_signals(image, signal_types, label=label,
                                                 face_index=face_index)
        except ImageError as e:
            raise EnrolError(f"{label}: not a usable image: {e}") from e
        prepared.append((label, data, signals, n_faces))
        if progress is not None:
            progress(i + 1, len(files))

    store = MediaStore(catalog.home)
    results = []
    with catalog.session() as s:
        c = s.scalars(select(Client).where(Client.name == client)).first()
        if c is None and not create_client:
            raise EnrolError(f"no client named {client!r} (add it first with "
                             "`likewatch client add`)")
        if c is None:
            c = Client(name=client)
            s.add(c)
            s.flush()
        p = s.scalars(select(Person).where(Person.client_id == c.id,
                                           Person.key == person_key)).first()
        if p is None:
            p = Person(client_id=c.id, key=person_key, display_name=display_name)
            s.add(p)
            s.flush()
        elif display_name:
            p.display_name = display_name
        known = list(p.aliases or [])
        p.aliases = known + [a for a in dict.fromkeys(aliases) if a and a not in known]
        accounts = list(p.official_accounts or [])
        for platform, uploader in official_accounts:
            entry = {"platform": platform or "*", "uploader": uploader}
            if uploader and entry not in accounts:
                accounts.append(entry)
        p.official_accounts = accounts
        for label, data, signals, n_faces in prepared:
            sha, rel = store.put(data)
            if s.get(Media, sha) is None:
                s.add(Media(sha256=sha, kind="reference", content_type="image",
                            size=len(data), path=rel))
            ref = s.scalars(select(Reference).where(Reference.person_id == p.id,
                                                    Reference.sha256 == sha)).first()
            already = ref is not None
            if ref is None:
                ref = Reference(person_id=p.id, sha256=sha, media_path=rel, signals=signals)
                s.add(ref)
                s.flush()
            results.append(EnrolResult(person_key, client, label, ref.id, sha,
                                       {k: len(v) for k, v in ref.signals.items()},
                                       n_faces, already))
    log.info("enrolled %d reference(s) for person %s of client %s",
             sum(not r.already for r in results), person_key, client)
    return results


# --- bulk enrolment: a CSV file or a folder of folders ------------------------------------

@dataclass
class RosterEntry:
    """One person of a bulk enrolment, with their photo files."""

    client: str
    person: str
    files: list[Path]
    name: str = ""
    aliases: list[str] = field(default_factory=list)
    official: list[tuple[str, str]] = field(default_factory=list)


CSV_COLUMNS = ("person", "photo", "name", "aliases", "official", "client")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"})


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split("|") if v.strip()]


def read_roster_csv(path: Path, client: str | None) -> list[RosterEntry]:
    """Persons of a roster CSV (UTF-8, a header row). Columns: ``person`` and ``photo``
    (required; photo paths relative to the CSV's folder, several separated by ``|`` or on
    several rows of the same person), ``name``, ``aliases`` (``|``-separated),
    ``official`` (``PLATFORM:UPLOADER``, ``|``-separated), ``client`` (else ``client``)."""
    import csv

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise EnrolError(f"{path}: cannot read: {e}") from e
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("person", "photo") if c not in header]
    if missing:
        raise EnrolError(f"{path}: no column {missing[0]!r}; columns are "
                         f"{', '.join(CSV_COLUMNS)}")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise EnrolError(f"{path}: unknown column {unknown[0]!r}; columns are "
                         f"{', '.join(CSV_COLUMNS)}")
    entries: dict[tuple[str, str], RosterEntry] = {}
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        who, owner = row.get("person", ""), row.get("client") or client
        if not who:
            raise EnrolError(f"{path}:{line}: the person column is empty")
        if not owner:
            raise EnrolError(f"{path}:{line}: no client (a client column or --client)")
        entry = entries.setdefault((owner, who), RosterEntry(owner, who, []))
        entry.files += [path.parent / f for f in _split(row.get("photo"))]
        entry.name = row.get("name") or entry.name
        entry.aliases += [a for a in _split(row.get("aliases")) if a not in entry.aliases]
        for item in _split(row.get("official")):
            platform, sep, uploader = item.partition(":")
            if not sep or not uploader.strip():
                raise EnrolError(f"{path}:{line}: official account {item!r}: expected "
                                 "PLATFORM:UPLOADER")
            entry.official.append((platform.strip(), uploader.strip()))
    return list(entries.values())


def read_roster_folder(path: Path, client: str) -> list[RosterEntry]:
    """Persons of a folder: one sub-folder per person (its name is the person's id),
    holding that person's photos."""
    if not path.is_dir():
        raise EnrolError(f"{path}: not a folder")
    out = []
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        files = sorted(f for f in sub.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if files:
            out.append(RosterEntry(client, sub.name, files))
    if not out:
        raise EnrolError(f"{path}: no person folders with photos inside")
    return out


@dataclass
class BatchItem:
    """How one person of a bulk enrolment went."""

    client: str
    person: str
    results: list[EnrolResult] = field(default_factory=list)
    error: str | None = None


def enroll_roster(catalog: Catalog, entries: Sequence[RosterEntry], *,
                  progress: Callable[[int, int, BatchItem], None] | None = None
                  ) -> list[BatchItem]:
    """Enrol each person in turn; one person's bad photo is that person's error and the
    batch goes on. Clients must exist. ``progress(done, total, item)`` after each."""
    out = []
    for i, e in enumerate(entries, start=1):
        item = BatchItem(e.client, e.person)
        try:
            item.results = enroll(catalog, e.person, list(e.files), client=e.client,
                                  display_name=e.name, official_accounts=e.official,
                                  aliases=e.aliases, create_client=False)
        except (EnrolError, ImageError) as err:
            item.error = str(err)
        out.append(item)
        if progress is not None:
            progress(i, len(entries), item)
    return out
