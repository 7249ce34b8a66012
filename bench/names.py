"""Names as a signal: time of the name check on realistic fields against a roster, and the
ratio to the naive baseline (exact substring search for each name), measured in the same run.

Two ways in: ``NameMatcher`` built once (what the matcher does, once per bank change: its
build time is printed too) and ``name_hits`` (compiles and indexes the names on every call).

    .venv/bin/python bench/names.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matchers.names import NameMatcher, ProtectedNames, name_hits  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉建文斌宇浩凯健俊帆帅旭宁龙林欣佳颖瑶"
FILLER = "的了是在和与她他们一个这那新剧短剧豪门替身总裁归来第集主演讲述故事，。！"


def main() -> None:
    rng = random.Random(7)
    persons = [ProtectedNames(f"p{i}", (rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                                        rng.choice(SURNAMES) + rng.choice(GIVEN), f"Star{i} Lee"))
               for i in range(200)]
    candidates = []
    for _ in range(50):
        candidates.append({
            "title": "".join(rng.choice(FILLER + GIVEN) for _ in range(30)),
            "description": "".join(rng.choice(FILLER + GIVEN + SURNAMES) for _ in range(400)),
            "tags": ["短剧", "豪门", rng.choice(SURNAMES) + rng.choice(GIVEN)],
            "cast": [{"name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                      "role": rng.choice(SURNAMES) + rng.choice(GIVEN)} for _ in range(6)],
        })
    t0 = time.process_time()
    matcher = NameMatcher(persons)  # compiles every name (cold caches): once per bank change
    build_ms = (time.process_time() - t0) * 1000
    print(f"NameMatcher build {build_ms:7.1f} ms CPU for 200 persons ({matcher.size} names compiled)")

    def built() -> int:
        return sum(len(matcher.hits(c)) for c in candidates)

    def per_call() -> int:
        return sum(len(name_hits(c, persons)) for c in candidates)

    names = [n for p in persons for n in p.names]

    def naive() -> int:
        count = 0
        for c in candidates:
            texts = [c["title"], c["description"], *c["tags"]] + [
                v for e in c["cast"] for v in e.values()]
            count += sum(1 for t in texts for n in names if n in t)
        return count

    figures = {}
    for label, fn in (("NameMatcher.hits", built), ("name_hits", per_call),
                      ("naive substring", naive)):
        times = []
        for _ in range(3):
            t = time.process_time()
            hits = fn()
            times.append(time.process_time() - t)
        figures[label] = statistics.median(times) / len(candidates) * 1000
        print(f"{label:16s} {figures[label]:7.2f} ms CPU per candidate "
              f"(200 persons, 600 names; {hits} hits)")
    base = figures["naive substring"]
    print(f"ratio NameMatcher.hits / naive: {figures['NameMatcher.hits'] / base:.1f}x; "
          f"name_hits / naive: {figures['name_hits'] / base:.1f}x")


if __name__ == "__main__":
    main()
