"""`likewatch demo`: the sandbox platform, a crawl of it, and (with the daemon) live alerts.

The full demo (:func:`live`) tells what it does as it goes: the sandbox's data (rendered
once, cached in ``.cache/sandbox``), the enrolment, the daemon's crawls (with the faults
the sandbox injects on purpose, labelled as such) and each alert as the webhook receiver
gets it. It runs in a session of its own (:mod:`demo.session`) so that Ctrl-C
stops it cleanly. The minimal demo (``--crawl-only``) starts the sandbox in-process,
allow-lists 127.0.0.1 by configuration (``$LIKEWATCH_HOME/config.yaml``, read by the crawl
subprocess too), crawls the sandbox's listing once and prints the crawl summary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from likewatch import settings
from likewatch.settings import allow_loopback

#: Error kinds of a crawl that the sandbox commits on purpose (sandbox.faults): shown as
#: what they are, not as failures of the crawl.
INJECTED = {"http_429": "429 Too Many Requests", "http_500": "500 Internal Server Error",
            "slow_response": "slow response", "bad_thumbnail": "broken thumbnail",
            "truncated_media": "truncated video", "parse_error": "malformed page state",
            "missing_field": "malformed page state"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_summary(summary: dict[str, Any]) -> str:
    """A crawl summary as a few human lines (the sandbox's injected faults labelled)."""
    errors = dict(summary.get("errors") or {})
    mb = int(summary.get("bytes", 0)) / 1e6
    line = (f"crawl of {summary.get('platform', '?')}: "
            f"{_plural(int(summary.get('pages', 0)), 'page')}, "
            f"{_plural(int(summary.get('items_new', 0)), 'new item')}, "
            f"{summary.get('items_seen', 0)} already seen, "
            f"{_plural(int(summary.get('thumbnails', 0)), 'thumbnail')}, "
            f"{_plural(int(summary.get('videos', 0)), 'video')}, {mb:.1f} MB, "
            f"{float(summary.get('duration_s', 0.0)):.1f} s")
    injected = {k: v for k, v in errors.items() if k in INJECTED}
    others = {k: v for k, v in errors.items() if k not in INJECTED}
    if injected and summary.get("platform") == "sandbox":
        line += ("\n    faults the sandbox injected on purpose, handled: " + ", ".join(
            f"{v} x {INJECTED[k]} ({k})" for k, v in sorted(injected.items())))
    else:
        others.update(injected)
    if others:
        line += "\n    errors: " + ", ".join(f"{k}={v}" for k, v in sorted(others.items()))
    return line


_data_dir: Path | None = None


def sandbox_dir() -> Path:
    """Where the demo's sandbox data is generated and cached (the cache the tests share,
    :func:`sandbox.generate.default_data_dir`, unless ``--data`` says otherwise)."""
    from sandbox.generate import default_data_dir

    return _data_dir or default_data_dir(1)


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
    with SandboxServer(sandbox_dir(), port=port, progress=say) as server:
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


STORY = """\
What this demo does, on this machine only (127.0.0.1):
  - a stand-in short-video platform, the "sandbox", publishes a new upload every {publish:g} s;
    some uploads reuse the face of "Demo person A" (cropped, mirrored, subtitled,
    face-swapped, or only in a later frame of a video), most are unrelated;
  - Likewatch enrols her reference photo for the client "{client}", crawls the sandbox
    every {every:g} s, hashes thumbnails and video frames, finds and embeds faces and
    compares them with hers;
  - a match becomes an alert: evidence captured and sealed, a signed webhook sent. The
    receiver below checks the signature and prints the alert.
What to look at: the ALERT lines (who, where, which signal, how close to the threshold).
Stop with Ctrl-C (or run with --duration SECONDS)."""


def say(msg: str) -> None:
    print(msg, flush=True)


def live(*, port: int = 0, duration: float | None = None, publish_every: float = 4.0,
         every: float = 10.0, tick: float = 2.0, stop: Any = None) -> int:
    """The full demo: sandbox publishing over time, enrolment, signed webhook, daemon."""
    import logging
    import os
    import secrets
    import shutil
    import threading
    import time

    from alerts.receiver import Received, WebhookReceiver
    from demo.session import command_started
    from likewatch.catalog import Catalog
    from likewatch.work.db import reset_catalog
    from sandbox.server import SandboxServer
    from scheduler import daemon, jobs

    t0 = command_started()
    say(STORY.format(publish=publish_every, client=DEMO_CLIENT, every=every))
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
        # "candidate N failed: no thumbnail or video stored": the media the sandbox broke on
        # purpose, already counted on the crawl line.
        logging.getLogger("matchers.pipeline").setLevel(logging.ERROR)
    say(f"[1/4] sandbox data in {data} (rendered on the first run, in the background while "
        "the demo runs, then cached)")
    secret = secrets.token_hex(16)
    crawls: list[int] = []

    def on_crawl(_wid: Any, summary: dict[str, Any]) -> None:
        crawls.append(1)
        say(f"crawl {len(crawls)}: " + format_summary(summary))

    jobs.crawl_listeners.append(on_crawl)
    first: list[float] = []
    count: list[int] = []

    def on_receive(item: Received) -> None:
        now = time.time()
        if item.verified and not first:
            first.append(now - t0)
        verdict = "signature verified" if item.verified else "SIGNATURE INVALID"
        count.append(1)
        say(f"ALERT {len(count)}: webhook received alert {item.alert_id} "
            f"({verdict}, {now - t0:.1f} s after the command started)")
        say(describe(item.body))

    stop = stop or threading.Event()
    received: list[Received] = []
    try:
        with SandboxServer(data, port=port, publish_every=publish_every, progress=say,
                           background=True) as server, \
                WebhookReceiver(secret, on_receive=on_receive) as receiver:
            received = receiver.received
            say(f"sandbox listening on {server.base_url} ({server.published_count} items "
                f"published, a new one every {publish_every:g} s); open it in a browser too")
            say(f"webhook receiver on {receiver.url}")
            say(f"[2/4] enrolling Demo person A for {DEMO_CLIENT!r} (catalog in {run_home})")
            cat = Catalog.open()
            info = prepare(cat, server.base_url, receiver.url + "/likewatch", secret, every=every)
            say(f"enrolled {info['label']} ({info['references']} reference photo(s)); "
                f"watching {server.base_url}/browse every {every:g} s")
            say("[3/4] starting the daemon: crawler, matcher, alerter, evidence, indexer roles")
            say(f"[4/4] waiting for alerts: the first crawl starts now, the first alert "
                f"usually follows within half a minute ({time.time() - t0:.1f} s so far)")
            # The daemon turns SIGINT/SIGTERM into a clean stop; before it runs, Ctrl-C
            # is a KeyboardInterrupt (below).
            daemon.run(["crawler", "matcher", "alerter", "evidence", "indexer"], tick=tick,
                       duration=duration, stop=stop)
    except KeyboardInterrupt:
        say("demo stopped (Ctrl-C) before it began watching")
        return 0
    finally:
        jobs.crawl_listeners.remove(on_crawl)
    n = len(received)
    ok = sum(r.verified for r in received)
    when = f"; first after {first[0]:.1f} s" if first else ""
    say(f"demo stopped after {time.time() - t0:.0f} s: {n} alert(s) received, {ok} with a "
        f"verified signature{when} (times from the start of the command)")
    say(f"see them with: LIKEWATCH_HOME={run_home} likewatch alerts")
    say(f"sealed evidence: LIKEWATCH_HOME={run_home} likewatch evidence list "
        "(then `likewatch evidence export ALERT` and `likewatch notice ALERT --lang zh`)")
    return 0
