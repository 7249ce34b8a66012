"""Rendering the sandbox's media in the background, on demand, and resuming after a stop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox import generate
from sandbox.catalog import build_catalog
from sandbox.render import missing


def test_priority_puts_the_first_page_and_the_reserve_first() -> None:
    cat = build_catalog(1)
    order = [item_id for item_id, _ in generate.by_priority(cat)]
    ids = [it["id"] for it in cat.items]
    n = cat.n_published
    assert sorted(order) == sorted(ids)  # every item once
    assert order[:generate.PAGE_SIZE] == ids[n - generate.PAGE_SIZE:n][::-1]  # page 1
    reserve_at = order.index(ids[n])
    assert order[reserve_at:reserve_at + len(ids) - n] == ids[n:]


def test_serving_early_renders_on_demand_and_resumes(tmp_path: Path, sandbox_data: Path) -> None:
    data = tmp_path / "seed-1"
    cat, renderer = generate.start(data, 1, workers=2)
    assert renderer is not None
    # Written before any media: what the demo reads first.
    assert (data / "catalog.json").is_file() and (data / "ground_truth.json").is_file()
    assert (data / generate.PARTIAL).is_file() and not (data / generate.STAMP).exists()
    last = cat.items[-1]["id"]  # the last the pool would get to
    plan = cat.plans[last]
    assert missing(data, (last, plan))
    renderer.ensure(last)
    assert not missing(data, (last, plan))
    # The same bytes as the fully generated copy of the same seed.
    for rel in (f"media/thumb/{last}.jpg", f"media/video/{last}.mp4"):
        if (sandbox_data / rel).exists():
            assert (data / rel).read_bytes() == (sandbox_data / rel).read_bytes(), rel
    renderer.stop()
    assert (data / generate.PARTIAL).is_file() and not (data / generate.STAMP).exists()
    assert not list(data.glob("media/*/.*tmp-*")), "no temporary file is left behind"
    rendered = {p.name for p in data.glob("media/thumb/*.jpg")}
    # The next start renders only what is missing.
    lines: list[str] = []
    _, again = generate.start(data, 1, lines.append, workers=2)
    assert again is not None
    again.stop()
    assert f"rendering {len(cat.items) - len(rendered)} items" in lines[0]


def test_a_stale_or_foreign_folder(tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not the sandbox's")
    with pytest.raises(FileExistsError, match="not a sandbox data directory"):
        generate.start(foreign, 1)
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / generate.STAMP).write_text(json.dumps({"seed": 1, "version": "older"}))
    (stale / "leftover.jpg").write_bytes(b"x")
    _, renderer = generate.start(stale, 1, workers=1)
    assert renderer is not None
    renderer.stop()
    assert not (stale / "leftover.jpg").exists() and not (stale / generate.STAMP).exists()
