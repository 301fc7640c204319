"""Recall mode: US place names from a gazetteer (GeoNames places of 1,000 or more
inhabitants, ``data/us_places.csv``), written in title case: "Memphis", "Sioux Falls",
"Saint Paul" / "St. Paul", "Lake Orion".

A one-word place that is also an English or clinical word ("Mobile", "Hurricane", "Bend")
is left to the address rules (``Bend, OR``); multi-word places are specific enough alone.
"""

from __future__ import annotations

import functools
import importlib.resources
import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import Recognizer
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers.allow_list import _eponym

_WORD = re.compile(r"(?:St|Mt|Ft|Ste)\.|[^\W\d_]+(?:['’-][^\W\d_]+)*")
#: A one-word place that is also in the English list ("Mobile", "Bend", "Memphis") is a
#: place only after "in", "from", "to", "near"..., or after a comma and before the end of
#: the clause ("Regional One Health, Memphis.").
_PLACE_CUE = re.compile(
    r"(?i)(?:\b(?:in|from|to|near|at|of|outside|visiting|moved|lives|born)[ \t]+|,[ \t]*)$"
)
_CLAUSE_END = re.compile(r"[ \t]*(?:$|[\n.;)|]|,[ \t]*(?:[A-Z]{2}\b|\d{5}))")
_VARIANTS = (("Saint ", ("St. ", "St ")), ("Mount ", ("Mt. ", "Mt ")), ("Fort ", ("Ft. ", "Ft ")))


@functools.cache
def places() -> dict[str, tuple[tuple[str, ...], ...]]:
    """First word -> the word tuples of every place starting with it (longest first)."""
    path = importlib.resources.files("medmine.privacy.phi_text") / "data" / "us_places.csv"
    rows = [r.strip() for r in path.read_text(encoding="utf-8").splitlines()]
    names = {r for r in [r for r in rows if r and not r.startswith("#")][1:]}
    for name in list(names):
        for full, shorts in _VARIANTS:
            if name.startswith(full):
                names |= {short + name[len(full) :] for short in shorts}
    clinical = _vocab.clinical()
    out: dict[str, list[tuple[str, ...]]] = {}
    for name in names:
        words = tuple(name.split())
        if len(words) == 1 and name.lower() in clinical:
            continue
        if not words[0][:1].isupper():
            continue
        out.setdefault(words[0], []).append(words)
    return {k: tuple(sorted(v, key=len, reverse=True)) for k, v in out.items()}


@RECOGNIZERS.register("place_name")
class PlaceNameRecognizer(Recognizer):
    """Title-case US place names (recall mode only)."""

    entities = (Entity.CITY,)
    recall_only = True

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:  # noqa: D102
        table = places()
        english, clinical = _vocab.english(), _vocab.safe_clinical(ctx.safe_words)
        words = list(_WORD.finditer(text))
        starts = [i for i, w in enumerate(map(re.Match.group, words)) if w in table]
        out: list[Span] = []
        i = 0
        for i0 in starts:
            if i0 < i:
                continue  # inside the place found before
            i = i0
            cands = table[words[i].group()]
            hit = next((len(c) for c in cands if _matches(text, words, i, c)), 0)
            if hit == 1:
                w = words[i]
                cue = _PLACE_CUE.search(text, max(0, w.start() - 12), w.start())
                low = w.group().lower()
                if _eponym(text, w.end(), clinical):
                    hit = 0  # "Allen test", "Baker cyst"
                elif low in _vocab.all_names() and not (cue and cue.group()[0] != ","):
                    hit = 0  # a person's name unless after "in", "from", "to"...
                elif low in english and (
                    cue is None
                    or (cue.group().startswith(",") and not _CLAUSE_END.match(text, w.end()))
                ):
                    hit = 0
            if hit > 1 and _clinical_after(text, words[i + hit - 1].end(), clinical):
                hit = 0  # "Los Angeles grade B", "San Francisco Syncope Rule"
            if hit:
                end = words[i + hit - 1].end()
                out.append(Span(words[i].start(), end, Entity.CITY, 0.5, self.name))
                i += hit
            else:
                i += 1
        return out


def _clinical_after(text: str, end: int, clinical: frozenset[str]) -> bool:
    """A clinical head word, or a capitalised clinical word, follows the place."""
    if _eponym(text, end, clinical):
        return True
    m = re.match(r"[ \t]+([A-Z][a-z]+)", text[end : end + 30])
    return m is not None and m.group(1).lower() in clinical


def _matches(text: str, words: list[re.Match[str]], i: int, cand: tuple[str, ...]) -> bool:
    """Words ``i...`` spell `cand`, separated by spaces on one line."""
    n = len(cand)
    if i + n > len(words):
        return False
    for k in range(n):
        if words[i + k].group() != cand[k]:
            return False
    got = words[i : i + n]
    return all(
        re.fullmatch(r"[ \t]+", text[a.end() : b.start()])
        for a, b in zip(got, got[1:], strict=False)
    )
