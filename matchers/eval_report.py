"""The tables and plots of ``likewatch eval`` (``matchers/eval.py``), per tier.

Acceptance (issue 13), checked on the held-out folds: every exact-reuse kind found at
alert tier in >= 99% of cases; likeness (another photo, face swaps) >= 95% at either tier
and >= 85% at alert tier; no unrelated file alerts; at most 2% of unrelated files wait in
review with a wrong person.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matchers.calibration import REVIEW_FILE_TARGET

if TYPE_CHECKING:
    from matchers.eval import Sample
    from matchers.eval_transforms import Transform

SIGNALS = ("pdq", "phash", "face", "face_pdq")
REVIEW_FILE_BUDGET = 0.02


@dataclass
class EvalReport:
    rows: list[dict[str, Any]]
    unrelated: dict[str, Any]
    folds: list[dict[str, Any]]
    margins: dict[str, Any]
    passed: bool
    markdown: str
    markdown_path: Path
    charts: list[Path]
    seconds: float


def _pct(num: int, den: int) -> str:
    return f"{100.0 * num / den:.1f}%" if den else "-"


def _rows(samples: Sequence[Sample], chosen: Sequence[Transform]) -> list[dict[str, Any]]:
    rows = []
    for t in chosen:
        pos = [s for s in samples if s.person is not None and s.transform == t.name
               and s.images]
        alert = sum(s.tier == "alert" for s in pos)
        either = sum(bool(s.tier) for s in pos)
        n = len(pos)
        if t.target is None:
            ok = None
        elif t.exact_reuse:
            ok = bool(n) and alert >= t.target * n
        else:
            ok = bool(n) and either >= t.target * n and alert >= (t.alert_target or 0) * n
        rows.append({"transform": t.name, "n": n, "alert": alert, "either": either,
                     "by_signal": {sig: sum(sig in s.found for s in pos) for sig in SIGNALS},
                     "target": t.target, "alert_target": t.alert_target,
                     "exact_reuse": t.exact_reuse, "pass": ok,
                     "errors": sum(bool(s.error) for s in samples if s.transform == t.name)})
    return rows


def _unrelated(samples: Sequence[Sample], n_enrolled: int) -> dict[str, Any]:
    neg = [s for s in samples if s.person is None and s.images]
    pos = [s for s in samples if s.person is not None and s.images]
    with_face = [s for s in neg if any(v.signal == "face" for img in s.images for v in img)]
    alert_files = [s for s in neg if "alert" in s.false.values()]
    review_files = [s for s in neg if s.false and "alert" not in s.false.values()]
    return {
        "files": len(neg), "files_with_faces": len(with_face),
        "false_alert_files": len(alert_files), "false_review_files": len(review_files),
        "person_pairs": len(neg) * n_enrolled + len(pos) * (n_enrolled - 1),
        "false_alert_pairs": sum(list(s.false.values()).count("alert") for s in neg + pos),
        "false_review_pairs": sum(list(s.false.values()).count("review") for s in neg + pos),
        "positives_with_a_wrong_person": sum(bool(s.false) for s in pos),
        "false": [(s.transform, s.source, sorted(s.false.items())) for s in neg + pos
                  if s.false],
    }


def _margins(samples: Sequence[Sample]) -> dict[str, Any]:
    likeness = [s for s in samples if s.person is not None and s.true_face is not None
                and s.transform in ("another_photo", "face_swap_composite",
                                    "face_swap_enrolled_photo")]
    strangers = [s.impostor_face for s in samples if s.impostor_face is not None]
    true = [s.true_face for s in likeness if s.true_face is not None]
    return {
        "closest_impostor_distance": min((d for d, _ in strangers), default=None),
        "highest_impostor_score": max((sc for _, sc in strangers), default=None),
        "furthest_true_distance": max((d for d, _ in true), default=None),
        "lowest_true_score": min((sc for _, sc in true), default=None),
        "true_scores": sorted(sc for _, sc in true),
        "impostor_scores": sorted(sc for _, sc in strangers),
    }


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def _markdown(rows: list[dict[str, Any]], un: dict[str, Any], folds: list[dict[str, Any]],
              margins: dict[str, Any], passed: bool, n_enrolled: int, seconds: float) -> str:
    lines = ["Recall per transform on the held-out folds (alert: pushed to subscribers; "
             "either: alert or review).", "",
             "| transform | n | alert | either | " + " | ".join(SIGNALS) + " | target | pass |",
             "|---" * (6 + len(SIGNALS)) + "|"]
    for r in rows:
        if r["target"] is None:
            tgt = "-"
        elif r["exact_reuse"]:
            tgt = f"alert >= {r['target']:.0%}"
        else:
            tgt = f"either >= {r['target']:.0%}, alert >= {r['alert_target']:.0%}"
        verdict = "-" if r["pass"] is None else ("yes" if r["pass"] else "NO")
        lines.append(f"| {r['transform']} | {r['n']} | {_pct(r['alert'], r['n'])} | "
                     f"{_pct(r['either'], r['n'])} | "
                     + " | ".join(_pct(r["by_signal"][s], r["n"]) for s in SIGNALS)
                     + f" | {tgt} | {verdict} |")
    lines += ["", f"Unrelated files: {un['files']} ({un['files_with_faces']} with a face), "
              f"{n_enrolled} people enrolled, {un['person_pairs']} person pairs. "
              f"False alerts: {un['false_alert_files']} files ({un['false_alert_pairs']} "
              f"pairs, target 0); wrong review: {un['false_review_files']} files "
              f"({_pct(un['false_review_files'], un['files_with_faces'])} of those with a "
              f"face; {un['false_review_pairs']} pairs; budget "
              f"{REVIEW_FILE_BUDGET:.0%} of files). Positives that also matched someone "
              f"else: {un['positives_with_a_wrong_person']}.", "",
              "Folds: thresholds fitted on the calibration part (the review tier's "
              "operating point for this roster: at most "
              f"{REVIEW_FILE_TARGET:.2%} of the calibration part's faces wait for review "
              "with a wrong person); the held-out part's cohort pairs scored with them.", "",
              "| fold | calibration / held out | alert score | review score | review distance "
              "| held-out pairs | alert | review |", "|---|---|---|---|---|---|---|---|"]
    for f in folds:
        t, p = f["thresholds"], f["cohort_pairs"]
        lines.append(f"| {f['fold']} | {f['calibration_people']} / {f['held_out_people']} | "
                     f"{t['alert_score']:.2f} | {t['review_score']:.2f} | "
                     f"{t['review_distance']:.3f} | {p['pairs']} | {p['alert']} "
                     f"({p['alert'] / max(p['pairs'], 1):.1e}) | {p['review']} "
                     f"({p['review'] / max(p['pairs'], 1):.1e}) |")
    lines += ["", "Margin (face): closest stranger at distance "
              f"{_fmt(margins['closest_impostor_distance'])}, highest stranger score "
              f"{_fmt(margins['highest_impostor_score'], '.2f')}; furthest true likeness "
              f"match at distance {_fmt(margins['furthest_true_distance'])}, lowest true "
              f"score {_fmt(margins['lowest_true_score'], '.2f')}.",
              f"Overall: {'PASS' if passed else 'FAIL'} ({seconds:.0f} s)."]
    return "\n".join(lines)


def _charts(out: Path, rows: list[dict[str, Any]], un: dict[str, Any],
            folds: list[dict[str, Any]], margins: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths = []
    names = [r["transform"] for r in rows]
    x = np.arange(len(names))
    for tier, key, note in (("alert", "alert", f"false alert files: {un['false_alert_files']}"),
                            ("review", "either", f"wrong-review files: "
                             f"{un['false_review_files']} of {un['files']} "
                             f"({_pct(un['false_review_files'], un['files'])}, budget "
                             f"{REVIEW_FILE_BUDGET:.0%})")):
        fig, ax = plt.subplots(figsize=(13, 5), dpi=100)
        vals = [100 * r[key] / r["n"] if r["n"] else 0 for r in rows]
        ax.bar(x, vals, 0.6, color="tab:red" if tier == "alert" else "tab:orange")
        for i, r in enumerate(rows):
            if tier == "alert":
                goal = r["target"] if r["exact_reuse"] else r["alert_target"]
            else:
                goal = None if r["exact_reuse"] else r["target"]
            if goal is not None:
                ax.hlines(100 * goal, i - 0.4, i + 0.4, colors="black", linewidth=1.5)
        ax.set_xticks(x, names, rotation=35, ha="right")
        ax.set_ylim(0, 105)
        ax.set_ylabel("recall %")
        ax.set_title(f"likewatch eval, {'alert tier' if tier == 'alert' else 'either tier'} "
                     f"(held-out folds; black: target); {note}")
        fig.tight_layout()
        paths.append(out / f"eval-{tier}.png")
        fig.savefig(paths[-1])
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    bins = np.linspace(-4, 20, 97).tolist()
    ax.hist(np.clip(margins["impostor_scores"], -4, 20), bins, alpha=0.6, log=True,
            label="closest enrolled person to each unrelated face")
    ax.hist(np.clip(margins["true_scores"], -4, 20), bins, alpha=0.6, log=True,
            label="true likeness matches (another photo, face swaps)")
    for f in folds:
        ax.axvline(f["thresholds"]["alert_score"], color="tab:red", linewidth=1)
        ax.axvline(f["thresholds"]["review_score"], color="tab:orange", linewidth=1)
    ax.set_xlabel("face score (AS-norm); red: alert threshold per fold, orange: review")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "eval-margin.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    return paths


def write_report(out: Path, samples: Sequence[Sample], chosen: Sequence[Transform],
                 folds: list[dict[str, Any]], n_enrolled: int, seconds: float,
                 echo: Callable[[str], object]) -> EvalReport:
    rows = _rows(samples, chosen)
    un = _unrelated(samples, n_enrolled)
    margins = _margins(samples)
    passed = (all(r["pass"] is not False for r in rows) and un["false_alert_files"] == 0
              and un["false_review_files"] <= REVIEW_FILE_BUDGET * un["files"])
    markdown = _markdown(rows, un, folds, margins, passed, n_enrolled, seconds)
    echo(markdown)
    out.mkdir(parents=True, exist_ok=True)
    md_path = out / "eval.md"
    md_path.write_text("# likewatch eval\n\n" + markdown + "\n", encoding="utf-8")
    misses = [(s.transform, s.source, s.true_face) for s in samples
              if s.person is not None and s.images and not s.tier]
    (out / "eval.json").write_text(json.dumps(
        {"rows": rows, "unrelated": un, "folds": folds,
         "margins": {k: v for k, v in margins.items() if not k.endswith("_scores")},
         "passed": passed, "misses": misses,
         "review_only": [(s.transform, s.source, s.true_face) for s in samples
                         if s.person is not None and s.tier == "review"],
         "no_image": [(s.transform, s.source, s.error) for s in samples
                      if s.person is not None and not s.images]}, indent=1),
        encoding="utf-8")
    charts = _charts(out, rows, un, folds, margins)
    return EvalReport(rows, un, folds, margins, passed, markdown, md_path, charts, seconds)
