"""Generating the sandbox's data directory once, and reusing it afterwards.

Layout of DATA_DIR::

    catalog.json          the catalogue (items in publication order, plans, truth)
    ground_truth.json     which items derive from which demo person (tests and demo only)
    references/           the demo persons' photos (enrolment `_1`, held-out `_2`)
    media/thumb/ID.jpg    640x360 JPEG thumbnails
    media/video/ID.mp4    640x360 H.264 clips, 3-6 s
    .generated            stamp: seed and a hash of the generator's source code
    .partial              while media are still being rendered (seed and that hash)

The catalogue, references and ground truth are written first (under ``.partial``), then
the media, each file under a temporary name renamed into place
(:mod:`sandbox.render`), and the stamp last: an interrupted run leaves ``.partial`` and
the next one renders only the files still missing. A stamp or ``.partial`` that does not
match the seed or the generator code causes a rebuild. :func:`start` returns as soon as
the catalogue is written, rendering in the background (the demo serves meanwhile,
rendering on demand what a client asks for first); :func:`ensure_generated` waits.

:func:`default_data_dir` is the one cache the demo, ``likewatch sandbox`` and the tests
share: ``.cache/sandbox/seed-N`` in a source checkout, whatever ``LIKEWATCH_HOME`` is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from sandbox.catalog import FACES_DIR, Catalogue, build_catalog
from sandbox.pages import PAGE_SIZE
from sandbox.render import PROGRESS_EVERY, Progress, Renderer, Task, missing

STAMP = ".generated"
PARTIAL = ".partial"
_GENERATOR_MODULES = ("catalog.py", "names.py", "imaging.py", "faceswap.py", "video.py",
                      "render.py", "generate.py")
_SOURCE_ROOT = Path(__file__).resolve().parents[1]


def default_data_dir(seed: int = 1) -> Path:
    """Where the data of ``seed`` is cached: ``$LIKEWATCH_SANDBOX_DATA`` if set, else
    ``.cache/sandbox/seed-N`` in the source checkout (shared by the demo and the tests,
    kept across ``LIKEWATCH_HOME``s), else the user's cache folder (an installed package)."""
    override = os.environ.get("LIKEWATCH_SANDBOX_DATA")
    if override:
        return Path(override)
    if (_SOURCE_ROOT / "pyproject.toml").is_file() and os.access(_SOURCE_ROOT, os.W_OK):
        base = _SOURCE_ROOT / ".cache" / "sandbox"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "likewatch" / "sandbox"
    return base / f"seed-{seed}"


def generator_version() -> str:
    """A hash of the generator's source: changing the code invalidates cached data dirs."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _GENERATOR_MODULES:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def _marker_ok(data_dir: Path, name: str, seed: int) -> bool:
    try:
        stamp = json.loads((data_dir / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(stamp.get("seed") == seed and stamp.get("version") == generator_version())


def _stamp_ok(data_dir: Path, seed: int) -> bool:
    return _marker_ok(data_dir, STAMP, seed)


def ensure_generated(data_dir: Path, seed: int = 1, progress: Progress | None = None,
                     workers: int | None = None) -> Catalogue:
    """Return the catalogue in `data_dir`, generating it first if missing, stale or
    unfinished (Ctrl-C stops the renders; the next call goes on from there)."""
    catalogue, renderer = start(data_dir, seed, progress, workers)
    if renderer is not None:
        renderer.wait()
    return catalogue


def start(data_dir: Path, seed: int = 1, progress: Progress | None = None,
          workers: int | None = None, every: float = PROGRESS_EVERY,
          ) -> tuple[Catalogue, Renderer | None]:
    """The catalogue of `data_dir` and, if media are still to render, the started
    :class:`~sandbox.render.Renderer` rendering them in the background (else None), with
    a progress line every `every` seconds."""
    data_dir = Path(data_dir).resolve()
    if _stamp_ok(data_dir, seed):
        catalogue = Catalogue.from_json((data_dir / "catalog.json").read_text(encoding="utf-8"))
        write_ground_truth(data_dir, catalogue)
        return catalogue, None
    if data_dir.exists() and any(data_dir.iterdir()):
        if not ((data_dir / STAMP).exists() or (data_dir / PARTIAL).exists()):
            raise FileExistsError(f"{data_dir} is not empty and is not a sandbox data directory")
        if not _marker_ok(data_dir, PARTIAL, seed):  # another seed or generator: start over
            shutil.rmtree(data_dir)
    catalogue = build_catalog(seed)
    marker = json.dumps({"seed": seed, "version": generator_version(),
                         "digest": catalogue.digest()})
    # The marker first: whatever is left after a crash is recognisably ours.
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / PARTIAL).write_text(marker, encoding="utf-8")
    _write_catalogue(data_dir, catalogue)
    write_ground_truth(data_dir, catalogue)
    tasks = [t for t in by_priority(catalogue) if missing(data_dir, t)]
    n_videos = sum(1 for _, plan in tasks if plan["video"])

    def finish() -> None:
        (data_dir / STAMP).write_text(marker, encoding="utf-8")
        (data_dir / PARTIAL).unlink(missing_ok=True)

    renderer = Renderer(data_dir, tasks, progress=progress, workers=workers, on_done=finish,
                        every=every)
    if progress:
        progress(f"sandbox: rendering {len(tasks)} items ({n_videos} with a video clip) on "
                 f"{renderer.workers} process(es) into {data_dir}: once, then cached")
    return catalogue, renderer.start()


def generate(out: Path, seed: int, progress: Progress | None = None,
             workers: int | None = None) -> Catalogue:
    """Render the whole catalogue for `seed` into the directory `out` (and wait)."""
    return ensure_generated(out, seed, progress, workers)


def by_priority(catalogue: Catalogue) -> list[Task]:
    """Every item's (id, plan), in the order a client is likely to ask for them: the first
    two listing pages (newest first), the reserve in publication order, then the rest."""
    items = catalogue.items
    n = catalogue.n_published
    first = list(range(n - 1, max(-1, n - 1 - 2 * PAGE_SIZE), -1))
    order = first + list(range(n, len(items))) + list(range(n - 1 - len(first), -1, -1))
    return [(items[i]["id"], catalogue.plans[items[i]["id"]]) for i in order]


def _write_catalogue(out: Path, catalogue: Catalogue) -> None:
    """Everything but the media: folders, reference photos, catalog.json."""
    (out / "media" / "thumb").mkdir(parents=True, exist_ok=True)
    (out / "media" / "video").mkdir(parents=True, exist_ok=True)
    refs = out / "references"
    refs.mkdir(exist_ok=True)
    for key, person in catalogue.persons.items():
        for i, photo in enumerate(person["photos"], start=1):
            shutil.copyfile(FACES_DIR / photo, refs / f"{key}_{i}.jpg")
    tmp = out / f".catalog.json.tmp-{os.getpid()}"
    tmp.write_text(catalogue.to_json(), encoding="utf-8")
    tmp.replace(out / "catalog.json")


def write_ground_truth(data_dir: Path, catalogue: Catalogue) -> Path:
    """Write DATA_DIR/ground_truth.json (absolute paths to the reference photos)."""
    refs = data_dir / "references"
    doc = {
        "persons": {
            key: {
                "label": person["label"],
                "reference_files": [str(refs / f"{key}_1.jpg")],
                "other_photos": [str(refs / f"{key}_2.jpg")],
            }
            for key, person in catalogue.persons.items()
        },
        "items": catalogue.truth,
        "published_at_start": catalogue.n_published,
    }
    path = data_dir / "ground_truth.json"
    text = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path
