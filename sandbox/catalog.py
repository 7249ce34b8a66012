"""The sandbox's catalogue as data: items (what the API serves) and media plans.

`build_catalog(seed)` is a pure function of its arguments: the same seed gives the same
JSON byte for byte (a test hashes it). Items come out in publication order, oldest
first; the first `n_published` are visible at start, the rest are the reserve revealed
over time. Each item has a media plan (what its thumbnail and video show) and a ground
truth entry (whether and how it derives from a protected demo person).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox import names

FACES_DIR = Path(__file__).resolve().parent / "assets" / "faces"
FPS = 12
DEFAULT_PUBLISHED = 300
DEFAULT_RESERVE = 130
DERIVED_RATE = 0.16
VIDEO_RATE = 0.14
VIDEO_ONLY_PERSON_RATE = 0.25
TRANSFORMS = (
    "none", "crop10", "crop20", "mirror", "subtitle", "recompress", "pip", "letterbox", "faceswap",
)
DEMO_KEYS = ("demo-a", "demo-b", "demo-c")
BASE_TIME = datetime(2025, 6, 1, tzinfo=UTC)


@dataclass
class Catalogue:
    """Everything generated from one seed (metadata only; media are rendered from plans)."""

    seed: int
    n_published: int
    items: list[dict[str, Any]]
    plans: dict[str, dict[str, Any]]
    persons: dict[str, dict[str, Any]]
    truth: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        """Canonical JSON of the whole catalogue (sorted keys, UTF-8 kept)."""
        doc = {
            "seed": self.seed,
            "n_published": self.n_published,
            "items": self.items,
            "plans": self.plans,
            "persons": self.persons,
            "truth": self.truth,
        }
        return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """sha256 of :meth:`to_json`."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> Catalogue:
        doc = json.loads(text)
        return cls(doc["seed"], doc["n_published"], doc["items"], doc["plans"],
                   doc["persons"], doc["truth"])


def face_files() -> tuple[list[str], list[str]]:
    """(paired person ids, single-photo person ids), sorted."""
    ids = sorted({p.name.split("_")[0] for p in FACES_DIR.glob("*_1.jpg")})
    paired = [i for i in ids if (FACES_DIR / f"{i}_2.jpg").exists()]
    single = [i for i in ids if i not in paired]
    return paired, single


def _person_name(rng: random.Random) -> str:
    given = names.GIVEN
    start = rng.randrange(0, len(given) - 1)
    return rng.choice(names.SURNAMES) + given[start:start + rng.choice((1, 2))]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _scene(rng: random.Random, kind: str, **extra: Any) -> dict[str, Any]:
    scene: dict[str, Any] = {"type": kind, "seed": rng.randrange(2**31)}
    scene.update(extra)
    return scene


def _unrelated_scene(rng: random.Random, others: list[str]) -> dict[str, Any]:
    if rng.random() < 0.35:
        person = rng.choice(others)
        files = [f"{person}_1.jpg"]
        if (FACES_DIR / f"{person}_2.jpg").exists():
            files.append(f"{person}_2.jpg")
        return _scene(rng, "photo", file=rng.choice(files),
                      transform=rng.choice(("none", "subtitle", "letterbox", "crop10")),
                      subtitle=rng.choice(names.SUBTITLES))
    return _scene(rng, "synthetic", caption=rng.choice(names.SCENE_CAPTIONS))


def _derived_scene(rng: random.Random, demo_id: str, singles: list[str]) -> dict[str, Any]:
    transform = rng.choice(TRANSFORMS)
    photo = f"{demo_id}_{rng.choice((1, 2))}.jpg"
    if transform == "faceswap":
        target = f"{rng.choice(singles)}_1.jpg"
        return _scene(rng, "faceswap", file=photo, target=target, transform=transform,
                      subtitle=rng.choice(names.SUBTITLES))
    return _scene(rng, "photo", file=photo, transform=transform,
                  subtitle=rng.choice(names.SUBTITLES))


def _video_plan(rng: random.Random) -> dict[str, Any]:
    duration = rng.choice((3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0))
    frames = int(duration * FPS)
    n_scenes = rng.randint(3, 5)  # 2-4 cuts
    # Every scene at least 6 frames; the rest shared out at random.
    weights = [rng.uniform(0.5, 1.5) for _ in range(n_scenes)]
    spare = frames - 6 * n_scenes
    lengths = [6 + int(spare * w / sum(weights)) for w in weights]
    lengths[-1] += frames - sum(lengths)
    bounds = [0]
    for length in lengths:
        bounds.append(bounds[-1] + length)
    return {"duration": duration, "fps": FPS, "frames": frames,
            "scene_starts": bounds[:-1], "scene_lengths": lengths}


def build_catalog(seed: int = 1, n_published: int = DEFAULT_PUBLISHED,
                  n_reserve: int = DEFAULT_RESERVE) -> Catalogue:
    """Generate the catalogue for a seed (deterministic, metadata and plans only)."""
    rng = random.Random(f"likewatch-sandbox:{seed}")
    paired, singles = face_files()
    demo_ids = sorted(rng.sample(paired, 3))
    persons: dict[str, dict[str, Any]] = {
        key: {"label": f"Demo person {key[-1].upper()}", "photos": [f"{pid}_1.jpg", f"{pid}_2.jpg"],
              "enrolment": f"{pid}_1.jpg"}
        for key, pid in zip(DEMO_KEYS, demo_ids, strict=True)
    }
    others = [p for p in paired if p not in demo_ids] + singles

    uploaders: list[dict[str, str]] = []
    for i in range(24):
        name = rng.choice(names.UPLOADER_STEMS) + rng.choice(names.UPLOADER_SUFFIXES)
        uploaders.append({"id": f"u{i + 1:04d}", "name": name})
    series: list[dict[str, Any]] = []
    for i, title in enumerate(rng.sample(names.SERIES_TITLES, 14)):
        series_cast = [{"name": _person_name(rng), "role": f"{role}（{_person_name(rng)}）"}
                       for role in rng.sample(names.CHARACTER_ROLES, rng.randint(3, 5))]
        series.append({"id": f"s{i + 1:03d}", "title": title, "uploader": rng.choice(uploaders),
                       "cast": series_cast, "episodes": rng.randint(6, 14)})

    total = n_published + n_reserve
    kinds: list[tuple[str, dict[str, Any] | None]] = []
    for ser_plan in series:
        kinds += [("episode", ser_plan)] * ser_plan["episodes"]
    kinds = kinds[: int(total * 0.35)]
    kinds += [("short", None)] * (total - len(kinds))
    rng.shuffle(kinds)
    episode_counter: dict[str, int] = {}
    t = BASE_TIME
    items: list[dict[str, Any]] = []
    plans: dict[str, dict[str, Any]] = {}
    truth: dict[str, dict[str, Any]] = {}
    for index, (kind, ser) in enumerate(kinds):
        item_id = f"v{index + 1:05d}"
        gap_hours = rng.uniform(2, 18) if index < n_published else rng.uniform(0.5, 3)
        t = t + timedelta(hours=gap_hours, seconds=rng.randrange(3600))
        tags = rng.sample(names.TAGS, rng.randint(2, 4))
        if kind == "episode":
            assert ser is not None
            ep = episode_counter.get(ser["id"], 0) + 1
            episode_counter[ser["id"]] = ep
            title = f"{ser['title']} 第{ep}集 {rng.choice(names.EPISODE_HOOKS)}"
            uploader = ser["uploader"]
            series_ref: dict[str, Any] | None = {"id": ser["id"], "title": ser["title"], "episode": ep}
            item_cast: list[dict[str, str]] = ser["cast"]
            if "短剧" not in tags:
                tags = ["短剧", *tags[:3]]
        else:
            title = f"{rng.choice(names.SHORT_TOPICS)}｜{rng.choice(names.SHORT_HOOKS)}"
            uploader = rng.choice(uploaders)
            series_ref = None
            item_cast = []
        has_video = rng.random() < VIDEO_RATE
        derived = rng.random() < DERIVED_RATE
        demo_key = rng.choice(DEMO_KEYS)
        demo_id = persons[demo_key]["enrolment"].split("_")[0]
        thumb = _derived_scene(rng, demo_id, singles) if derived else _unrelated_scene(rng, others)
        video = None
        in_video = False
        person_scene = thumb
        video_scene: dict[str, Any] | None = None
        if has_video:
            video = _video_plan(rng)
            scenes = [_unrelated_scene(rng, others) for _ in video["scene_lengths"]]
            scenes[0] = thumb  # the thumbnail is the first scene, as platforms do
            if derived or rng.random() < VIDEO_ONLY_PERSON_RATE:
                pos = rng.randrange(1, len(scenes))
                person_scene = _derived_scene(rng, demo_id, singles)
                scenes[pos] = person_scene
                in_video = True
                start = video["scene_starts"][pos] / FPS
                video_scene = {
                    "index": pos, "start": start,
                    "end": start + video["scene_lengths"][pos] / FPS,
                    "source": _source_of(person_scene),
                    "transform": person_scene["transform"],
                }
            video["scenes"] = scenes
        person = demo_key if (derived or in_video) else None
        shown = thumb if derived else person_scene
        truth[item_id] = {
            "person": person,
            "source": _source_of(shown) if person else _source_of(thumb),
            "transform": shown.get("transform", "none") if person else "none",
            "in_thumbnail": derived,
            "in_video": in_video,
            "video_scene": video_scene,
        }
        plans[item_id] = {"thumbnail": thumb, "video": video}
        items.append({
            "id": item_id,
            "kind": kind,
            "title": title,
            "description": rng.choice(names.DESCRIPTIONS) + " #" + " #".join(tags),
            "uploader": {"id": uploader["id"], "name": uploader["name"]},
            "tags": tags,
            "publishedAt": _iso(t),
            "viewCount": int(10 ** rng.uniform(2, 6.7)),
            "thumbnailUrl": f"/media/thumb/{item_id}.jpg",
            "videoUrl": f"/media/video/{item_id}.mp4" if has_video else None,
            "duration": video["duration"] if video else None,
            "series": series_ref,
            "cast": [dict(c) for c in item_cast],
        })
    return Catalogue(seed, n_published, items, plans, persons, truth)


def _source_of(scene: dict[str, Any]) -> str:
    if scene["type"] == "faceswap":
        return f"faces/{scene['file']} onto faces/{scene['target']}"
    if scene["type"] == "photo":
        return f"faces/{scene['file']}"
    return "synthetic"
