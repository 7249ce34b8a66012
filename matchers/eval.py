"""``likewatch eval``: how well the matchers find reused likeness, and how often they err,
measured on folds the calibration never saw.

Data: the repository's faces (``--refs``, default ``sandbox/assets/faces``: 30 people, ten
with a second photo ``<id>_2.jpg``) and the background cohort (``--cohort``, default
``../shared/data/faces-cohort``: 400 other people). Every repository person is enrolled
from ``<id>_1.jpg``.

The cohort is cut into ``folds`` parts. For fold f:

- **calibrate** on the other parts only: the face thresholds are fitted on their stranger
  pairs, the review tier's operating point on their faces as unrelated faces against the
  enrolled roster (``matchers.calibration.fit_for_roster``: at most
  ``REVIEW_FILE_TARGET`` of them wait for review), and they are the cohort the scores are
  normalised with;
- **report** on part f: its people are the unrelated strangers (each portrait as it is and
  after ``STRANGER_TRANSFORMS``), matched against every enrolled person; their pairs among
  themselves give the cohort's held-out false-match rates; they are also the heads the
  face swaps of this fold land on;
- the paired repository people are dealt round the folds too: fold f's make the positives
  (every transform of ``matchers.eval_transforms``, ``variants`` draws each).

So nothing is reported on what was tuned: the thresholds come from strangers other than
the ones counted, and never from the people that are to be found. Output (``out``):
``eval.md`` (the tables), ``eval.json`` (figures, misses, false matches),
``eval-alert.png`` and ``eval-review.png`` (recall per transform at each tier) and
``eval-margin.png`` (scores of true matches and of strangers, with each fold's thresholds).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from matchers.banks import BankReference, BankSet, ReferenceBank
from matchers.calibration import FaceCalibration, FaceThresholds, fit_for_roster
from matchers.cohort import PROVENANCE_FILE, embed_folder, load_cohort
from matchers.enroll import reference_signals
from matchers.eval_report import EvalReport, write_report
from matchers.eval_transforms import (
    STRANGER_TRANSFORMS,
    TRANSFORMS,
    Context,
    Transform,
    synthetic_scene,
)
from matchers.images import ImageError, ImageInput
from matchers.signals import all_signal_types
from matchers.signals.base import SignalType, SignalValue
from matchers.tiers import tiered_policy

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFS = REPO / "sandbox" / "assets" / "faces"
DEFAULT_COHORT = REPO.parent / "shared" / "data" / "faces-cohort"
SKIMAGE_PICTURES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "horse",
                    "immunohistochemistry", "colorwheel")


@dataclass
class Sample:
    """One file the matchers see: a positive (``person`` set) or an unrelated one."""

    transform: str
    person: str | None
    source: str
    fold: int
    images: list[list[SignalValue]] = field(default_factory=list)
    error: str = ""
    tier: str = ""  # best tier that found the right person ("" = missed)
    found: dict[str, str] = field(default_factory=dict)  # signal -> best tier, right person
    false: dict[str, str] = field(default_factory=dict)  # wrong person -> best tier
    true_face: tuple[float, float] | None = None  # (distance, score), best right-person face
    impostor_face: tuple[float, float] | None = None  # (distance, score), closest stranger


def load_photos(folder: Path) -> tuple[dict[str, tuple[Path, Path]], dict[str, Path]]:
    """({id: (_1, _2)} for paired persons, {id: _1} for the others)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"reference folder not found: {folder}")
    ones = {p.name[:-6]: p for p in sorted(folder.glob("*_1.jpg"))}
    twos = {p.name[:-6]: p for p in sorted(folder.glob("*_2.jpg"))}
    paired = {k: (ones[k], twos[k]) for k in ones if k in twos}
    if not paired:
        raise FileNotFoundError(f"no <id>_1.jpg / <id>_2.jpg pairs in {folder}")
    return paired, {k: v for k, v in ones.items() if k not in twos}


def cohort_embeddings(folder: Path) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """The cohort's files and embeddings: the committed ones when ``folder`` holds exactly
    the files they were made from (by sha256), else computed now."""
    import hashlib

    if not folder.is_dir():
        raise FileNotFoundError(f"cohort folder not found: {folder}")
    files = sorted(folder.glob("*.jpg"))
    rows = json.loads(PROVENANCE_FILE.read_text(encoding="utf-8"))["files"]
    if [f.name for f in files] == [r["file"] for r in rows] and all(
            hashlib.sha256(f.read_bytes()).hexdigest() == r["sha256"]
            for f, r in zip(files, rows, strict=True)):
        probes, refs = load_cohort()
        return files, probes, refs
    probes, refs, _ = embed_folder(folder)
    return files, probes, refs


def _skimage_pictures() -> list[tuple[str, Image.Image]]:
    from skimage import data

    return [(f"skimage:{name}", Image.fromarray(np.asarray(getattr(data, name)())).convert("RGB"))
            for name in SKIMAGE_PICTURES]


def _hash(sample: Sample, images: Sequence[ImageInput], types: dict[str, SignalType]) -> Sample:
    for img in images:
        try:
            sample.images.append([v for t in types.values() for v in t.hash(img)])
        except ImageError as e:
            sample.error = str(e)
    return sample


_RANK = {"alert": 2, "review": 1, "": 0}


def _better(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


def _face_refs(banks: BankSet) -> list[np.ndarray]:
    face = banks.types["face"]
    return [np.stack([np.asarray(face.to_array(v), np.float32) for r in b.references
                      for v in r.signals["face"]]) for b in banks.banks]


def _score(sample: Sample, banks: BankSet, refs: list[np.ndarray]) -> None:
    """Match every image of ``sample`` and keep the best tier per person, and the face
    distances and scores of the right person and of the closest other one (``refs``: each
    bank's face references)."""
    assert banks.calibration is not None
    face = banks.types["face"]
    for values in sample.images:
        for m in banks.match_values(values):
            if m.person == sample.person:
                sample.found[m.signal] = _better(sample.found.get(m.signal, ""), m.tier)
                sample.tier = _better(sample.tier, m.tier)
            else:
                sample.false[m.person] = _better(sample.false.get(m.person, ""), m.tier)
        faces = [np.asarray(face.to_array(v.value), np.float32) for v in values
                 if v.signal == "face"]
        if not faces:
            continue
        probes = banks.calibration.probe_sides(np.stack(faces))
        for vec, probe in zip(faces, probes, strict=True):
            for bank, rows, side in zip(banks.banks, refs, banks.face_sides, strict=True):
                d = float(np.linalg.norm(rows - vec, axis=1).min())
                pair = (d, banks.calibration.score(d, side, probe))
                if bank.key == sample.person:
                    if sample.true_face is None or pair[1] > sample.true_face[1]:
                        sample.true_face = pair
                elif sample.impostor_face is None or pair[1] > sample.impostor_face[1]:
                    sample.impostor_face = pair


def _held_out_pairs(cal: FaceCalibration, probes: np.ndarray, refs: np.ndarray
                    ) -> dict[str, int]:
    """Tiers the fold's calibration gives to the held-out cohort's pairs among themselves."""
    persons = cal.person_sides([r[None] for r in refs])
    faces = cal.probe_sides(probes)
    d = np.linalg.norm(refs[:, None] - probes[None], axis=2)
    out = {"pairs": len(refs) * (len(refs) - 1), "alert": 0, "review": 0}
    for a, b in zip(*np.nonzero(d <= cal.thresholds.ceiling), strict=True):
        if a != b and (got := cal.decide(float(d[a, b]), persons[a], faces[b])):
            out[got[0]] += 1
    return out


def run_eval(out: Path, *, refs: Path | None = None, cohort: Path | None = None,
             folds: int = 5, limit: int | None = None, variants: int | None = None,
             strangers: int | None = None, scenes: int = 100,
             transforms: list[str] | None = None, seed: int = 0,
             echo: Callable[[str], object] = lambda s: None) -> EvalReport:
    """Run the evaluation; see the module docstring."""
    started = time.perf_counter()
    variants = 4 if variants is None else variants
    chosen = [t for t in TRANSFORMS if transforms is None or t.name in transforms]
    if transforms is not None and len(chosen) != len(set(transforms)):
        known = ", ".join(t.name for t in TRANSFORMS)
        raise ValueError(f"unknown transform in {transforms}; known: {known}")
    if folds < 2:
        raise ValueError("--folds must be at least 2: calibrate on some, report on another")
    paired, singles = load_photos(refs or DEFAULT_REFS)
    files, c_probes, c_refs = cohort_embeddings(cohort or DEFAULT_COHORT)
    types = all_signal_types()
    everyone = {**{k: v[0] for k, v in paired.items()}, **singles}
    enrolled = [ReferenceBank(pid, "eval", references=[BankReference(i, reference_signals(
        ImageInput.from_path(path), types, label=str(path))[0])])
        for i, (pid, path) in enumerate(sorted(everyone.items()))]
    face = types["face"]
    roster = [np.stack([face.to_array(v) for r in b.references for v in r.signals["face"]]
                       ).astype(np.float32)
              for b in enrolled if any(r.signals.get("face") for r in b.references)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(files))
    parts = [order[f::folds] for f in range(folds)]
    ids = sorted(paired)[:limit] if limit else sorted(paired)
    samples: list[Sample] = []
    fold_rows: list[dict[str, object]] = []
    for f in range(folds):
        held = parts[f]
        train = np.concatenate([parts[g] for g in range(folds) if g != f])
        thresholds = fit_for_roster(c_probes[train], c_refs[train], roster)
        cal = FaceCalibration(c_probes[train], c_refs[train], thresholds)
        banks = BankSet(enrolled, signal_types=types, calibration=cal,
                        policy=tiered_policy(types, calibration=cal))
        pairs = _held_out_pairs(cal, c_probes[held], c_refs[held])
        heads = [Image.open(files[i]).convert("RGB") for i in held]
        fold_samples = _positives(f, [p for i, p in enumerate(ids) if i % folds == f], paired,
                                  chosen, variants, heads, rng, types)
        shown = held if strangers is None else held[:strangers]
        fold_samples += _strangers(f, [files[i] for i in shown], rng, types)
        if f == 0:
            fold_samples += _non_faces(scenes, rng, types)
        face_refs = _face_refs(banks)
        for s in fold_samples:
            _score(s, banks, face_refs)
        samples += fold_samples
        fold_rows.append({"fold": f, "calibration_people": len(train),
                          "held_out_people": len(held), "thresholds": thresholds.__dict__,
                          "cohort_pairs": pairs})
        echo(f"  fold {f}: {len(fold_samples)} samples; {thresholds}")
    return write_report(out, samples, chosen, fold_rows, len(enrolled),
                        time.perf_counter() - started, echo)


def _positives(fold: int, ids: list[str], paired: dict[str, tuple[Path, Path]],
               chosen: list[Transform], variants: int, heads: list[Image.Image],
               rng: np.random.Generator, types: dict[str, SignalType]) -> list[Sample]:
    out = []
    for pid in ids:
        photo = Image.open(paired[pid][0]).convert("RGB")
        another = Image.open(paired[pid][1]).convert("RGB")
        for t in chosen:
            for v in range(variants):
                s = Sample(t.name, pid, f"{paired[pid][0].name}#{v}", fold)
                out.append(_hash(s, t.fn(photo, Context(rng, heads, another)), types))
    return out


def _strangers(fold: int, files: list[Path], rng: np.random.Generator,
               types: dict[str, SignalType]) -> list[Sample]:
    by_name = {t.name: t for t in TRANSFORMS}
    out = []
    for path in files:
        img = Image.open(path).convert("RGB")
        out.append(_hash(Sample("raw", None, f"cohort {path.stem}", fold),
                         [ImageInput.from_pil(img)], types))
        for name in STRANGER_TRANSFORMS:
            s = Sample(name, None, f"cohort {path.stem}", fold)
            out.append(_hash(s, by_name[name].fn(img, Context(rng)), types))
    return out


def _non_faces(scenes: int, rng: np.random.Generator,
               types: dict[str, SignalType]) -> list[Sample]:
    out = [_hash(Sample("raw", None, name, 0), [ImageInput.from_pil(img)], types)
           for name, img in _skimage_pictures()]
    for i in range(scenes):
        size = [(1280, 720), (720, 1280), (640, 360), (480, 480)][i % 4]
        out.append(_hash(Sample("synthetic_scene", None, f"scene#{i}", 0),
                         [ImageInput.from_pil(synthetic_scene(rng, size))], types))
    return out


__all__ = ["EvalReport", "FaceThresholds", "Sample", "load_photos", "run_eval"]
