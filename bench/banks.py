"""Bank match time per candidate with 200,000 references (target: at most 1 ms).

    .venv/bin/python bench/banks.py [--refs 200000] [--per-person 10] [--queries 200]

References: ``--refs`` synthetic reference photos spread over ``refs / per-person``
persons, each with what enrolment stores - 8 PDQ values (the dihedral variants), one
pHash, one face embedding and one face PDQ - plus the real references of the paired
persons in sandbox/assets/faces. Synthetic hashes are uniformly random bits; synthetic
embeddings have a person structure like dlib's (person centres about 0.9 apart, a
person's references about 0.35 apart), which is what the per-person ball bound of the
face index relies on. ``--flat-faces`` draws every embedding independently instead
(no person structure). Drawn around 0 (``--origin-faces``), their norms (about 0.64)
would be far from those of real dlib embeddings (about 1.4-1.5), and the face index
would rule out nearly every synthetic person from the norms alone (its radial bound).
So by default they are centred on the mean of the real references instead: spread the
same way as real faces around their mean but isotropic, which no bound short of the full
distance can prune - the face index's worst case (every person centre scored), and the
honest default.

Candidates: transformed copies of the real photos (hashed beforehand, not timed), so
every query has faces and some real matches. Timed, for all the values of a candidate
(pdq, phash, and per face: face, face_pdq):
- the product path: ``BankSet.match_many`` over batches of ``MATCH_BATCH_CANDIDATES``
  candidates, as the matcher (``matchers.pipeline.process_pending``) calls it - the
  figure the target is about (CPU time per candidate);
- one candidate alone (``match_values``), the latency when candidates trickle in;
- the product path with the compiled kernels switched off (numpy only).

Baselines measured in the same run:
- the same BankSet forced to linear scans (numpy, vectorised, every value read);
- a naive per-reference Python loop calling ``SignalType.distance`` for every stored
  value, measured on a subset of ``--naive-refs`` references and extrapolated linearly
  to the full bank (stated in the output).
Results of the indexed search are checked against the linear scan for every query.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import time

import numpy as np
from PIL import ImageOps

from matchers.banks import BankReference, BankSet, ReferenceBank
from matchers.enroll import reference_signals
from matchers.eval import DEFAULT_REFS, load_photos
from matchers.eval_transforms import Context, t_crop10, t_jpeg, t_letterbox
from matchers.images import ImageInput
from matchers.kernels import LIBRARY, available
from matchers.pipeline import MATCH_BATCH_CANDIDATES
from matchers.signals import all_signal_types
from matchers.signals.base import SignalValue


def _hex(bits: np.ndarray) -> list[str]:
    return [row.tobytes().hex() for row in bits]


def synthetic_banks(n_refs: int, per_person: int, rng: np.random.Generator,
                    flat_faces: bool, face_offset: np.ndarray | None = None
                    ) -> list[ReferenceBank]:
    n_persons = max(1, n_refs // per_person)
    pdq = _hex(rng.integers(0, 256, (n_refs * 8, 32), dtype=np.uint8))
    phash = _hex(rng.integers(0, 256, (n_refs, 8), dtype=np.uint8))
    fpdq = _hex(rng.integers(0, 256, (n_refs, 32), dtype=np.uint8))
    person = np.arange(n_refs) % n_persons
    if flat_faces:
        emb = rng.normal(0, 0.056, (n_refs, 128))
    else:
        centres = rng.normal(0, 0.9 / 16, (n_persons, 128))
        emb = centres[person] + rng.normal(0, 0.35 / 16 / np.sqrt(2), (n_refs, 128))
    if face_offset is not None:
        emb += face_offset
    emb32 = emb.astype("<f4")
    banks = [ReferenceBank(f"synthetic-{p}", "bench") for p in range(n_persons)]
    for i in range(n_refs):
        banks[person[i]].references.append(BankReference(1_000_000 + i, {
            "pdq": pdq[8 * i:8 * i + 8], "phash": [phash[i]], "face_pdq": [fpdq[i]],
            "face": [base64.b64encode(emb32[i].tobytes()).decode()]}))
    return banks


def real_banks_and_queries(rng: np.random.Generator
                           ) -> tuple[list[ReferenceBank], list[list[SignalValue]]]:
    types = all_signal_types()
    paired, singles = load_photos(DEFAULT_REFS)
    banks, queries = [], []
    for i, (pid, (one, two)) in enumerate(sorted(paired.items())):
        img = ImageInput.from_path(one)
        banks.append(ReferenceBank(pid, "real", references=[
            BankReference(i, reference_signals(img, types, label=str(one))[0])]))
        photo = img.full()
        ctx = Context(rng)
        for cand in (t_jpeg(photo, ctx)[0], t_crop10(photo, ctx)[0],
                     t_letterbox(photo, ctx)[0], ImageInput.from_pil(ImageOps.mirror(photo)),
                     ImageInput.from_path(two)):
            queries.append([v for t in types.values() for v in t.hash(cand)])
    for p in list(singles.values())[:10]:
        img = ImageInput.from_path(p)
        queries.append([v for t in types.values() for v in t.hash(img)])
    return banks, queries


def _time(fn, reps: int = 1) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--refs", type=int, default=200_000)
    ap.add_argument("--per-person", type=int, default=10)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--naive-refs", type=int, default=2_000)
    ap.add_argument("--flat-faces", action="store_true")
    ap.add_argument("--origin-faces", action="store_true",
                    help="synthetic embeddings around 0, far from real faces: the face index "
                         "prunes them by their norms alone (flattering; the first session's "
                         "figures were measured so). Default: around the real faces' mean")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    types = all_signal_types()

    t0 = time.perf_counter()
    real, queries = real_banks_and_queries(rng)
    print(f"real references: {len(real)}, candidate queries prepared: {len(queries)} "
          f"({time.perf_counter() - t0:.1f} s, not timed)")
    t0 = time.perf_counter()
    offset = None
    if not args.origin_faces:
        offset = np.mean([types["face"].to_array(v) for b in real for r in b.references
                          for v in r.signals.get("face", [])], axis=0)
    banks = real + synthetic_banks(args.refs, args.per_person, rng, args.flat_faces, offset)
    bankset = BankSet(banks, signal_types=types)
    build = time.perf_counter() - t0
    st = bankset.stats()
    print(f"bank: {st['persons']} persons, {st['references']} references; built in "
          f"{build:.1f} s; " + ", ".join(f"{k}: {v['values']} values ({v['mode']})"
                                         for k, v in st["signals"].items()))

    qs = [queries[i % len(queries)] for i in range(args.queries)]
    batch = MATCH_BATCH_CANDIDATES

    def batched() -> tuple[float, float]:
        """CPU and wall seconds per candidate of match_many over batches, as the matcher
        calls it."""
        bankset.match_many(qs[:batch])  # warm-up
        cpu0, t0 = time.process_time(), time.perf_counter()
        for b in range(0, len(qs), batch):
            bankset.match_many(qs[b:b + batch])
        return (time.process_time() - cpu0) / len(qs), (time.perf_counter() - t0) / len(qs)

    many_cpu, many_wall = batched()
    assert bankset.match_many(queries) == [bankset.match_values(q) for q in queries]
    split = {}
    for name, ix in bankset.indexes.items():
        vals = [v.value for q in qs for v in q if v.signal == name]
        in_batch = max(1, -(-len(vals) * batch // len(qs)))  # this index's values per batch
        cpu0 = time.process_time()
        for b in range(0, len(vals), in_batch):
            ix.search_many(vals[b:b + in_batch])
        split[name] = (time.process_time() - cpu0) / len(qs)
    for q in qs[:10]:  # warm-up
        bankset.match_values(q)
    cpu0 = time.process_time()
    per = [_time(lambda q=q: bankset.match_values(q)) for q in qs]
    cpu_per = (time.process_time() - cpu0) / len(qs)
    kernels = {n: ix.index.kernel for n, ix in bankset.indexes.items()
               if getattr(ix.index, "kernel", None) is not None}
    for n in kernels:
        bankset.indexes[n].index.kernel = None
    numpy_cpu = batched()[0]
    for n, k in kernels.items():
        bankset.indexes[n].index.kernel = k

    linear = BankSet.__new__(BankSet)  # same rows, every index forced to a linear scan
    linear.__dict__.update(bankset.__dict__)
    linear.indexes = {}
    from matchers.bank_index import HammingIndex
    from matchers.euclidean_index import EuclideanIndex

    for name, ix in bankset.indexes.items():
        clone = object.__new__(type(ix))
        clone.__dict__.update(ix.__dict__)
        if isinstance(ix.index, HammingIndex):
            clone.index = HammingIndex(ix.index.nbits, ix.index.words.view(np.uint8),
                                       ix.index.radius, mode="linear")
        else:
            vecs = np.empty_like(ix.index.vecs)
            vecs[ix.index.order] = ix.index.vecs
            clone.index = EuclideanIndex(vecs, np.arange(len(vecs)), ix.index.radius)
        linear.indexes[name] = clone
    lin_q = qs[:40]
    cpu0 = time.process_time()
    lin = [_time(lambda q=q: linear.match_values(q)) for q in lin_q]
    lin_cpu = (time.process_time() - cpu0) / len(lin_q)
    for q in queries:
        a = sorted((m.person, m.signal, round(m.distance, 5)) for m in bankset.match_values(q))
        b = sorted((m.person, m.signal, round(m.distance, 5)) for m in linear.match_values(q))
        assert a == b, "indexed and linear results differ"
    found = sum(bool(bankset.match_values(q)) for q in queries)

    # Naive: a Python loop over the references of a subset, SignalType.distance per value.
    subset = [r for b in banks for r in b.references][:args.naive_refs]
    naive_q = qs[:5]

    def naive(q: list[SignalValue]) -> None:
        for ref in subset:
            for v in q:
                for stored in ref.signals.get(v.signal, []):
                    types[v.signal].distance(v.value, stored)

    naive_s = statistics.median(_time(lambda q=q: naive(q)) for q in naive_q)
    n_total = st["references"]
    naive_full = naive_s * n_total / len(subset)

    med, mean = statistics.median(per), statistics.fmean(per)
    p95 = sorted(per)[int(0.95 * len(per)) - 1]
    lin_med = statistics.median(lin)
    faces = statistics.fmean(sum(v.signal == "face" for v in q) for q in qs)
    print(f"queries: {len(qs)} candidates, {faces:.2f} faces each on average; "
          f"{found}/{len(queries)} distinct candidates matched a real person "
          "(identical results indexed vs linear)")
    print(f"compiled kernels: {'loaded, ' + str(LIBRARY) if available() else 'NOT LOADED (numpy)'};"
          f" used by {sorted(kernels) or 'no index'}")
    print(f"PRODUCT PATH, match_many over batches of {batch} candidates (as the matcher): "
          f"{many_cpu * 1e3:.3f} ms CPU per candidate, {many_wall * 1e3:.3f} ms wall"
          "   (target <= 1 ms)")
    print("  of which, CPU per candidate by index: " + ", ".join(
        f"{k} {v * 1e3:.3f} ms" for k, v in split.items()))
    print(f"  the same without the compiled kernels (numpy): {numpy_cpu * 1e3:.3f} ms CPU "
          f"-> kernels are {numpy_cpu / many_cpu:.2f}x faster")
    print(f"one candidate alone (match_values): median {med * 1e3:.3f} ms, mean "
          f"{mean * 1e3:.3f} ms, p95 {p95 * 1e3:.3f} ms wall; {cpu_per * 1e3:.3f} ms CPU "
          "(each face scores all 20,000 person centres on its own)")
    print(f"linear numpy scan per candidate: median {lin_med * 1e3:.2f} ms wall, "
          f"{lin_cpu * 1e3:.2f} ms CPU   -> the product path is {lin_cpu / many_cpu:.1f}x "
          f"faster (CPU), one candidate alone {lin_cpu / cpu_per:.1f}x")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(wall times on a shared machine include waiting for a core; CPU time does not)")
    print(f"naive Python loop: {naive_s * 1e3:.0f} ms for {len(subset)} references, "
          f"extrapolated to {n_total}: {naive_full:.1f} s per candidate   "
          f"-> the product path is {naive_full / many_cpu:,.0f}x faster")


if __name__ == "__main__":
    main()
