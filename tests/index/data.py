"""Deterministic candidate documents for the contract suite, with brute-force answers."""

from __future__ import annotations

import base64
import datetime as dt
import random

import numpy as np

from matchers.index.base import CandidateDoc

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
PLATFORMS = ["douyin", "kuaishou", "bilibili", "sandbox"]
UPLOADERS = ["星河影视", "moonlight", "Drama Hub", "", "短剧工厂"]
TITLES = [
    "Moonlight drama episode {n}",
    "霸道总裁爱上我 第{n}集",
    "明星 同款 short clip {n}",
    "Behind the scenes: MOONLIGHT cast {n}",
    "今日 热门 短剧 {n}",
    "Random vlog {n}",
]


def flip(hex_value: str, nbits: int, rng: random.Random) -> str:
    value = int(hex_value, 16)
    for bit in rng.sample(range(len(hex_value) * 4), nbits):
        value ^= 1 << bit
    return f"{value:0{len(hex_value)}x}"


def face(vec: np.ndarray) -> str:
    return base64.b64encode(vec.astype("<f4").tobytes()).decode()


def make_docs(n: int = 60, seed: int = 7) -> tuple[list[CandidateDoc], dict[str, str]]:
    """``n`` documents and the query values (base pdq/phash/face) they were built around."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    base_pdq = f"{rng.getrandbits(256):064x}"
    base_phash = f"{rng.getrandbits(64):016x}"
    base_face = nrng.normal(0, 0.1, 128).astype(np.float32)
    docs = []
    for i in range(n):
        signals: dict[str, list[str]] = {}
        if i % 5 != 4:
            near = i % 3 == 0
            signals["pdq"] = [flip(base_pdq, rng.randrange(0, 64), rng) if near
                              else f"{rng.getrandbits(256):064x}"]
            if i % 4 == 0:
                signals["pdq"].append(flip(base_pdq, rng.randrange(0, 40), rng))
            signals["phash"] = [flip(base_phash, rng.randrange(0, 20), rng) if near
                                else f"{rng.getrandbits(64):016x}"]
        if i % 2 == 0:
            faces = [face(base_face + nrng.normal(0, 0.02 * (i % 7 + 1), 128))]
            if i % 6 == 0:
                faces.append(face(nrng.normal(0, 0.1, 128)))
            signals["face"] = faces
            signals["face_pdq"] = [flip(base_pdq, rng.randrange(0, 100), rng)]
        docs.append(CandidateDoc(
            platform=PLATFORMS[i % len(PLATFORMS)],
            item_id=f"item{i:03d}",
            url=f"https://example.invalid/v/{i}",
            title=TITLES[i % len(TITLES)].format(n=i),
            description="官方 授权" if i % 7 == 0 else f"Description number {i}",
            uploader=UPLOADERS[i % len(UPLOADERS)],
            tags=["明星", "Drama"] if i % 3 == 0 else ["vlog"],
            published_at=None if i % 8 == 3 else T0 - dt.timedelta(days=i % 11, hours=i),
            found_at=T0 + dt.timedelta(days=i % 6, minutes=7 * i),
            clients=["studio-a"] if i % 2 == 0 else (["agency-b", "studio-a"] if i % 5 == 1 else []),
            persons=["p1"] if i % 2 == 0 else (["p2", "p3"] if i % 5 == 1 else []),
            matched=i % 2 == 0 or i % 5 == 1,
            signals=signals,
        ))
    return docs, {"pdq": base_pdq, "phash": base_phash, "face": face(base_face)}


def make_scale_docs(n: int, seed: int, start: int = 0
                    ) -> tuple[list[CandidateDoc], dict[str, list[str]]]:
    """``n`` documents whose hashes are random or near copies (0 to 60 bits flipped) of
    a few base values, for radius searches at scale; the base values, per signal."""
    rng = random.Random(seed)
    nbits = {"pdq": 256, "phash": 64, "face_pdq": 256}
    bases = {s: [f"{rng.getrandbits(b):0{b // 4}x}" for _ in range(5)] for s, b in nbits.items()}

    def value(signal: str) -> str:
        if rng.random() < 0.3:
            return flip(rng.choice(bases[signal]), rng.randrange(0, nbits[signal] // 4), rng)
        return f"{rng.getrandbits(nbits[signal]):0{nbits[signal] // 4}x}"

    docs = []
    for i in range(start, start + n):
        signals = {"pdq": [value("pdq") for _ in range(1 + (i % 4 == 0))],
                   "phash": [value("phash")]}
        if i % 3 == 0:
            signals["face_pdq"] = [value("face_pdq")]
        docs.append(CandidateDoc(platform=PLATFORMS[i % len(PLATFORMS)], item_id=f"s{i:06d}",
                                 title=f"scale {i}", found_at=T0 + dt.timedelta(seconds=i),
                                 signals=signals))
    return docs, bases


def brute_radius(docs: dict[str, CandidateDoc], signal: str, value: str,
                 radius: int) -> list[tuple[str, int]]:
    """The exact radius answer over ``docs`` ({doc_id: doc}), by brute force in numpy:
    ``(doc_id, smallest distance)`` by distance, then doc_id."""
    owners = [i for i, d in docs.items() for _ in d.signals.get(signal, [])]
    if not owners:
        return []
    codes = np.array([np.frombuffer(bytes.fromhex(v), np.uint8) for d in docs.values()
                      for v in d.signals.get(signal, [])])
    dist = np.unpackbits(codes ^ np.frombuffer(bytes.fromhex(value), np.uint8), axis=1).sum(1)
    best: dict[str, int] = {}
    for i in np.flatnonzero(dist <= radius).tolist():
        best[owners[i]] = min(best.get(owners[i], 999), int(dist[i]))
    return sorted(best.items(), key=lambda kv: (kv[1], kv[0]))
