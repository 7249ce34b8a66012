"""Content-addressed media store under ``$LIKEWATCH_HOME/media``.

A file is stored once, at ``media/<aa>/<bb>/<sha256>``, written to a temporary name and
renamed into place so a crash never leaves a half-written file under its final name.
Files are 0600 and directories 0700 (thumbnails and reference photos show faces).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from likewatch import private


class MediaStore:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.root = home / "media"

    def relpath(self, sha256: str) -> str:
        return f"media/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def path(self, sha256: str) -> Path:
        return self.home / self.relpath(sha256)

    def put(self, data: bytes) -> tuple[str, str]:
        """Store bytes; returns (sha256, path relative to home). Idempotent."""
        digest = hashlib.sha256(data).hexdigest()
        final = self.path(digest)
        if not final.exists():
            private.private_dir(final.parent)
            fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")  # 0600
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, final)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return digest, self.relpath(digest)

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
