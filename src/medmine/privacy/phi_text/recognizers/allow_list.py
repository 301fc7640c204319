"""The recall-first rule (in the spirit of Philter): a word survives only if it is known to
be safe. Runs in the ``recall`` detection mode only.

For each word of the note (letters; words with digits are left to the id rules):

- a clinical word (shipped clinical terms, drug names, units, abbreviations, plus the
  warehouse's concept names when a context carries them) is safe;
- a census name that is not also an ordinary word ("Garcia", "Maria") is PHI when it is
  capitalised, or anywhere in a note written in lower case (portal messages);
- a name that is also an ordinary word ("Hope", "Will", "Brown") is PHI when capitalised
  inside a sentence, or next to another name;
- another capitalised word is PHI unless it is English (wordfreq, Zipf >= 3) or a short
  upper-case abbreviation (up to 5 letters, "COPD");
- a lower-case word that is neither English nor clinical is PHI only in a lower-case note.

Eponyms keep their name when a clinical head word follows ("Wilson disease", "Bell's
palsy", "Smith fracture") or when joined by a hyphen to a clinical word ("Stevens-Johnson").
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import Recognizer
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers.census_name import (
    _CUE_AFTER,
    _CUE_BEFORE,
    _EPONYM_HEADS,
    _words,
)

_WORD = re.compile(r"(?<![^\W_])[^\W\d_]+(?:['’][^\W\d_]+)*(?![^\W_])")
_HEADS = _EPONYM_HEADS | _words(
    """palsy catheter score scale criteria fracture cyst blade drain tube stain smear test
    sign triad pentad nodes lesions spots murmur maneuver position point reflex syndrome
    disease class level thickness monitor incision technique suction reservoir dressing
    respiration breathing principle angina cardiomyopathy contracture lymphoma sarcoma
    anemia foot protein cells rods tear esophagus phenomenon thyroiditis encephalopathy
    disorder's disease's"""
)
_SENTENCE_END = frozenset(".!?:;\n•*-–—#>|\t")
_NAME_GAP = re.compile(r"[ \t]*(?:,[ \t]*|[ \t]+[A-Z]\.[ \t]*|[ \t]+)?")


def _lowercase_note(text: str, words: list[re.Match[str]]) -> bool:
    """A note written without capitals (portal messages): under 3% of words capitalised."""
    if len(words) < 5:
        return False
    caps = sum(1 for m in words if m.group()[0].isupper())
    return caps / len(words) < 0.03


@RECOGNIZERS.register("allow_list")
class AllowListRecognizer(Recognizer):
    """Words not known to be safe (recall mode only)."""

    entities = (Entity.PATIENT, Entity.OTHER)
    recall_only = True

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:  # noqa: D102
        english = _vocab.english()
        clinical = _vocab.clinical() | ctx.safe_words
        only, ambiguous = _vocab.name_words()
        words = list(_WORD.finditer(text))
        lower_note = _lowercase_note(text, words)
        flags: list[Entity | None] = [None] * len(words)
        amb_caps: list[bool] = [False] * len(words)
        for i, m in enumerate(words):
            w = m.group()
            if len(w) < 2:
                continue
            low = w.lower()
            if low.endswith(("'s", "’s")):
                low = low[:-2]
            if low in clinical:
                continue
            cap = w[0].isupper()
            upper = w.isupper()
            if low in only or low in ambiguous:
                if _eponym(text, m.end(), clinical):
                    continue
                if low in only:
                    if cap or lower_note:
                        flags[i] = Entity.PATIENT
                    continue
                if cap and not upper:
                    amb_caps[i] = True
                    if not _sentence_start(text, m.start()) or _cued(text, words, i):
                        flags[i] = Entity.PATIENT
                continue
            if low in english:
                continue
            if len(w) <= 6 and (upper or any(c.isupper() for c in w[1:])):
                continue  # abbreviation: COPD, DTaP, EtOH
            if cap or lower_note:
                flags[i] = Entity.OTHER
        # a name next to a name: "Hope Garcia", "Garcia, Hope"
        for i in range(len(words)):
            if amb_caps[i] and flags[i] is None:
                for j in (i - 1, i + 1):
                    if 0 <= j < len(words) and flags[j] is Entity.PATIENT:
                        a, b = sorted((i, j))
                        if _NAME_GAP.fullmatch(text, words[a].end(), words[b].start()):
                            flags[i] = Entity.PATIENT
        return [
            Span(m.start(), m.end(), e, 0.5, self.name)
            for m, e in zip(words, flags, strict=True)
            if e is not None
        ]


def _cued(text: str, words: list[re.Match[str]], i: int) -> bool:
    """A person cue next to word `i` ("Hope called", "wife Rose")."""
    nxt = words[i + 1].group().lower() if i + 1 < len(words) else ""
    prev = words[i - 1].group().lower() if i > 0 else ""
    return nxt in _CUE_AFTER or prev in _CUE_BEFORE


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\"'(":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END or text[i].isdigit()


def _eponym(text: str, end: int, clinical: frozenset[str]) -> bool:
    """A clinical head word (or a hyphenated clinical word) follows the name at `end`."""
    rest = text[end : end + 40]
    m = re.match(r"(?:['’]s?)?(?:-[^\W\d_]+)*[ \t-]+([^\W\d_]+)", rest)
    if not m:
        return False
    nxt = m.group(1).lower()
    if rest.startswith("-") and (nxt in clinical or nxt in _vocab.name_words()[0]):
        return True
    return nxt in _HEADS
