"""Base classes for recognizers (text -> spans) and operators (span text -> replacement)."""

from __future__ import annotations

import abc
import functools
import re
from dataclasses import dataclass

from medmine.privacy.phi_text._model import Entity, NoteContext, Span


class Recognizer(abc.ABC):
    """Finds spans of some entity types in a text. Subclasses set `entities`."""

    name: str = ""
    entities: tuple[Entity, ...] = ()

    @abc.abstractmethod
    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:
        """Return the spans found in `text`."""


_LETTERS = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=4)
def note_words(text: str) -> frozenset[str]:
    """The lower-case letter runs of `text` (cached for the few texts being scrubbed)."""
    return frozenset(_LETTERS.findall(text.lower()))


@dataclass(frozen=True)
class Pattern:
    """A regular expression for one entity; `group` selects the PHI part of the match.

    `gate` makes a costly pattern run only on texts that can match it: a set of lower-case
    words of which the text must hold one, or a cheap regular expression it must match.
    """

    regex: re.Pattern[str]
    entity: Entity
    score: float
    group: int | str = 0
    gate: frozenset[str] | re.Pattern[str] | None = None

    def may_match(self, text: str) -> bool:
        """False when the gate proves the pattern cannot match `text`."""
        if self.gate is None:
            return True
        if isinstance(self.gate, re.Pattern):
            return self.gate.search(text) is not None
        return not self.gate.isdisjoint(note_words(text))


class PatternRecognizer(Recognizer):
    """A recognizer made of regular expressions (Philter-style rules)."""

    patterns: tuple[Pattern, ...] = ()

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:
        """Return one span per match of each pattern."""
        out = []
        for p in self.patterns:
            if not p.may_match(text):
                continue
            for m in p.regex.finditer(text):
                s, e = m.span(p.group)
                if s < e and self.accept(text, s, e, p.entity):
                    out.append(Span(s, e, p.entity, p.score, self.name))
        return out

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Hook to veto a match from its surroundings."""
        return True


def literal_regex(values: set[str], *, ignore_case: bool) -> re.Pattern[str] | None:
    """A word-bounded alternation of `values` (longest first), or None if empty."""
    vals = sorted({v.strip() for v in values if v and len(v.strip()) >= 2}, key=len, reverse=True)
    if not vals:
        return None
    body = "|".join(re.escape(v).replace(r"\ ", r"\s+") for v in vals)
    return re.compile(rf"(?<![\w]){{0}}(?:{body})(?![\w])".format(""), re.I if ignore_case else 0)


class Operator(abc.ABC):
    """Replaces the text of a span. Subclasses say whether they are reversible."""

    name: str = ""
    reversible: bool = False

    def validate(self) -> None:  # noqa: B027  (optional hook: most operators have no parameters)
        """Check parameters before running (raise ValueError)."""

    @abc.abstractmethod
    def operate(self, text: str, span: Span, ctx: NoteContext) -> str:
        """Replacement for ``text`` (the span's text)."""
