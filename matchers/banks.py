"""Reference banks: one per protected person, searched together through in-memory indexes.

A ``ReferenceBank`` is one person (of one client) with the signal values of every
reference photo. A ``BankSet`` holds all banks and, per signal type, one index over every
person's values:

- hamming signals (pdq, phash, face_pdq): ``matchers.bank_index.HammingIndex`` - exact
  Hamming-radius search, multi-index hashing where it pays, every candidate verified by
  its full distance;
- euclidean signals (face): ``matchers.euclidean_index.EuclideanIndex`` - exact distances,
  persons ruled out by lower bounds (radial, principal axes, a ball per person) before
  any of their references is read.

``match_values`` searches a corroborate-only signal (pHash, ``matchers.match``) only when
another signal found something: alone it never makes a match.

Banks are small (persons x references) and live in memory; ``BankCache`` rebuilds them
when the catalog's bank generation (``bank_generation``) changes; each person's face
statistics against the background cohort (``matchers.calibration``) are computed then.
The match policy (thresholds, per-client overrides, official accounts) is
``matchers.match``; the tier of each match (alert or review) is ``matchers.tiers``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select

from matchers.bank_index import HammingIndex
from matchers.calibration import FaceCalibration
from matchers.euclidean_index import EuclideanIndex
from matchers.match import (
    Hit,
    MatchPolicy,
    OfficialAccount,
    best_hits,
    is_official,
    parse_official_accounts,
)
from matchers.signals.base import Match, SignalType, SignalValue
from matchers.tiers import (
    decide,
    person_sides,
    roster_calibration,
    tier_face_hits,
    tiered_policy,
)

if TYPE_CHECKING:
    from likewatch.catalog import Catalog
    from matchers.images import ImageInput
    from matchers.names import NameMatcher

log = logging.getLogger(__name__)


@dataclass
class BankReference:
    """One enrolled reference photo: its catalog id and {signal: [serialized values]}."""

    reference_id: int | None
    signals: dict[str, list[str]]


@dataclass
class ReferenceBank:
    """A protected person and their references."""

    key: str
    client: str = "default"
    person_id: int | None = None
    display_name: str = ""
    official_accounts: list[OfficialAccount] = field(default_factory=list)
    references: list[BankReference] = field(default_factory=list)
    names: tuple[str, ...] = ()  # display name and aliases (matchers.name_signal)

    def is_official(self, platform: str, *uploaders: str) -> bool:
        return is_official(self.official_accounts, platform, *uploaders)


def decode_values(stype: SignalType, values: list[str]) -> npt.NDArray[Any]:
    """Serialized values as one array: (n, nbits / 8) uint8 or (n, dims) float32.

    Bulk-decoded (one ``bytes.fromhex`` / base64 pass: 200,000 references in seconds, not
    minutes) when every value has the expected size and the first row agrees with the
    signal's own ``to_array``; otherwise value by value through ``to_array``, whose
    validation then names the bad value.
    """
    if stype.kind == "hamming":
        width = stype.nbits // 8
        if not values:
            return np.zeros((0, width), np.uint8)
        arr: npt.NDArray[Any] | None = None
        if all(len(v) == width * 2 for v in values):
            try:
                arr = np.frombuffer(bytes.fromhex("".join(values)), np.uint8).reshape(-1, width)
            except ValueError:
                arr = None
    else:
        if not values:
            return np.zeros((0, stype.dims), np.float32)
        try:
            raw = b"".join(base64.b64decode(v, validate=True) for v in values)
            arr = np.frombuffer(raw, "<f4").astype(np.float32)
            arr = (arr.reshape(-1, stype.dims) if arr.size == len(values) * stype.dims
                   and bool(np.isfinite(arr).all()) else None)
        except (binascii.Error, ValueError):
            arr = None
    if arr is not None and np.array_equal(arr[0], stype.to_array(values[0])):
        return arr
    return np.stack([stype.to_array(v) for v in values])


class _SignalIndex:
    """One signal's index over all banks: row -> (bank index, reference id, position).

    ``position`` is the value's place in ``Reference.signals[name]``: 0 for the
    original, 1.. for reference-side variants (PDQ's dihedral copies come after it).
    """

    def __init__(self, stype: SignalType, radius: float, banks: list[int],
                 refs: list[int | None], positions: list[int], values: list[str]) -> None:
        self.stype = stype
        self.banks = np.array(banks, dtype=np.int32)
        self.refs = refs
        self.positions = np.array(positions, dtype=np.int32)
        arr = decode_values(stype, values)
        self.index: HammingIndex | EuclideanIndex
        if stype.kind == "hamming":
            self.index = HammingIndex(stype.nbits, arr.astype(np.uint8), int(radius))
        else:
            self.index = EuclideanIndex(arr.astype(np.float32), self.banks, float(radius))

    def search(self, value: str) -> list[Hit]:
        return self._hits(*self.index.search(self.stype.to_array(value)))  # type: ignore[arg-type]

    def search_many(self, values: list[str]) -> list[list[Hit]]:
        found = self.index.search_many(decode_values(self.stype, values))
        return [self._hits(rows, dists) for rows, dists in found]

    def _hits(self, rows: npt.NDArray[Any], dists: npt.NDArray[Any]) -> list[Hit]:
        return [Hit(int(self.banks[r]), self.stype.name, float(d), self.refs[r],
                    f"variant{self.positions[r]}" if self.positions[r] else "")
                for r, d in zip(rows.tolist(), dists.tolist(), strict=True)]


class BankSet:
    """All reference banks, with one index per signal type, and the match policy."""

    def __init__(self, banks: Sequence[ReferenceBank], *,
                 signal_types: Mapping[str, SignalType] | None = None,
                 policy: MatchPolicy | None = None, generation: str = "",
                 calibration: FaceCalibration | None = None) -> None:
        if signal_types is None:
            from matchers.signals import all_signal_types

            signal_types = all_signal_types()
        self.types: dict[str, SignalType] = dict(signal_types)
        self.banks = list(banks)
        # Face scores are calibrated against the background cohort (matchers.calibration):
        # each person's statistics are computed here, once per bank change.
        self.calibration = (calibration or FaceCalibration.default()) if "face" in self.types \
            else None
        self.policy = policy or tiered_policy(self.types, calibration=self.calibration)
        self.face_sides = (person_sides(self.banks, self.types, self.calibration)
                           if self.calibration is not None else [])
        self.generation = generation
        self._names: tuple[NameMatcher, dict[str, int]] | None = None
        self.indexes: dict[str, _SignalIndex] = {}
        for name, stype in self.types.items():
            b_idx: list[int] = []
            refs: list[int | None] = []
            pos: list[int] = []
            vals: list[str] = []
            for b, bank in enumerate(self.banks):
                for ref in bank.references:
                    values = ref.signals.get(name)
                    if values:
                        k = len(values)
                        b_idx += [b] * k
                        refs += [ref.reference_id] * k
                        pos += range(k)
                        vals += values
            self.indexes[name] = _SignalIndex(stype, self.policy.search_radius(name),
                                              b_idx, refs, pos, vals)

    def __len__(self) -> int:
        return len(self.banks)

    @property
    def n_references(self) -> int:
        return sum(len(b.references) for b in self.banks)

    def stats(self) -> dict[str, Any]:
        """What is indexed: persons, references, values and search mode per signal."""
        return {"persons": len(self.banks), "references": self.n_references,
                "signals": {n: {"values": len(ix.refs), "mode": ix.index.mode}
                            for n, ix in self.indexes.items()}}

    def name_matcher(self) -> tuple[NameMatcher, dict[str, int]]:
        """Every person's names compiled once per bank build (``matchers.name_signal``),
        and the bank index of each hit's ``person``."""
        if self._names is None:
            from matchers.names import NameMatcher, ProtectedNames

            keys = {(str(b.person_id) if b.person_id is not None else f"#{i}"): i
                    for i, b in enumerate(self.banks) if b.names}
            self._names = (NameMatcher(ProtectedNames(k, self.banks[i].names)
                                       for k, i in keys.items()), keys)
        return self._names

    # -- matching ----------------------------------------------------------------------

    def hash_image(self, image: ImageInput) -> list[SignalValue]:
        """Every signal of an image (what a candidate stores); may raise ImageError."""
        values: list[SignalValue] = []
        for stype in self.types.values():
            values.extend(stype.hash(image))
        return values

    def search_values(self, values: Iterable[SignalValue]) -> list[Hit]:
        """Best hit per (bank, signal) within the widest threshold in use (no policy yet)."""
        hits: list[Hit] = []
        for v in values:
            ix = self.indexes.get(v.signal)
            if ix is not None and len(ix.refs):
                found = ix.search(v.value)
                hits.extend(self._tiered(v.signal, [v.value], [found])[0])
        return best_hits(hits)

    def _tiered(self, signal: str, values: list[str], found: list[list[Hit]]
                ) -> list[list[Hit]]:
        """Face hits with their tier (``matchers.tiers``); other signals' as they are."""
        if signal != "face" or self.calibration is None:
            return found
        return tier_face_hits(self.calibration, self.face_sides, self.policy, self.banks,
                              self.types["face"], values, found)

    def _search_for_policy(self, values: Sequence[SignalValue]) -> list[Hit]:
        """``search_values`` minus hits the policy would drop anyway.

        A corroborate-only signal (pHash) counts only next to another signal's match for
        the same person, so when no other signal found anything - nearly every candidate -
        its index is not searched at all. The matches that come out are the same.
        """
        weak = self.policy.corroborate
        hits = self.search_values([v for v in values if v.signal not in weak])
        if hits:
            hits = best_hits(hits + self.search_values([v for v in values
                                                        if v.signal in weak]))
        return hits

    def match_values(self, values: Iterable[SignalValue], *, platform: str = "",
                     uploader: str = "", uploader_id: str = "", frame: str = "") -> list[Match]:
        """Matches of precomputed values of ONE image (or frame), after the policy."""
        return self._apply_policy(self._search_for_policy(list(values)), platform, uploader,
                                  uploader_id, frame)

    def match_many(self, items: Sequence[Sequence[SignalValue]], *, platform: str = "",
                   uploader: str = "", uploader_id: str = "",
                   frames: Sequence[str] | None = None,
                   origins: Sequence[tuple[str, str, str]] | None = None
                   ) -> list[list[Match]]:
        """``match_values`` for several images (a video's keyframes, the media of a batch
        of candidates): the same results, each index searched once for the whole batch -
        the face index scores its person centres as one matrix product, the hash indexes
        run one kernel call. ``origins``: (platform, uploader, uploader_id) per item, for
        items of different candidates; otherwise the keyword arguments apply to all."""
        weak = self.policy.corroborate
        hits: list[list[Hit]] = [[] for _ in items]
        for name, ix in self.indexes.items():
            if name in weak:
                continue
            pairs = [(i, v.value) for i, vals in enumerate(items) for v in vals
                     if v.signal == name]
            if not pairs or not len(ix.refs):
                continue
            found = self._tiered(name, [v for _, v in pairs],
                                 ix.search_many([v for _, v in pairs]))
            for (i, _), hs in zip(pairs, found, strict=True):
                hits[i].extend(hs)
        for i, vals in enumerate(items):  # as in _search_for_policy
            if hits[i]:
                hits[i] += self.search_values([v for v in vals if v.signal in weak])
        return [self._apply_policy(best_hits(h),
                                   *(origins[i] if origins else (platform, uploader, uploader_id)),
                                   frames[i] if frames else "") for i, h in enumerate(hits)]

    def _apply_policy(self, hits: list[Hit], platform: str, uploader: str, uploader_id: str,
                      frame: str) -> list[Match]:
        return decide(hits, self.banks, self.policy, platform=platform, uploader=uploader,
                      uploader_id=uploader_id, frame=frame)

    def match_image(self, image: ImageInput, *, platform: str = "", uploader: str = "",
                    uploader_id: str = "", frame: str = "") -> list[Match]:
        """Hash one image with every signal and match it against every bank."""
        return self.match_values(self.hash_image(image), platform=platform, uploader=uploader,
                                 uploader_id=uploader_id, frame=frame)

    # -- from the catalog --------------------------------------------------------------

    @classmethod
    def from_catalog(cls, catalog: Catalog, *, person_ids: Iterable[int] | None = None,
                     signal_types: Mapping[str, SignalType] | None = None) -> BankSet:
        """Load every person (or only ``person_ids``) with their references."""
        from likewatch.catalog.models import Client, ClientThreshold, Person, Reference

        if signal_types is None:
            from matchers.signals import all_signal_types

            signal_types = all_signal_types()
        with catalog.session() as s:
            from matchers.name_signal import person_names

            generation = bank_generation(catalog)
            overrides: dict[str, dict[str, float]] = {}
            for ct, cname in s.execute(select(ClientThreshold, Client.name)
                                       .join(Client, Client.id == ClientThreshold.client_id)):
                if ct.signal in signal_types:
                    overrides.setdefault(cname, {})[ct.signal] = float(ct.threshold)
            q = select(Person, Client.name).join(Client, Client.id == Person.client_id)
            if person_ids is not None:
                q = q.where(Person.id.in_(list(person_ids)))
            banks: dict[int, ReferenceBank] = {}
            for p, cname in s.execute(q.order_by(Person.id)):
                banks[p.id] = ReferenceBank(p.key, cname, p.id, p.display_name,
                                            parse_official_accounts(p.official_accounts),
                                            names=person_names(p.key, p.display_name,
                                                               p.aliases or []))
            rq = select(Reference).where(Reference.person_id.in_(list(banks)))
            for r in s.scalars(rq.order_by(Reference.id)):
                banks[r.person_id].references.append(
                    BankReference(r.id, {k: list(v) for k, v in (r.signals or {}).items()}))
        calibration = None
        if "face" in signal_types:  # the review tier is set for the whole roster
            def roster() -> list[ReferenceBank]:
                return (list(banks.values()) if person_ids is None else
                        cls.from_catalog(catalog, signal_types=signal_types).banks)

            calibration = roster_calibration(f"{catalog.engine.url}#{generation}", roster,
                                             signal_types["face"])
        policy = tiered_policy(signal_types, overrides, calibration)
        return cls(list(banks.values()), signal_types=signal_types, policy=policy,
                   generation=generation, calibration=calibration)


def bank_generation(catalog: Catalog) -> str:
    """A fingerprint of everything banks are built from; changes whenever any of it does.

    References are only added or deleted (never edited in place), so their count and
    largest id stand for them; persons (keys, official accounts, names) and client
    thresholds are few and hashed in full.
    """
    from likewatch.catalog.models import ClientThreshold, Person, Reference

    h = hashlib.sha256()
    with catalog.session() as s:
        h.update(repr(s.execute(select(func.count(Reference.id), func.max(Reference.id)))
                      .one()).encode())
        for row in s.execute(select(Person.id, Person.client_id, Person.key,
                                    Person.official_accounts, Person.display_name,
                                    Person.aliases).order_by(Person.id)):
            h.update(json.dumps(list(row), default=str, sort_keys=True).encode())
        for trow in s.execute(select(ClientThreshold.client_id, ClientThreshold.signal,
                                     ClientThreshold.threshold).order_by(ClientThreshold.id)):
            h.update(repr(tuple(trow)).encode())
    return h.hexdigest()[:16]


class BankCache:
    """The current BankSet of a catalog, rebuilt only when ``bank_generation`` changes."""

    def __init__(self, signal_types: Mapping[str, SignalType] | None = None) -> None:
        self._types = signal_types
        self._banks: BankSet | None = None
        self.rebuilds = 0

    def get(self, catalog: Catalog) -> BankSet:
        gen = bank_generation(catalog)
        if self._banks is None or self._banks.generation != gen:
            self._banks = BankSet.from_catalog(catalog, signal_types=self._types)
            self.rebuilds += 1
            log.info("reference banks rebuilt: %s", json.dumps(self._banks.stats()))
        return self._banks
