"""Names as a signal: a protected person's name in a candidate's cast, title, tags or text.

Weaker than a face or an image hash: alone, a hit is a review-tier match; beside a face or
hash match on the same item it raises the alert's severity (``alerts.build``). The matcher
checks every candidate with a :class:`NameMatcher` built once per bank change
(``matchers.name_signal``).

What counts as the same name (``NameHit.kind``):

- ``exact`` / ``alias``: the display name or an alias, also with symbols, spaces or
  zero-width characters inserted (``刘 德 华``, ``刘.德.华``, ``刘\u200b德华``) and in full-width
  forms (NFKC);
- ``variant``: the traditional-script form (``劉德華``; OpenCC t2s);
- ``pinyin``: the romanised Chinese name as whole words, either order, any spacing or case
  (``Liu Dehua``, ``liudehua``, ``Dehua LIU``);
- ``homophone``: every character reads the same, tones ignored (``刘得华``);
- ``near_homophone``: every syllable equal after folding the usual confusions (zh/z, ch/c,
  sh/s, n/l; an/ang, en/eng, in/ing) and at least one character identical (``牛德华``,
  ``陈子墨`` → ``岑子墨``).

Two-character names are common words too, so they only match a whole token: a cast or tag
entry, or a segment of text between punctuation or spaces (``#王菲#``, ``主演：王菲``) —
never the inside of a longer run of characters. Longer names also match inside text.
Homophones of a two-character name also need one identical character.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from opencc import OpenCC
from pypinyin import Style, lazy_pinyin, pinyin

KINDS = ("exact", "alias", "variant", "pinyin", "homophone", "near_homophone")
SCORES = {"exact": 1.0, "alias": 0.95, "variant": 0.9, "pinyin": 0.8, "homophone": 0.7,
          "near_homophone": 0.55}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
# Inserted inside a name to dodge a filter: dropped. Everything else that is not a letter
# (punctuation, digits, brackets, |, /, #, …) separates tokens.
_WEAK = set(".·•・‧∙-_*~`'^+=‐‑–—")
_t2s = OpenCC("t2s")


@dataclass(frozen=True)
class NameHit:
    person: str
    field: str
    matched_text: str
    kind: str
    score: float
    name: str = dataclasses.field(default="", compare=False)  # the protected name it stands for


@dataclass(frozen=True)
class ProtectedNames:
    """A person and the names they go by (display name first)."""

    person: str
    names: tuple[str, ...]


# ------------------------------------------------------------------ character normalisation


@lru_cache(maxsize=65536)
def _simplified(ch: str) -> str:
    out = _t2s.convert(ch)
    return out if len(out) == 1 else ch


@lru_cache(maxsize=65536)
def readings(ch: str) -> frozenset[str]:
    """Toneless pinyin readings of one character (all of them for polyphones)."""
    return frozenset(r.replace("v", "u") for r in pinyin(ch, style=Style.NORMAL,
                                                           heteronym=True)[0])


def fold(syllable: str) -> str:
    """A syllable with the usual near-homophone confusions folded together."""
    s = syllable
    for long, short in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if s.startswith(long):
            s = short + s[2:]
            break
    if s.startswith("n") and not s.startswith("ng"):
        s = "l" + s[1:]
    if s.endswith(("ang", "eng", "ing")):
        s = s[:-1]
    return s


@lru_cache(maxsize=65536)
def _folded(ch: str) -> frozenset[str]:
    return frozenset(fold(r) for r in readings(ch))


@lru_cache(maxsize=65536)
def _normalised(ch: str) -> tuple[tuple[str, str], ...]:
    """(original, normalised) pairs one character of a text stands for."""
    out = []
    for n in unicodedata.normalize("NFKC", ch):
        n = n.casefold()
        if _CJK.match(n):
            out.append((n, _simplified(n)))
        else:
            base = unicodedata.normalize("NFD", n)
            base = "".join(c for c in base if not unicodedata.combining(c)) or n
            out += [(n, b) for b in base]
    return tuple(out)


def _chars(text: str) -> list[tuple[str, str, int]]:
    """(original char, normalised char, index in text) after NFKC, casefold, t2s."""
    return [(n, b, i) for i, ch in enumerate(text) for n, b in _normalised(ch)]


@lru_cache(maxsize=65536)
def _kind_of(ch: str) -> str:
    if _CJK.match(ch):
        return "cjk"
    if ch.isascii() and ch.isalpha():
        return "latin"
    if ch.isspace():
        return "space"
    if ch in _WEAK or unicodedata.category(ch) in ("Cf", "So", "Sk", "Mn"):
        return "weak"
    return "strong"


# ------------------------------------------------------------------ text → segments, tokens


@dataclass
class _Run:
    orig: list[str]
    norm: list[str]
    pos: list[int]


def _cjk_segments(chars: list[tuple[str, str, int]]) -> Iterator[_Run]:
    """Runs of CJK characters, weak separators dropped; yielded twice: split at strong
    separators only (``刘 德 华`` stays one run) and also at spaces (``王菲 新歌``)."""
    for split_on_space in (False, True):
        run = _Run([], [], [])
        for orig, norm, pos in chars:
            kind = _kind_of(norm)
            if kind == "cjk":
                run.orig.append(orig)
                run.norm.append(norm)
                run.pos.append(pos)
            elif kind == "weak" or (kind == "space" and not split_on_space):
                continue
            else:
                if run.norm:
                    yield run
                run = _Run([], [], [])
        if run.norm:
            yield run


def _latin_runs(chars: list[tuple[str, str, int]]) -> Iterator[list[tuple[str, int, int]]]:
    """Runs of Latin words (word, start, end) joined only by spaces or weak separators."""
    run: list[tuple[str, int, int]] = []
    word, start, end = "", -1, -1
    for _orig, norm, pos in chars:
        kind = _kind_of(norm)
        if kind == "latin":
            if not word:
                start = pos
            word += "u" if norm == "v" else norm
            end = pos
            continue
        if word:
            run.append((word, start, end))
            word = ""
        if kind not in ("space", "weak"):
            if run:
                yield run
            run = []
    if word:
        run.append((word, start, end))
    if run:
        yield run


# ------------------------------------------------------------------ the names to look for


@dataclass(frozen=True)
class _Name:
    person: str
    text: str
    is_alias: bool
    cjk: tuple[str, ...]  # simplified characters, when the name is Chinese
    orig_cjk: tuple[str, ...]  # the characters as the client wrote them
    latin_forms: frozenset[str]  # letters-only spellings to find as whole words
    latin_words: int  # how many words the Latin form has (1: whole token only)

    @cached_property
    def folded(self) -> tuple[frozenset[str], ...]:
        return tuple(_folded(c) for c in self.cjk)


def _pinyin_forms(cjk: tuple[str, ...], reorder: bool = True) -> set[str]:
    options = [sorted(readings(c)) for c in cjk]
    spellings = [[s.replace("v", "u") for s in lazy_pinyin("".join(cjk))]]
    if all(len(o) >= 1 for o in options) and len(list(itertools.product(*options))) <= 16:
        spellings += [list(p) for p in itertools.product(*options)]
    forms = set()
    for sy in spellings:
        forms.add("".join(sy))
        if reorder:  # given name first, Western order (not for nicknames like 华仔)
            forms.add("".join(sy[1:] + sy[:1]))
    return forms


@lru_cache(maxsize=65536)  # persons kept across bank rebuilds: only new names compile
def _compile(person: str, names: tuple[str, ...]) -> tuple[_Name, ...]:
    out = []
    for i, raw in enumerate(names):
        chars = _chars(raw)
        cjk = tuple(n for _o, n, _p in chars if _kind_of(n) == "cjk")
        orig_cjk = tuple(o for o, n, _p in chars if _kind_of(n) == "cjk")
        letters = [n for _o, n, _p in chars if _kind_of(n) == "latin"]
        if cjk and not letters:
            if len(cjk) < 2:
                continue
            # a two-character name's romanisation must be a whole run of words too
            out.append(_Name(person, raw, i > 0, cjk, orig_cjk,
                             frozenset(_pinyin_forms(cjk, reorder=len(cjk) > 2 or i == 0)),
                             2 if len(cjk) > 2 else 1))
        elif letters and not cjk:
            words = [w for w, _s, _e in itertools.chain.from_iterable(_latin_runs(chars))]
            joined = "".join(words)
            if len(joined) >= 3:
                out.append(_Name(person, raw, i > 0, (), (), frozenset({joined}), len(words)))
    return tuple(out)


def _as_protected(p: Any) -> ProtectedNames:
    if isinstance(p, ProtectedNames):
        return p
    if isinstance(p, Mapping):
        key = str(p.get("key") or p.get("person") or p.get("id"))
        names = [p.get("display_name") or p.get("name") or ""] + list(p.get("aliases") or [])
    elif isinstance(p, tuple) and len(p) == 2:
        key, names = str(p[0]), list(p[1])
    else:  # the catalog's Person row
        key = str(p.key)
        names = [p.display_name or ""] + list(p.aliases or [])
    return ProtectedNames(key, tuple(n for n in names if n and n.strip()))


# ------------------------------------------------------------------ matching


def _cjk_hit(name: _Name, run: _Run, lo: int, folded: list[frozenset[str]]) -> str | None:
    n = len(name.cjk)
    # cheap test first: most windows differ in sound at once
    if not all(folded[lo + k] & name.folded[k] for k in range(n)):
        return None
    window = run.norm[lo:lo + n]
    if window == list(name.cjk):
        if tuple(run.orig[lo:lo + n]) != name.orig_cjk:
            return "variant"  # same name once both are simplified (劉德華 / 刘德华)
        return "alias" if name.is_alias else "exact"
    same = sum(a == b for a, b in zip(window, name.cjk, strict=True))
    if all(readings(a) & readings(b) for a, b in zip(window, name.cjk, strict=True)):
        return "homophone" if (n > 2 or same >= 1) else None
    return "near_homophone" if same >= 1 else None


class _Index:
    """The compiled names, indexed once: CJK names by the folded syllables of their first
    two characters (so a window is compared only with names that could start there),
    romanised forms by their letters."""

    def __init__(self, names: list[_Name]) -> None:
        self.by_start: dict[tuple[str, str], list[_Name]] = {}
        self.latin: dict[str, list[_Name]] = {}
        for name in names:
            if name.cjk:  # at least two characters (_compile)
                for pair in itertools.product(name.folded[0], name.folded[1]):
                    self.by_start.setdefault(pair, []).append(name)
            for form in name.latin_forms:
                self.latin.setdefault(form, []).append(name)
        self.longest = max((len(f) for f in self.latin), default=0)
        self._memo: dict[tuple[frozenset[str], frozenset[str]], tuple[_Name, ...]] = {}

    def starting_with(self, first: frozenset[str], second: frozenset[str]
                      ) -> tuple[_Name, ...]:
        names = self._memo.get((first, second))
        if names is None:
            found: dict[int, _Name] = {}
            for pair in itertools.product(first, second):
                for name in self.by_start.get(pair, ()):
                    found[id(name)] = name
            if len(self._memo) >= 100_000:  # bounded: syllable pairs, few in practice
                self._memo.clear()
            names = self._memo[(first, second)] = tuple(found.values())
        return names


def _hits_in_value(field: str, value: str, index: _Index) -> Iterator[NameHit]:
    chars = _chars(value)
    for run in _cjk_segments(chars):
        folded = [_folded(c) for c in run.norm]
        for lo in range(len(run.norm) - 1):
            for name in index.starting_with(folded[lo], folded[lo + 1]):
                n = len(name.cjk)
                if lo + n > len(run.norm) or (n == 2 and len(run.norm) != 2):
                    continue
                kind = _cjk_hit(name, run, lo, folded)
                if kind:
                    text = value[run.pos[lo]:run.pos[lo + n - 1] + 1]
                    yield NameHit(name.person, field, text, kind, SCORES[kind], name.text)
    for words in _latin_runs(chars):
        for lo in range(len(words)):
            joined = ""
            for hi in range(lo, len(words)):
                joined += words[hi][0]
                if len(joined) > index.longest:
                    break
                for name in index.latin.get(joined, ()):
                    whole = lo == 0 and hi == len(words) - 1
                    if name.latin_words >= 2 or whole:
                        kind = "pinyin" if name.cjk else ("alias" if name.is_alias else "exact")
                        text = value[words[lo][1]:words[hi][2] + 1]
                        yield NameHit(name.person, field, text, kind, SCORES[kind], name.text)


def _field_values(candidate_fields: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, text) pairs: strings as they are, lists entry by entry, cast as name/role."""
    for field, value in candidate_fields.items():
        if isinstance(value, str):
            yield field, value
        elif isinstance(value, list):
            for entry in value:
                if isinstance(entry, str):
                    yield field, entry
                elif isinstance(entry, Mapping):
                    for key, sub in entry.items():
                        if isinstance(sub, str):
                            yield f"{field}.{key}", sub


class NameMatcher:
    """Every protected person's names compiled and indexed once (the reference banks build
    one per bank change: ``matchers.banks.BankSet.name_matcher``); :meth:`hits` is then
    :func:`name_hits` without compiling anything."""

    def __init__(self, persons: Iterable[Any]) -> None:
        compiled: list[_Name] = []
        for p in persons:
            prot = _as_protected(p)
            compiled.extend(_compile(prot.person, prot.names))
        self.size = len(compiled)  # names compiled
        self._index = _Index(compiled)

    def hits(self, candidate_fields: Mapping[str, Any]) -> list[NameHit]:  # see name_hits
        best: dict[tuple[str, str, str], NameHit] = {}
        for field, text in _field_values(candidate_fields):
            if not text.strip():
                continue
            for hit in _hits_in_value(field, text, self._index):
                key = (hit.person, hit.field, hit.matched_text)
                if key not in best or hit.score > best[key].score:
                    best[key] = hit
        return sorted(best.values(),
                      key=lambda h: (-h.score, h.person, h.field, h.matched_text))


def name_hits(candidate_fields: Mapping[str, Any], persons: Iterable[Any]) -> list[NameHit]:
    """Every protected name found in a candidate's fields, best first, one hit per
    (person, field, matched text).

    ``candidate_fields``: e.g. ``{"title": .., "description": .., "tags": [..],
    "cast": [{"name": .., "role": ..}]}`` (``CandidateItem.to_dict()`` works as is).
    ``persons``: :class:`ProtectedNames`, catalog ``Person`` rows, mappings with
    ``key``/``display_name``/``aliases``, or ``(key, [names])`` pairs.
    """
    return NameMatcher(persons).hits(candidate_fields)


def best_by_person(hits: Iterable[NameHit]) -> dict[str, NameHit]:
    """The strongest hit per person: what raises that person's alert priority."""
    best: dict[str, NameHit] = {}
    for hit in hits:
        if hit.person not in best or hit.score > best[hit.person].score:
            best[hit.person] = hit
    return best
