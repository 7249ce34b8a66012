"""Generating the sandbox's data directory once, and reusing it afterwards.

Layout of DATA_DIR::

    catalog.json          the catalogue (items in publication order, plans, truth)
    ground_truth.json     which items derive from which demo person (tests and demo only)
    references/           the demo persons' photos (enrolment `_1`, held-out `_2`)
    media/thumb/ID.jpg    640x360 JPEG thumbnails
    media/video/ID.mp4    640x360 H.264 clips, 3-6 s
    .generated            stamp: seed and a hash of the generator's source code

The directory is built under a temporary name beside DATA_DIR and renamed into place,
so an interrupted run never leaves a half-built catalogue that looks finished. A stamp
that does not match the seed or the generator code causes a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from sandbox import imaging, video
from sandbox.catalog import FACES_DIR, Catalogue, build_catalog

STAMP = ".generated"
_GENERATOR_MODULES = ("catalog.py", "names.py", "imaging.py", "faceswap.py", "video.py",
                      "generate.py")
Progress = Callable[[str], None]


def generator_version() -> str:
    """A hash of the generator's source: changing the code invalidates cached data dirs."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _GENERATOR_MODULES:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def _stamp_ok(data_dir: Path, seed: int) -> bool:
    try:
        stamp = json.loads((data_dir / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(stamp.get("seed") == seed and stamp.get("version") == generator_version())


def ensure_generated(data_dir: Path, seed: int = 1, progress: Progress | None = None) -> Catalogue:
    """Return the catalogue in `data_dir`, generating it first if missing or stale."""
    data_dir = Path(data_dir).resolve()
    if not _stamp_ok(data_dir, seed):
        if data_dir.exists() and any(data_dir.iterdir()) and not (data_dir / STAMP).exists():
            raise FileExistsError(f"{data_dir} is not empty and is not a sandbox data directory")
        tmp = data_dir.with_name(f".{data_dir.name}.building-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        generate(tmp, seed, progress)
        if _stamp_ok(data_dir, seed):
            # Another process built it while we did: keep theirs (it may be in use).
            shutil.rmtree(tmp, ignore_errors=True)
        elif data_dir.exists():
            old = data_dir.with_name(f".{data_dir.name}.old-{os.getpid()}")
            data_dir.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            if tmp.exists():
                tmp.rename(data_dir)
        except OSError:
            # Another process finished first: use its copy if it is good.
            shutil.rmtree(tmp, ignore_errors=True)
            if not _stamp_ok(data_dir, seed):
                raise
    catalogue = Catalogue.from_json((data_dir / "catalog.json").read_text(encoding="utf-8"))
    write_ground_truth(data_dir, catalogue)
    return catalogue


def generate(out: Path, seed: int, progress: Progress | None = None) -> Catalogue:
    """Render the whole catalogue for `seed` into the directory `out`."""
    started = time.monotonic()
    say = progress or (lambda _msg: None)
    catalogue = build_catalog(seed)
    thumbs, videos = out / "media" / "thumb", out / "media" / "video"
    thumbs.mkdir(parents=True, exist_ok=True)
    videos.mkdir(parents=True, exist_ok=True)
    refs = out / "references"
    refs.mkdir()
    for key, person in catalogue.persons.items():
        for i, photo in enumerate(person["photos"], start=1):
            shutil.copyfile(FACES_DIR / photo, refs / f"{key}_{i}.jpg")
    n = len(catalogue.items)
    for index, item in enumerate(catalogue.items):
        plan = catalogue.plans[item["id"]]
        picture = imaging.render(plan["thumbnail"])
        (thumbs / f"{item['id']}.jpg").write_bytes(imaging.jpeg_bytes(picture))
        vplan = plan["video"]
        if vplan:
            scenes = []
            for scene, length in zip(vplan["scenes"], vplan["scene_lengths"], strict=True):
                pic = picture if scene is plan["thumbnail"] else imaging.render(scene)
                scenes.append((pic, length, scene["seed"]))
            video.encode(videos / f"{item['id']}.mp4", scenes, vplan["fps"])
        if progress and (index + 1) % 50 == 0:
            say(f"sandbox: generated {index + 1}/{n} items ({time.monotonic() - started:.1f} s)")
    (out / "catalog.json").write_text(catalogue.to_json(), encoding="utf-8")
    (out / STAMP).write_text(json.dumps({"seed": seed, "version": generator_version(),
                                         "digest": catalogue.digest()}), encoding="utf-8")
    say(f"sandbox: catalogue of {n} items generated in {time.monotonic() - started:.1f} s")
    return catalogue


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
