"""Data at rest is private to the user Likewatch runs as: directories 0700, files 0600.

``$LIKEWATCH_HOME`` holds face embeddings (sensitive personal information under PIPL and
special-category data under the GDPR), reference photos, captured evidence and the
catalog; nothing in it is for other local users. Two layers:

- :func:`secure_process` sets the process umask to ``077`` at the ``likewatch`` entry
  point (inherited by the crawl subprocesses), so every file any component creates —
  the embedded index, its queues, SQLite's ``-wal`` and ``-shm`` — is born private;
- the places that create the home, the catalog, the media store and the evidence files
  also set the modes explicitly (:func:`ensure_home`, :func:`private_dir`,
  :func:`private_file`, :func:`write_private`), so library use and tests get the same
  modes, and a home made by an older version is tightened when opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


def secure_process() -> None:
    """Files and directories this process (and its children) create are private."""
    os.umask(UMASK)


def _tighten(path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~mode:
            path.chmod(current & mode)
    except FileNotFoundError:
        pass


def private_dir(path: Path) -> Path:
    """``mkdir -p`` where every directory created gets 0700 (an existing one is left)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        d.chmod(DIR_MODE)  # mkdir's mode is masked by the umask; this is not
    return path


def ensure_home(home: Path) -> Path:
    """The home directory, created 0700, or tightened to 0700 when it exists."""
    private_dir(home)
    _tighten(home, DIR_MODE)
    return home


def private_file(path: Path) -> Path:
    """Create ``path`` empty with 0600 if missing; tighten it to 0600 if it exists."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        _tighten(path, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (replacing it) as a 0600 file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fd = -1
            fh.write(data)
    finally:
        if fd >= 0:
            os.close(fd)


def secure_sqlite(path: Path) -> None:
    """A SQLite database and its journal files private (SQLite gives ``-wal`` and ``-shm``
    the database file's mode when it creates them)."""
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        _tighten(path.with_name(path.name + suffix), FILE_MODE)
