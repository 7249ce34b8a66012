"""Every kind of deliberate misbehaviour can be observed, and a retrying client gets through."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import av
import pytest
from PIL import Image

from sandbox.catalog import build_catalog
from sandbox.faults import FaultConfig, FaultPlan
from sandbox.server import SandboxServer
from tests.sandbox.helpers import fetch, get_json, next_data

Factory = Callable[..., SandboxServer]


def only(**rates: float) -> FaultConfig:
    base = FaultConfig.none()
    return FaultConfig(**{**base.__dict__, **rates})


@pytest.mark.parametrize("kind", ["429", "500"])
def test_transient_errors_at_most_twice_in_a_row(sandbox_factory: Factory, kind: str) -> None:
    server = sandbox_factory(faults=only(**{f"rate_{kind}": 1.0}))
    url = server.base_url + "/browse?page=2"
    statuses = [fetch(url) for _ in range(6)]
    assert [s for s, _, _ in statuses] == [int(kind), int(kind), 200] * 2
    if kind == "429":
        assert statuses[0][1]["Retry-After"] == "1"
    # Each URL has its own attempt count; robots.txt is never faulted.
    assert fetch(server.base_url + "/robots.txt")[0] == 200
    assert server.faults.counts[kind] == 4


def test_transient_faults_are_deterministic_per_seed_path_and_attempt() -> None:
    config = FaultConfig(rate_429=0.3, rate_500=0.3, rate_slow=0.0)
    runs = []
    for _ in range(2):
        plan = FaultPlan(config, seed=7)
        runs.append([plan.transient(f"/video/v{i:05d}")[0] for i in range(200) for _ in range(3)])
    assert runs[0] == runs[1]
    assert {"429", "500", None} == set(runs[0])
    other = FaultPlan(config, seed=8)
    assert [other.transient(f"/video/v{i:05d}")[0] for i in range(200) for _ in range(3)] != runs[0]
    # Never three failures in a row for one URL.
    for i in range(0, len(runs[0]), 3):
        assert None in runs[0][i:i + 3]


def test_slow_responses(sandbox_factory: Factory) -> None:
    server = sandbox_factory(faults=only(rate_slow=1.0, slow_seconds=0.4))
    started = time.monotonic()
    status, _, _ = fetch(server.base_url + "/api/feed?limit=1")
    assert status == 200 and time.monotonic() - started >= 0.4


def test_broken_thumbnail(sandbox_factory: Factory) -> None:
    server = sandbox_factory(faults=only(rate_broken_thumbnail=1.0))
    status, headers, body = fetch(server.base_url + "/media/thumb/v00003.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body
    with pytest.raises(OSError):
        Image.open(io.BytesIO(body)).load()


def test_truncated_video(sandbox_factory: Factory) -> None:
    server = sandbox_factory(faults=only(rate_truncated_video=1.0))
    item = next(it for it in get_json(server.base_url + "/api/feed?limit=100")["items"]
                if it["videoUrl"])
    status, headers, body = fetch(server.base_url + item["videoUrl"])
    full = (server.data_dir / "media" / "video" / f"{item['id']}.mp4").read_bytes()
    assert status == 200 and headers["Content-Type"] == "video/mp4"
    assert 0 < len(body) < len(full) and full.startswith(body)
    with pytest.raises(av.error.FFmpegError), av.open(io.BytesIO(body)) as container:
        for _ in container.decode(video=0):
            pass


def test_malformed_state(sandbox_factory: Factory) -> None:
    server = sandbox_factory(faults=only(rate_malformed_state=1.0))
    status, _, body = fetch(server.base_url + "/video/v00005")
    html = body.decode("utf-8")
    assert status == 200 and "__NEXT_DATA__" in html
    with pytest.raises(ValueError):
        next_data(html)


def test_default_rates_hit_a_few_items_but_leave_plenty() -> None:
    cat = build_catalog(1)
    published = cat.items[: cat.n_published]
    plan = FaultPlan(FaultConfig(), seed=1)
    broken = sum(plan.broken_thumbnail(it["id"]) for it in published)
    malformed = sum(plan.malformed_state(it["id"]) for it in published)
    videos = [it for it in published if it["videoUrl"]]
    truncated = sum(plan.truncated_video(it["id"]) for it in videos)
    assert 1 <= broken <= 15 and 1 <= malformed <= 15
    assert len(published) - broken >= 200
    assert len(videos) - truncated >= 20
    transient = [plan.transient(f"/video/{it['id']}")[0] for it in published]
    assert 3 <= sum(t is not None for t in transient) <= 45


def test_fault_config_validation() -> None:
    with pytest.raises(ValueError):
        FaultConfig(rate_429=1.5)
    with pytest.raises(ValueError):
        FaultConfig(slow_seconds=-1)
    assert all(v == 0 for v in FaultConfig.none().__dict__.values())
    defaults = FaultConfig().__dict__
    # every fault is on by default except the verify pages, which only their test asks for
    assert defaults.pop("rate_challenge") == 0
    assert all(v > 0 for v in defaults.values())


def test_default_faults_survive_retries(sandbox_factory: Factory) -> None:
    server = sandbox_factory(faults=FaultConfig(rate_slow=0.0))
    ok = 0
    for i in range(1, 61):
        for _attempt in range(3):
            status, _, body = fetch(server.base_url + f"/video/v{i:05d}")
            if status == 200:
                ok += 1
                break
            assert status in (429, 500)
    assert ok == 60
