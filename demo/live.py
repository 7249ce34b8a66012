"""`likewatch demo`: the sandbox platform, a crawl of it, and (with the daemon) live alerts.

The minimal demo (``--crawl-only``) starts the sandbox in-process, allow-lists 127.0.0.1 by
configuration (``$LIKEWATCH_HOME/config.yaml``, read by the crawl subprocess too), crawls
the sandbox's listing once and prints the crawl summary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from likewatch import settings
from likewatch.settings import allow_loopback


def format_summary(summary: dict[str, Any]) -> str:
    """A crawl summary as a few human lines."""
    errors = summary.get("errors") or {}
    err_text = ", ".join(f"{k}={v}" for k, v in sorted(errors.items())) or "none"
    return (
        f"crawl of {summary.get('platform', '?')}: {summary.get('pages', 0)} pages, "
        f"{summary.get('items_new', 0)} new items, {summary.get('items_seen', 0)} already seen, "
        f"{summary.get('thumbnails', 0)} thumbnails, {summary.get('videos', 0)} videos, "
        f"{summary.get('bytes', 0)} bytes, errors: {err_text}, "
        f"{float(summary.get('duration_s', 0.0)):.1f} s"
    )


_data_dir: Path | None = None


def sandbox_dir() -> Path:
    """Where the demo's sandbox data is generated and cached ($LIKEWATCH_HOME/sandbox)."""
    return _data_dir or settings.home() / "sandbox"


def use_data_dir(path: Path | None) -> None:
    """Use an already generated sandbox data directory (tests pass theirs)."""
    global _data_dir
    _data_dir = path


def crawl_once(*, port: int = 0, max_pages: int | None = None) -> dict[str, Any]:
    """Start the sandbox, crawl its listing once, stop it; return the crawl summary."""
    from crawler.run import crawl
    from sandbox.server import SandboxServer

    allow_loopback()
    print(f"likewatch demo: data in {settings.home()}", flush=True)
    with SandboxServer(sandbox_dir(), port=port) as server:
        print(f"sandbox listening on {server.base_url}", flush=True)
        summary = crawl(f"{server.base_url}/browse?page=1", platform="sandbox",
                        mode="listing", max_pages=max_pages)
    print(format_summary(summary), flush=True)
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True), flush=True)
    return summary


DEMO_CLIENT = "Demo Studio"
DEMO_PERSON = "demo-a"


def ground_truth(data_dir: Path) -> dict[str, Any]:
    """The sandbox's ground truth (only the demo and tests read it, never the crawler)."""
    return dict(json.loads((data_dir / "ground_truth.json").read_text(encoding="utf-8")))


def prepare(cat: Any, base_url: str, receiver_url: str, secret: str, *, every: float,
            person: str = DEMO_PERSON, max_pages: int | None = 1) -> dict[str, Any]:
    """Client, person (enrolled from the ground truth), webhook subscription and watch.

    Earlier demo runs' subscriptions and watches (other ports) are disabled first.
    """
    from sqlalchemy import update

    from alerts import registry
    from likewatch.catalog.alerts import Subscription
    from likewatch.catalog.queue import Watch
    from likewatch.work.db import write_session
    from matchers.enroll import enroll
    from scheduler.watches import add_watch

    truth = ground_truth(sandbox_dir())
    info = truth["persons"][person]
    registry.add_client(cat, DEMO_CLIENT, "studio")
    registry.add_person(cat, DEMO_CLIENT, person, name=info["label"])
    results = enroll(cat, person, [Path(p) for p in info["reference_files"]],
                     client=DEMO_CLIENT, display_name=info["label"])
    with write_session(cat) as s:
        client_id = registry.get_client(s, DEMO_CLIENT).id
        s.execute(update(Subscription).where(Subscription.client_id == client_id)
                  .values(enabled=False))
        s.execute(update(Watch).where(Watch.client_id == client_id).values(enabled=False))
    sub_id = registry.add_subscription(cat, DEMO_CLIENT, "webhook", receiver_url,
                                       person=person, secret=secret)
    watch_id = add_watch(cat, DEMO_CLIENT, "sandbox", f"{base_url}/browse?page=1",
                         mode="listing", every=every, max_pages=max_pages)
    return {"references": len(results), "subscription": sub_id, "watch": watch_id,
            "label": info["label"]}


def describe(body: dict[str, Any]) -> str:
    """One alert, as the demo's receiver prints it."""
    w, m = body.get("where", {}), body.get("match", {})
    frame = f" at {m['frame']}" if m.get("frame") else ""
    return (f"  {body.get('severity', '?').upper()}: {body.get('person', {}).get('name')} "
            f"in {w.get('platform')} item {w.get('item_id')} \"{w.get('title')}\" "
            f"by {w.get('uploader')}\n"
            f"  {w.get('url')}\n"
            f"  signal {m.get('signal')} distance {m.get('distance')} "
            f"(threshold {m.get('threshold')}){frame}; published {body.get('published_at')}, "
            f"found {body.get('found_at')}")


def live(*, port: int = 0, duration: float | None = None, publish_every: float = 4.0,
         every: float = 10.0, tick: float = 2.0) -> int:
    """The full demo: sandbox publishing over time, enrolment, signed webhook, daemon."""
    import logging
    import os
    import secrets
    import shutil
    import threading
    import time

    from alerts.receiver import Received, WebhookReceiver
    from likewatch.catalog import Catalog
    from likewatch.work.db import reset_catalog
    from sandbox.server import SandboxServer
    from scheduler import daemon, jobs

    data = sandbox_dir()
    use_data_dir(data)
    # Each run starts from a fresh catalog of its own (so every run shows its alerts
    # again), beside the cached sandbox data; the crawl subprocesses inherit it.
    run_home = settings.home() / "demo"
    shutil.rmtree(run_home, ignore_errors=True)
    run_home.mkdir(parents=True)
    os.environ["LIKEWATCH_HOME"] = str(run_home)
    reset_catalog()
    allow_loopback()
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger().setLevel(logging.WARNING)  # the demo prints what matters itself
    print(f"likewatch demo: catalog in {run_home}, sandbox data in {data} "
          "(generated on the first run, cached after)", flush=True)
    secret = secrets.token_hex(16)
    jobs.crawl_listeners.append(lambda _wid, summary: print(format_summary(summary), flush=True))
    started = time.monotonic()
    first: list[float] = []

    def on_receive(item: Received) -> None:
        if not first:
            first.append(time.monotonic() - started)
        verdict = "signature verified" if item.verified else "SIGNATURE INVALID"
        print(f"webhook received alert {item.alert_id} ({verdict}, "
              f"{time.monotonic() - started:.1f} s after start)", flush=True)
        print(describe(item.body), flush=True)

    stop = threading.Event()
    with SandboxServer(sandbox_dir(), port=port, publish_every=publish_every) as server, \
            WebhookReceiver(secret, on_receive=on_receive) as receiver:
        print(f"sandbox listening on {server.base_url} (a new item every {publish_every:g} s)",
              flush=True)
        print(f"webhook receiver on {receiver.url}", flush=True)
        cat = Catalog.open()
        info = prepare(cat, server.base_url, receiver.url + "/likewatch", secret, every=every)
        print(f"enrolled {info['label']} ({info['references']} reference photo(s)); "
              f"watching {server.base_url}/browse every {every:g} s; Ctrl-C to stop", flush=True)
        print("waiting for alerts (first crawl, then matching: usually well within a minute)",
              flush=True)
        started = time.monotonic()
        daemon.run(["crawler", "matcher", "alerter", "evidence", "indexer"], tick=tick, duration=duration, stop=stop)
    n = len(receiver.received)
    ok = sum(r.verified for r in receiver.received)
    when = f"; first after {first[0]:.1f} s" if first else ""
    print(f"demo stopped: {n} alert(s) received, {ok} with a verified signature{when}",
          flush=True)
    print(f"see them with: LIKEWATCH_HOME={run_home} likewatch alerts", flush=True)
    print(f"sealed evidence: LIKEWATCH_HOME={run_home} likewatch evidence list "
          "(then `likewatch evidence export ALERT` and `likewatch notice ALERT --lang zh`)",
          flush=True)
    return 0
