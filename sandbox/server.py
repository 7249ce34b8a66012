"""The sandbox HTTP server: a local stand-in for a short-video / micro-drama platform.

    with SandboxServer(data_dir, seed=1, faults=FaultConfig.none()) as sb:
        print(sb.base_url)        # http://127.0.0.1:PORT
        sb.publish_now(3)         # reveal the next three items of the reserve

The stdlib ThreadingHTTPServer (HTTP/1.1, one thread per connection) serves the routes
described in the sandbox contract (`sandbox.handler`); see `sandbox.pages` for the HTML and
`sandbox.faults` for the deliberate misbehaviour.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sandbox.faults import FaultConfig, FaultPlan
from sandbox.generate import ensure_generated, start
from sandbox.limits import Throttle
from sandbox.render import Progress, Renderer

log = logging.getLogger("sandbox.http")

ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
FEED_DEFAULT_LIMIT, FEED_MAX_LIMIT = 20, 100
SEARCH_MAX = 50


class BadRequest(ValueError):
    """A malformed query parameter (answered with 400)."""


def encode_cursor(position: int) -> str:
    """An opaque cursor meaning "continue after the first `position` items"."""
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position an opaque cursor stands for; BadRequest when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("pos:"):
            raise ValueError(raw)
        position = int(raw[4:])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("invalid cursor") from exc
    if position < 0:
        raise BadRequest("invalid cursor")
    return position


class SandboxServer:
    """The sandbox platform, served from a background thread."""

    def __init__(self, data_dir: Path, seed: int = 1, host: str = "127.0.0.1", port: int = 0,
                 publish_every: float | None = None, faults: FaultConfig | None = None,
                 progress: Progress | None = None, background: bool = False) -> None:
        """``background``: serve before the media are all rendered (the rest render in
        background processes; a file asked for first is rendered on demand)."""
        self.data_dir = Path(data_dir).resolve()
        self.seed = seed
        self.host, self.port = host, port
        self.publish_every = publish_every
        self.robots_txt = ROBOTS_TXT  # tests may set another (e.g. with a Crawl-delay)
        self.faults = FaultPlan(faults if faults is not None else FaultConfig(), seed)
        self.throttle = Throttle()  # records arrivals; tests may set a rate limit
        self.renderer: Renderer | None = None
        if background:
            self.catalogue, self.renderer = start(self.data_dir, seed, progress, every=20.0)
        else:
            self.catalogue = ensure_generated(self.data_dir, seed, progress)
        self.items: list[dict[str, Any]] = self.catalogue.items
        self.position = {it["id"]: i for i, it in enumerate(self.items)}
        self._search_text = [self._text_of(it) for it in self.items]
        self._published = self.catalogue.n_published
        # Scenarios (sandbox/scenarios.py): items added while serving, with their media in
        # memory, and items taken down (404 from then on, gone from listings and feeds).
        self._added_media: dict[tuple[str, str], bytes] = {}
        self._taken_down: set[str] = set()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._publisher: threading.Thread | None = None
        self._stopping = threading.Event()

    @staticmethod
    def _text_of(item: dict[str, Any]) -> str:
        parts = [item["title"], item["description"], item["uploader"]["name"], *item["tags"]]
        if item["series"]:
            parts.append(item["series"]["title"])
        parts += [c["name"] for c in item["cast"]]
        return " ".join(parts).lower()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> SandboxServer:
        """Start listening (returns once the socket is bound) and serving in a thread."""
        if self._httpd is not None:
            raise RuntimeError("sandbox already started")
        from sandbox.handler import Handler, Server

        httpd = Server((self.host, self.port), Handler)
        httpd.sandbox = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        if self.publish_every:
            self._publisher = threading.Thread(target=self._publish_loop, daemon=True,
                                               name=f"sandbox-publisher-{self.port}")
            self._publisher.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for thread in (self._thread, self._publisher):
            if thread is not None:
                thread.join(timeout=5)
        self._httpd = self._thread = self._publisher = None
        if self.renderer is not None:
            self.renderer.stop()  # what is left renders next time

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        return f"http://{self.host}:{self.port}"

    def _publish_loop(self) -> None:
        assert self.publish_every
        while not self._stopping.wait(self.publish_every):
            self.publish_now(1)

    # -- catalogue state ---------------------------------------------------------------
    @property
    def published_count(self) -> int:
        """How many items are visible now."""
        with self._lock:
            return self._published

    @property
    def reserve_count(self) -> int:
        """How many items are still waiting to be published."""
        return len(self.items) - self.published_count

    def publish_now(self, n: int = 1) -> list[str]:
        """Reveal the next `n` unpublished items; returns their ids (fewer when exhausted)."""
        with self._lock:
            start = self._published
            self._published = min(len(self.items), start + max(0, n))
            revealed = [it["id"] for it in self.items[start:self._published]]
        if revealed:
            log.info("sandbox published %s", ", ".join(revealed))
        return revealed

    def published(self) -> list[dict[str, Any]]:
        """The visible items in publication order (oldest first)."""
        with self._lock:
            return [it for it in self.items[: self._published]
                    if it["id"] not in self._taken_down]

    def is_published(self, item_id: str) -> bool:
        pos = self.position.get(item_id)
        return pos is not None and pos < self.published_count and item_id not in self._taken_down

    def add_item(self, item: dict[str, Any], thumbnail: bytes, video: bytes | None = None) -> str:
        """Publish a new item now, its media served from memory (``sandbox.scenarios``)."""
        with self._lock:
            if item["id"] in self.position:
                raise ValueError(f"item {item['id']} exists")
            if self.items is self.catalogue.items:
                self.items = list(self.items)  # the catalogue itself stays as generated
            self.items.insert(self._published, item)
            self._search_text.insert(self._published, self._text_of(item))
            self._published += 1
            self.position = {it["id"]: i for i, it in enumerate(self.items)}
            self._added_media[("thumb", item["id"])] = thumbnail
            if video is not None:
                self._added_media[("video", item["id"])] = video
        log.info("sandbox published %s (scenario)", item["id"])
        return str(item["id"])

    def take_down(self, item_id: str) -> None:
        """Remove an item as a platform does after a complaint: its page and media answer
        404 and it leaves listings, search and the feed."""
        with self._lock:
            if item_id not in self.position:
                raise KeyError(item_id)
            self._taken_down.add(item_id)
        log.info("sandbox took down %s", item_id)

    def media_bytes(self, item_id: str, kind: str) -> bytes | None:
        """The stored bytes of an item's ``thumb`` or ``video`` (None if it has none)."""
        added = self._added_media.get((kind, item_id))
        if added is not None:
            return added
        ext = "jpg" if kind == "thumb" else "mp4"
        file = self.data_dir / "media" / kind / f"{item_id}.{ext}"
        if not file.is_file() and self.renderer is not None:
            self.renderer.ensure(item_id)  # asked for before the background render got to it
        return file.read_bytes() if file.is_file() else None

    def search(self, query: str) -> list[dict[str, Any]]:
        """Published items matching every word of `query`, newest first (at most 50)."""
        terms = query.lower().split()
        n = self.published_count
        found = []
        for i in range(n - 1, -1, -1):
            if self.items[i]["id"] in self._taken_down:
                continue
            if all(t in self._search_text[i] for t in terms):
                found.append(self.items[i])
                if len(found) == SEARCH_MAX:
                    break
        return found

    def feed(self, cursor: str | None, limit: int) -> dict[str, Any]:
        """One page of the feed, oldest first, with the cursor of the next page or None."""
        position = decode_cursor(cursor) if cursor else 0
        with self._lock:  # positions count taken-down items too, so cursors stay valid
            visible = self.items[: self._published]
            chunk = [it for it in visible[position: position + limit]
                     if it["id"] not in self._taken_down]
        end = position + limit
        return {"items": chunk, "next_cursor": encode_cursor(end) if end < len(visible) else None}
