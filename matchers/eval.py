"""``likewatch eval``: how well the matchers find reused likeness, and how often they err.

Data (default ``sandbox/assets/faces``): each paired person (``<id>_1.jpg`` and
``<id>_2.jpg``) is enrolled from ``_1``; ``_2`` is "another photo of the same person".
Unrelated images are every photo of a person not enrolled, a few public-domain pictures
bundled with scikit-image, and synthetic face-free scenes.

Positives: every transform of ``matchers.eval_transforms`` applied to each enrolled
photo with ``variants`` random parameter draws. A positive counts as found when any
signal matches the right person (recall per transform), and per signal.
Unrelated pairs: (positive sample, every other enrolled person) and (unrelated sample -
the unrelated images, raw and transformed - , every enrolled person). Any match in such a
pair is a false match. The report also gives the face-distance margins: the largest
distance of a true face match and the smallest of an impostor.

Output: a table on stdout and in ``eval.md``, a chart ``eval.png`` (matplotlib, Agg) and
the raw figures in ``eval.json``, under ``out``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from matchers.banks import BankReference, BankSet, ReferenceBank
from matchers.enroll import reference_signals
from matchers.eval_transforms import TRANSFORMS, Context, Transform, synthetic_scene
from matchers.images import ImageError, ImageInput

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFS = REPO / "sandbox" / "assets" / "faces"
SKIMAGE_PICTURES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "horse",
                    "immunohistochemistry", "colorwheel")
SIGNALS = ("pdq", "phash", "face", "face_pdq")


@dataclass
class Sample:
    transform: str
    person: str | None  # the enrolled person it shows, None for unrelated
    source: str
    found: set[str] = field(default_factory=set)  # signals that matched the right person
    false: set[tuple[str, str]] = field(default_factory=set)  # (wrong person, signal)
    images: int = 0
    error: str = ""
    true_face: float | None = None  # face distance to the right person
    impostor_face: float | None = None  # smallest face distance to any other person
    face_d: dict[str, float] = field(default_factory=dict)  # person -> best face distance


@dataclass
class EvalReport:
    rows: list[dict[str, Any]]
    unrelated_pairs: int
    false_matches: int
    false_by_signal: dict[str, int]
    margins: dict[str, float | None]
    passed: bool
    markdown: str
    markdown_path: Path
    chart_path: Path
    seconds: float


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


def _skimage_pictures() -> list[tuple[str, Image.Image]]:
    from skimage import data

    out = []
    for name in SKIMAGE_PICTURES:
        arr = np.asarray(getattr(data, name)())
        img = Image.fromarray(arr)
        out.append((f"skimage:{name}", img.convert("RGB")))
    return out


class _Scorer:
    """Matches a sample's images and keeps the face distances for the margins."""

    def __init__(self, banks: BankSet) -> None:
        self.banks = banks
        face = banks.types["face"]
        self.face_refs: list[npt.NDArray[np.float32]] = [
            np.stack([face.to_array(v) for r in b.references
                      for v in r.signals.get("face", [])]).astype(np.float32)
            for b in banks.banks]

    def score(self, sample: Sample, images: list[ImageInput]) -> None:
        sample.images = len(images)
        face = self.banks.types["face"]
        for img in images:
            try:
                values = self.banks.hash_image(img)
            except ImageError as e:
                sample.error = str(e)
                continue
            for m in self.banks.match_values(values):
                if m.person == sample.person:
                    sample.found.add(m.signal)
                else:
                    sample.false.add((m.person, m.signal))
            for v in values:
                if v.signal != "face":
                    continue
                q = np.asarray(face.to_array(v.value), dtype=np.float32)
                for bank, refs in zip(self.banks.banks, self.face_refs, strict=True):
                    d = float(np.linalg.norm(refs - q, axis=1).min())
                    sample.face_d[bank.key] = min(d, sample.face_d.get(bank.key, d))
                    if bank.key == sample.person:
                        sample.true_face = d if sample.true_face is None else min(
                            sample.true_face, d)
                    elif sample.impostor_face is None or d < sample.impostor_face:
                        sample.impostor_face = d


def run_eval(out: Path, *, refs: Path | None = None, limit: int | None = None,
             variants: int | None = None, negative_variants: int = 1, scenes: int = 300,
             negatives: int | None = None, transforms: list[str] | None = None,
             seed: int = 0, echo: Callable[[str], object] = lambda s: None) -> EvalReport:
    """Run the evaluation; see the module docstring. Writes eval.md/png/json under ``out``."""
    from matchers.signals import all_signal_types

    started = time.perf_counter()
    variants = 4 if variants is None else variants
    chosen = [t for t in TRANSFORMS if transforms is None or t.name in transforms]
    if transforms is not None and len(chosen) != len(set(transforms)):
        known = ", ".join(t.name for t in TRANSFORMS)
        raise ValueError(f"unknown transform in {transforms}; known: {known}")
    paired, singles = load_photos(refs or DEFAULT_REFS)
    ids = sorted(paired)[:limit] if limit else sorted(paired)
    types = all_signal_types()
    banks = BankSet([ReferenceBank(pid, "eval", references=[BankReference(
        i, reference_signals(ImageInput.from_path(paired[pid][0]), types,
                             label=str(paired[pid][0]))[0])]) for i, pid in enumerate(ids)],
        signal_types=types)
    rng = np.random.default_rng(seed)
    unrelated: list[tuple[str, Image.Image]] = [
        (p.name, Image.open(p).convert("RGB")) for p in sorted(singles.values())]
    unrelated += [(paired[k][j].name, Image.open(paired[k][j]).convert("RGB"))
                  for k in sorted(paired) if k not in ids for j in (0, 1)]
    swap_targets = [img for _, img in unrelated]
    unrelated += _skimage_pictures()
    if negatives is not None:
        unrelated = unrelated[:negatives]
    scorer = _Scorer(banks)
    samples: list[Sample] = []
    for pid in ids:
        photo = Image.open(paired[pid][0]).convert("RGB")
        another = Image.open(paired[pid][1]).convert("RGB")
        for t in chosen:
            for v in range(variants):
                ctx = Context(rng, swap_targets, another)
                s = Sample(t.name, pid, f"{paired[pid][0].name}#{v}")
                scorer.score(s, t.fn(photo, ctx))
                samples.append(s)
        echo(f"  person {pid}: {len(chosen) * variants} positives")
    for name, img in unrelated:
        for t in chosen:
            for v in range(negative_variants):
                ctx = Context(rng, swap_targets, None)
                s = Sample(t.name, None, f"{name}#{v}")
                scorer.score(s, t.fn(img, ctx))
                if s.images:
                    samples.append(s)
        s = Sample("raw", None, name)
        scorer.score(s, [ImageInput.from_pil(img)])
        samples.append(s)
    for i in range(scenes):
        size = [(1280, 720), (720, 1280), (640, 360), (480, 480)][i % 4]
        s = Sample("synthetic_scene", None, f"scene#{i}")
        scorer.score(s, [ImageInput.from_pil(synthetic_scene(rng, size))])
        samples.append(s)
    echo(f"  {len(samples)} samples scored in {time.perf_counter() - started:.0f} s")
    return _report(out, samples, len(ids), chosen, time.perf_counter() - started, echo)


def _pct(num: int, den: int) -> str:
    return f"{100.0 * num / den:.1f}%" if den else "-"


def _report(out: Path, samples: list[Sample], n_persons: int, chosen: list[Transform],
            seconds: float, echo: Callable[[str], object]) -> EvalReport:
    rows: list[dict[str, Any]] = []
    passed = True
    for t in chosen:
        pos = [s for s in samples if s.person is not None and s.transform == t.name
               and s.images]
        found = sum(bool(s.found) for s in pos)
        recall = found / len(pos) if pos else 0.0
        ok = None if t.target is None else bool(pos) and recall >= t.target
        passed = passed and ok is not False
        rows.append({"transform": t.name, "n": len(pos), "found": found, "recall": recall,
                     "by_signal": {sig: sum(sig in s.found for s in pos) / len(pos) if pos
                                   else 0.0 for sig in SIGNALS},
                     "target": t.target, "pass": ok,
                     "errors": sum(bool(s.error) for s in samples if s.transform == t.name)})
    pairs = sum(n_persons - 1 if s.person is not None else n_persons for s in samples)
    false_pairs = sum(len({p for p, _ in s.false}) for s in samples)
    by_signal = {sig: sum(sum(1 for _, g in s.false if g == sig) for s in samples)
                 for sig in SIGNALS}
    passed = passed and false_pairs == 0 and pairs >= 10_000
    true_face = [s.true_face for s in samples if s.true_face is not None]
    imp_face = [s.impostor_face for s in samples if s.impostor_face is not None]
    margins = {"face_true_max": max(true_face) if true_face else None,
               "face_impostor_min": min(imp_face) if imp_face else None}
    lines = ["| transform | n | recall (any signal) | " + " | ".join(SIGNALS)
             + " | target | pass |", "|---" * (5 + len(SIGNALS)) + "|"]
    for r in rows:
        tgt = "-" if r["target"] is None else f">= {r['target']:.0%}"
        verdict = "-" if r["pass"] is None else ("yes" if r["pass"] else "NO")
        lines.append(f"| {r['transform']} | {r['n']} | {_pct(r['found'], r['n'])} | "
                     + " | ".join(f"{100 * r['by_signal'][s]:.1f}%" for s in SIGNALS)
                     + f" | {tgt} | {verdict} |")
    lines += ["", f"Unrelated pairs: {pairs} (target >= 10,000); false matches: {false_pairs} "
              f"(by signal: {', '.join(f'{k} {v}' for k, v in by_signal.items())}).",
              f"Face distance: largest true match {_fmt(margins['face_true_max'])}, "
              f"smallest impostor {_fmt(margins['face_impostor_min'])}.",
              f"Persons enrolled: {n_persons}; samples: {len(samples)}; {seconds:.0f} s.",
              f"Overall: {'PASS' if passed else 'FAIL'}."]
    lines += ["", "Face threshold sweep (other signals as they are; the policy uses "
              f"{FACE_SWEEP_NOTE}):", "",
              "| face threshold | false matches | another_photo | face_swap_composite "
              "| lowest recall, targeted transforms |", "|---|---|---|---|---|"]
    for row in face_sweep(samples, chosen):
        lines.append(f"| {row['threshold']:.3f} | {row['false']} | "
                     f"{_pct(*row['another_photo'])} | {_pct(*row['face_swap_composite'])} | "
                     f"{100 * row['lowest']:.1f}% |")
    markdown = "\n".join(lines)
    echo(markdown)
    out.mkdir(parents=True, exist_ok=True)
    md_path, chart_path = out / "eval.md", out / "eval.png"
    md_path.write_text("# likewatch eval\n\n" + markdown + "\n", encoding="utf-8")
    (out / "eval.json").write_text(json.dumps(
        {"rows": rows, "unrelated_pairs": pairs, "false_matches": false_pairs,
         "false_by_signal": by_signal, "margins": margins, "passed": passed,
         "misses": [(s.transform, s.source, s.true_face) for s in samples
                    if s.person is not None and s.images and not s.found],
         "no_image": [(s.transform, s.source, s.error) for s in samples
                      if s.person is not None and not s.images],
         "false": [(s.transform, s.source, sorted(s.false)) for s in samples if s.false]},
        indent=1), encoding="utf-8")
    _chart(rows, chart_path, f"false matches: {false_pairs} over {pairs} unrelated pairs")
    return EvalReport(rows, pairs, false_pairs, by_signal, margins, passed, markdown,
                      md_path, chart_path, seconds)


FACE_SWEEP = (0.48, 0.49, 0.50, 0.505, 0.51, 0.52, 0.53, 0.54, 0.56, 0.60)
FACE_SWEEP_NOTE = "the face signal's THRESHOLD unless a client overrides it"


def face_sweep(samples: list[Sample], chosen: list[Transform]) -> list[dict[str, Any]]:
    """Recall and false matches had the face threshold been each of FACE_SWEEP."""
    out = []
    for thr in FACE_SWEEP:
        def found(s: Sample, thr: float = thr) -> bool:
            return bool(s.found - {"face"}) or s.face_d.get(s.person or "", 9.0) <= thr

        false = 0
        for s in samples:
            wrong = {p for p, g in s.false if g != "face"}
            wrong |= {p for p, d in s.face_d.items() if p != s.person and d <= thr}
            false += len(wrong)
        row: dict[str, Any] = {"threshold": thr, "false": false}
        lowest = 1.0
        for t in chosen:
            pos = [s for s in samples if s.person is not None and s.transform == t.name
                   and s.images]
            n_found = sum(found(s) for s in pos)
            row[t.name] = (n_found, len(pos))
            if t.target is not None and pos:
                lowest = min(lowest, n_found / len(pos))
        row["lowest"] = lowest
        row.setdefault("another_photo", (0, 0))
        row.setdefault("face_swap_composite", (0, 0))
        out.append(row)
    return out


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _chart(rows: list[dict[str, Any]], path: Path, note: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["transform"] for r in rows]
    x = np.arange(len(names))
    series = [("any", [r["recall"] for r in rows])] + [
        (s, [r["by_signal"][s] for r in rows]) for s in SIGNALS]
    fig, ax = plt.subplots(figsize=(13, 5.5), dpi=100)
    width = 0.8 / len(series)
    for i, (label, vals) in enumerate(series):
        ax.bar(x + (i - len(series) / 2 + 0.5) * width, [100 * v for v in vals], width,
               label=label)
    for i, r in enumerate(rows):
        if r["target"] is not None:
            ax.hlines(100 * r["target"], i - 0.45, i + 0.45, colors="black", linewidth=1.5)
    ax.set_xticks(x, names, rotation=35, ha="right")
    ax.set_ylabel("recall %")
    ax.set_ylim(0, 105)
    ax.set_title("likewatch eval: recall per transform and signal (black: target); " + note)
    ax.legend(ncol=5, loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
