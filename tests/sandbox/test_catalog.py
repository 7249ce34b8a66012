"""The generated catalogue: determinism, proportions, media files and ground truth."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from PIL import Image

from sandbox import imaging
from sandbox.catalog import DEMO_KEYS, FACES_DIR, Catalogue, build_catalog
from sandbox.generate import STAMP


def test_same_seed_same_catalogue_json() -> None:
    a, b = build_catalog(1), build_catalog(1)
    assert a.to_json() == b.to_json()
    assert a.digest() == b.digest()
    assert build_catalog(2).digest() != a.digest()


def test_cached_data_dir_matches_the_seed(sandbox_data: Path) -> None:
    stamp = json.loads((sandbox_data / STAMP).read_text())
    on_disk = Catalogue.from_json((sandbox_data / "catalog.json").read_text(encoding="utf-8"))
    assert stamp["seed"] == 1
    assert stamp["digest"] == build_catalog(1).digest() == on_disk.digest()


def test_rendering_is_deterministic() -> None:
    cat = build_catalog(1)
    kinds = {"synthetic": None, "photo": None, "faceswap": None}
    for plan in cat.plans.values():
        scene = plan["thumbnail"]
        if kinds.get(scene["type"], 0) is None:
            kinds[scene["type"]] = scene
    assert all(kinds.values()), kinds
    for scene in kinds.values():
        assert scene is not None
        first = imaging.jpeg_bytes(imaging.render(scene))
        imaging.swapped.cache_clear()
        assert imaging.jpeg_bytes(imaging.render(scene)) == first


def test_catalogue_shape() -> None:
    cat = build_catalog(1)
    published = cat.items[: cat.n_published]
    assert cat.n_published == 300
    assert len(cat.items) - cat.n_published >= 120
    assert [it["id"] for it in cat.items] == sorted(it["id"] for it in cat.items)
    times = [it["publishedAt"] for it in cat.items]
    assert times == sorted(times) and len(set(times)) == len(times)
    kinds = Counter(it["kind"] for it in published)
    assert kinds["episode"] >= 50 and kinds["short"] >= 100
    with_video = [it for it in published if it["videoUrl"]]
    assert 30 <= len(with_video) <= 60
    derived = [it for it in cat.items if cat.truth[it["id"]]["in_thumbnail"]]
    assert 0.12 <= len(derived) / len(cat.items) <= 0.22
    assert {cat.truth[it["id"]]["transform"] for it in derived} >= {
        "crop10", "crop20", "mirror", "subtitle", "recompress", "pip", "letterbox", "faceswap"}
    # Episodes of a series are numbered in publication order and share a cast.
    episodes: dict[str, list[int]] = {}
    for it in cat.items:
        if it["kind"] == "episode":
            assert it["series"] and it["cast"]
            episodes.setdefault(it["series"]["id"], []).append(it["series"]["episode"])
        else:
            assert it["series"] is None
    for numbers in episodes.values():
        assert numbers == list(range(1, len(numbers) + 1))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in published[0]["title"])


def test_media_files_exist_and_have_the_right_size(sandbox_data: Path) -> None:
    cat = Catalogue.from_json((sandbox_data / "catalog.json").read_text(encoding="utf-8"))
    for it in cat.items:
        thumb = sandbox_data / "media" / "thumb" / f"{it['id']}.jpg"
        video = sandbox_data / "media" / "video" / f"{it['id']}.mp4"
        assert thumb.stat().st_size > 2000
        assert video.exists() == bool(it["videoUrl"])
    for it in cat.items[::37]:
        with Image.open(sandbox_data / "media" / "thumb" / f"{it['id']}.jpg") as im:
            assert im.format == "JPEG" and im.size == (640, 360)


def test_ground_truth_refers_to_existing_items_and_photos(sandbox_data: Path) -> None:
    truth = json.loads((sandbox_data / "ground_truth.json").read_text(encoding="utf-8"))
    cat = Catalogue.from_json((sandbox_data / "catalog.json").read_text(encoding="utf-8"))
    ids = {it["id"] for it in cat.items}
    assert set(truth["persons"]) == set(DEMO_KEYS)
    assert [p["label"] for p in truth["persons"].values()] == [
        "Demo person A", "Demo person B", "Demo person C"]
    for key, person in truth["persons"].items():
        for ref in person["reference_files"] + person["other_photos"]:
            assert Path(ref).is_file(), ref
        enrolment = cat.persons[key]["enrolment"]
        assert Path(person["reference_files"][0]).read_bytes() == (FACES_DIR / enrolment).read_bytes()
    assert set(truth["items"]) == ids
    persons = Counter(v["person"] for v in truth["items"].values())
    assert all(persons[k] >= 10 for k in DEMO_KEYS), persons
    for item_id, entry in truth["items"].items():
        assert entry["in_video"] == (entry["video_scene"] is not None)
        if entry["person"] is None:
            assert entry["transform"] == "none" and not entry["in_video"]
        else:
            assert entry["in_thumbnail"] or entry["in_video"]
            photo = cat.persons[entry["person"]]["photos"][0].split("_")[0]
            assert entry["source"].startswith(f"faces/{photo}_"), (item_id, entry)
    video_only = [v for v in truth["items"].values() if v["in_video"] and not v["in_thumbnail"]]
    assert video_only, "some videos show a demo person only in a later scene"


def test_video_encoding_is_deterministic(tmp_path: Path) -> None:
    from sandbox import video

    scenes = [(imaging.synthetic(seed, "第一幕"), 8, seed) for seed in (3, 4)]
    video.encode(tmp_path / "a.mp4", scenes, 12)
    video.encode(tmp_path / "b.mp4", scenes, 12)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
