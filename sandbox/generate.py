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
that does not match the seed or the generator code causes a rebuild. Items are rendered
by a pool of processes (one per core: x264 and Pillow hold one core each), with a
progress line every few seconds.

:func:`default_data_dir` is the one cache the demo, ``likewatch sandbox`` and the tests
share: ``.cache/sandbox/seed-N`` in a source checkout, whatever ``LIKEWATCH_HOME`` is.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from sandbox import imaging, video
from sandbox.catalog import FACES_DIR, Catalogue, build_catalog

STAMP = ".generated"
_GENERATOR_MODULES = ("catalog.py", "names.py", "imaging.py", "faceswap.py", "video.py",
                      "generate.py")
Progress = Callable[[str], None]
PROGRESS_EVERY = 3.0  # seconds between progress lines
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


def generate(out: Path, seed: int, progress: Progress | None = None,
             workers: int | None = None) -> Catalogue:
    """Render the whole catalogue for `seed` into the directory `out`.

    ``workers`` processes render the items (default: one per core, at most 4;
    ``LIKEWATCH_SANDBOX_WORKERS`` overrides); 1 renders in this process. Every item's media
    depend on its own plan only, so the files are the same whatever the order.
    """
    started = time.monotonic()
    say = progress or (lambda _msg: None)
    catalogue = build_catalog(seed)
    (out / "media" / "thumb").mkdir(parents=True, exist_ok=True)
    (out / "media" / "video").mkdir(parents=True, exist_ok=True)
    refs = out / "references"
    refs.mkdir()
    for key, person in catalogue.persons.items():
        for i, photo in enumerate(person["photos"], start=1):
            shutil.copyfile(FACES_DIR / photo, refs / f"{key}_{i}.jpg")
    tasks = [(item["id"], catalogue.plans[item["id"]]) for item in catalogue.items]
    n, n_videos = len(tasks), sum(1 for _, plan in tasks if plan["video"])
    workers = workers or int(os.environ.get("LIKEWATCH_SANDBOX_WORKERS") or 0) or min(
        os.cpu_count() or 1, 4)
    say(f"sandbox: rendering {n} items ({n} thumbnails, {n_videos} video clips) on "
        f"{workers} process(es); done once, then cached")
    done, shown, last = 0, 0, time.monotonic()

    def tick(count: int) -> None:
        # A line every PROGRESS_EVERY seconds while items come in (every 5th otherwise).
        nonlocal done, shown, last
        done += count
        wait = PROGRESS_EVERY if done > shown else 5 * PROGRESS_EVERY
        if progress and time.monotonic() - last >= wait and done < n:
            shown, last = done, time.monotonic()
            say(f"sandbox: {done}/{n} items rendered ({time.monotonic() - started:.0f} s)")

    if workers <= 1:
        for task in tasks:
            tick(render_items(str(out), [task]))
    else:
        _render_in_pool(out, tasks, workers, tick)
    (out / "catalog.json").write_text(catalogue.to_json(), encoding="utf-8")
    (out / STAMP).write_text(json.dumps({"seed": seed, "version": generator_version(),
                                         "digest": catalogue.digest()}), encoding="utf-8")
    say(f"sandbox: catalogue of {n} items generated in {time.monotonic() - started:.1f} s")
    return catalogue


def _render_in_pool(out: Path, tasks: list[tuple[str, dict[str, Any]]], workers: int,
                    tick: Callable[[int], None]) -> None:
    """Render ``tasks`` in ``workers`` processes, a few items per job (a video clip costs
    about ten thumbnails: consecutive items are spread over the jobs)."""
    n_jobs = max(1, min(len(tasks), workers * 48))
    jobs = [tasks[i::n_jobs] for i in range(n_jobs)]
    # fork: the workers start at once, without importing the caller's main script again
    # (generation runs before any server thread starts). They leave Ctrl-C to this
    # process, which stops handing out jobs.
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_ignore_sigint) as pool:
        pending: set[Future[int]] = {pool.submit(render_items, str(out), job) for job in jobs}
        try:
            while pending:
                finished, pending = wait(pending, timeout=PROGRESS_EVERY,
                                         return_when=FIRST_COMPLETED)
                for fut in finished:
                    tick(fut.result())
                if not finished:
                    tick(0)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def render_items(out: str, items: list[tuple[str, dict[str, Any]]]) -> int:
    """Render the thumbnail (and clip, if planned) of each (id, plan) into ``out``."""
    thumbs, videos = Path(out) / "media" / "thumb", Path(out) / "media" / "video"
    for item_id, plan in items:
        picture = imaging.render(plan["thumbnail"])
        (thumbs / f"{item_id}.jpg").write_bytes(imaging.jpeg_bytes(picture))
        vplan = plan["video"]
        if vplan:
            scenes = []
            for scene, length in zip(vplan["scenes"], vplan["scene_lengths"], strict=True):
                pic = picture if scene == plan["thumbnail"] else imaging.render(scene)
                scenes.append((pic, length, scene["seed"]))
            video.encode(videos / f"{item_id}.mp4", scenes, vplan["fps"])
    return len(items)


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
