"""Rendering the sandbox's media files: in a pool of processes, in the background if asked.

:class:`Renderer` renders the thumbnails and clips of a list of items (highest priority
first) with one process per core (x264 and Pillow hold one core each), prints a progress
line every few seconds and calls ``on_done`` once every file is there. The sandbox server
can serve meanwhile: :meth:`Renderer.ensure` renders one item at once when a client asks
for a file the pool has not reached yet. Every file is written under a temporary name and
renamed into place, and an item's media depend on its own plan only, so a file rendered
twice (on demand and by the pool, or by two processes) is the same file.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from sandbox import imaging, video

Progress = Callable[[str], None]
Task = tuple[str, dict[str, Any]]  # (item id, media plan)
PROGRESS_EVERY = 3.0  # seconds between progress lines


def default_workers() -> int:
    """One process per core, at most 4 (``LIKEWATCH_SANDBOX_WORKERS`` overrides)."""
    return int(os.environ.get("LIKEWATCH_SANDBOX_WORKERS") or 0) or min(os.cpu_count() or 1, 4)


def missing(out: Path, task: Task) -> bool:
    """Whether a file of this item is not rendered yet."""
    item_id, plan = task
    return (not (out / "media" / "thumb" / f"{item_id}.jpg").is_file()
            or (bool(plan["video"]) and not (out / "media" / "video" / f"{item_id}.mp4").is_file()))


def render_items(out: str, items: list[Task]) -> int:
    """Render the thumbnail (and clip, if planned) of each (id, plan) into ``out``."""
    thumbs, videos = Path(out) / "media" / "thumb", Path(out) / "media" / "video"
    tag = f"tmp-{os.getpid()}-{threading.get_ident()}"
    for item_id, plan in items:
        picture = imaging.render(plan["thumbnail"])
        tmp = thumbs / f".{item_id}.jpg.{tag}"
        tmp.write_bytes(imaging.jpeg_bytes(picture))
        tmp.replace(thumbs / f"{item_id}.jpg")
        vplan = plan["video"]
        if vplan:
            scenes = []
            for scene, length in zip(vplan["scenes"], vplan["scene_lengths"], strict=True):
                pic = picture if scene == plan["thumbnail"] else imaging.render(scene)
                scenes.append((pic, length, scene["seed"]))
            tmp = videos / f".{item_id}.mp4.{tag}"
            video.encode(tmp, scenes, vplan["fps"])
            tmp.replace(videos / f"{item_id}.mp4")
    return len(items)


def _worker_init() -> None:
    # Ctrl-C is for the process that started the pool. Renders are background work: what
    # a client asks for first is rendered on demand (Renderer.ensure) at normal priority.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(19)


class Renderer:
    """``Renderer(out, tasks, ...).start()``; :meth:`wait` for the end, :meth:`stop` early."""

    def __init__(self, out: Path, tasks: list[Task], *, progress: Progress | None = None,
                 workers: int | None = None, on_done: Callable[[], None] | None = None,
                 every: float = PROGRESS_EVERY) -> None:
        self.out = out
        self.tasks = tasks
        self.plans = dict(tasks)
        self.say = progress or (lambda _msg: None)
        self.workers = workers or default_workers()
        self.on_done = on_done
        self.every = every
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._pending: set[Future[int]] = set()

    def start(self) -> Renderer:
        """Hand the items to the pool (its processes start now, from this thread) and follow
        them from a background thread."""
        if self.workers > 1 and len(self.tasks) > 1:
            # fork: the workers start at once, without importing the caller's main script
            # again; they are forked here, before the caller starts its server threads.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_worker_init)
            # Small jobs, in priority order: the pool takes them first come, first served.
            size = 4
            self._pending = {self._pool.submit(render_items, str(self.out), self.tasks[i:i + size])
                             for i in range(0, len(self.tasks), size)}
        self._thread = threading.Thread(target=self._follow, name="sandbox-render", daemon=True)
        self._thread.start()
        return self

    def _follow(self) -> None:
        started = time.monotonic()
        n, count, shown, last = len(self.tasks), 0, 0, time.monotonic()
        try:
            if self._pool is None:
                for task in self.tasks:
                    if self._stop.is_set():
                        return
                    count += self.ensure(task[0])
                    if time.monotonic() - last >= self.every and count < n:
                        last = time.monotonic()
                        self.say(f"sandbox: {count}/{n} items rendered ({last - started:.0f} s)")
            else:
                while self._pending and not self._stop.is_set():
                    finished, self._pending = wait(self._pending, timeout=self.every,
                                                   return_when=FIRST_COMPLETED)
                    count += sum(f.result() for f in finished)
                    # A line every few seconds while items come in (every 5th otherwise).
                    gap = self.every if count > shown else 5 * self.every
                    if time.monotonic() - last >= gap and count < n:
                        shown, last = count, time.monotonic()
                        self.say(f"sandbox: {count}/{n} items rendered ({last - started:.0f} s)")
                if self._stop.is_set():
                    return
            if self.on_done is not None:
                self.on_done()
            self.say(f"sandbox: {n} items rendered in {time.monotonic() - started:.1f} s "
                     "(kept for the next runs)")
        except BaseException as exc:  # noqa: BLE001 - handed to wait()
            self.error = exc
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            self.done.set()

    def ensure(self, item_id: str) -> int:
        """Render ``item_id`` now unless its files are there (one render per item at a
        time); returns 1. For a file asked for before the pool got to it."""
        plan = self.plans.get(item_id)
        if plan is None:
            return 0
        with self._locks_lock:
            lock = self._locks.setdefault(item_id, threading.Lock())
        with lock:
            if missing(self.out, (item_id, plan)):
                render_items(str(self.out), [(item_id, plan)])
        return 1

    def wait(self) -> None:
        """Until every item is rendered; re-raises a render's error. Ctrl-C stops the pool."""
        try:
            while not self.done.wait(0.5):
                pass
        except BaseException:
            self.stop()
            raise
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Stop handing out work; wait for the running jobs (the rest is rendered next time)."""
        self._stop.set()
        for fut in list(self._pending):
            fut.cancel()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
