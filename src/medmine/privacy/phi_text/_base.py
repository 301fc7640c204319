"""Base classes for recognizers (text -> spans) and operators (span text -> replacement)."""

from __future__ import annotations

import abc
import functools
import re
from collections.abc import Callable, Iterator
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


#: Every needle of every `Needles` gate; one Aho-Corasick automaton finds them all in one
#: pass over a text (rebuilt when a new gate adds needles).
_ALL_NEEDLES: set[str] = set()
_AUTOMATON: list = [None, 0]  # [automaton, number of needles it holds]


@dataclass(frozen=True)
class Needles:
    """A gate: the lower-cased text must contain one of `words` as a substring. All the
    needles of all gates are searched at once (`needles_in`), so a pattern led by keywords
    costs one dictionary pass instead of a regular-expression scan of the whole text.
    """

    words: frozenset[str]

    def __post_init__(self) -> None:
        _ALL_NEEDLES.update(self.words)


def _automaton():
    # pyahocorasick: a C Aho-Corasick automaton (hand-rolled Python matching would cost
    # more than the regular expressions it gates).
    import ahocorasick

    if _AUTOMATON[0] is None or _AUTOMATON[1] != len(_ALL_NEEDLES):
        a = ahocorasick.Automaton()
        for w in _ALL_NEEDLES:
            a.add_word(w, w)
        a.make_automaton()
        _AUTOMATON[:] = [a, len(_ALL_NEEDLES)]
    return _AUTOMATON[0]


@functools.lru_cache(maxsize=4)
def lower(text: str) -> str:
    """`text` lower-cased (cached for the few texts being scrubbed)."""
    return text.lower()


@functools.lru_cache(maxsize=4)
def needles_in(text: str) -> frozenset[str]:
    """The registered needles present in the lower-cased `text` (cached per text)."""
    return frozenset(w for _, w in _automaton().iter(lower(text)))


#: Every anchor of every anchored `Pattern`; one Aho-Corasick automaton finds where each
#: starts in one pass over a text (`anchor_starts`), shared by all anchored patterns.
_ALL_ANCHORS: set[str] = set()
_ANCHOR_AUTOMATON: list = [None, 0]  # [automaton, number of anchors it holds]


def _all_anchor_automaton():
    import ahocorasick

    if _ANCHOR_AUTOMATON[0] is None or _ANCHOR_AUTOMATON[1] != len(_ALL_ANCHORS):
        a = ahocorasick.Automaton()
        for w in _ALL_ANCHORS:
            a.add_word(w, (w, len(w) - 1))
        a.make_automaton()
        _ANCHOR_AUTOMATON[:] = [a, len(_ALL_ANCHORS)]
    return _ANCHOR_AUTOMATON[0]


@functools.lru_cache(maxsize=4)
def anchor_starts(text: str) -> dict[str, list[int]]:
    """Registered anchor -> the offsets where it starts in the lower-cased `text` (one
    Aho-Corasick pass for all anchored patterns; cached per text).
    """
    out: dict[str, list[int]] = {}
    for end, (w, back) in _all_anchor_automaton().iter(lower(text)):
        out.setdefault(w, []).append(end - back)
    return out


def anchored_finditer(
    regex: re.Pattern[str], anchors: frozenset[str], text: str
) -> Iterator[re.Match[str]]:
    """The matches of ``regex.finditer(text)`` when every match starts with one of the
    lower-case `anchors`: the regular expression is tried only where an anchor starts
    (found in one Aho-Corasick pass shared by every anchored pattern), not at every
    position of the text.
    """
    low = lower(text)
    if len(low) != len(text):  # lower-casing changed offsets ("İ"): scan as usual
        yield from regex.finditer(text)
        return
    if not anchors <= _ALL_ANCHORS:
        _ALL_ANCHORS.update(anchors)
        anchor_starts.cache_clear()
    found = anchor_starts(text)
    present = found.keys() & anchors  # a set intersection in C, not a loop over anchors
    if not present:
        return
    if len(present) == 1:
        starts = found[next(iter(present))]
    else:
        starts = sorted({i for a in present for i in found[a]})
    pos = 0
    for start in starts:
        if start < pos:
            continue
        m = regex.match(text, start)
        if m is not None:
            yield m
            pos = max(m.end(), start + 1)


@dataclass(frozen=True)
class DigitRun:
    """A gate: the text must hold a run of at least `length` (5 or more) digits."""

    length: int


_LONG_DIGIT_RUN = re.compile(r"\d{5,}")


@functools.lru_cache(maxsize=4)
def longest_digit_run(text: str) -> int:
    """Length of the longest run of 5 or more digits in `text` (0 if none; cached)."""
    return max(map(len, _LONG_DIGIT_RUN.findall(text)), default=0)


#: A gate (see `Pattern`).
Gate = frozenset[str] | Needles | DigitRun | re.Pattern[str]


@dataclass(frozen=True)
class Pattern:
    """A regular expression for one entity; `group` selects the PHI part of the match.

    `gate` makes a costly pattern run only on texts that can match it: a set of lower-case
    words of which the text must hold one, `Needles` (substrings of the lower-cased text),
    a cheap regular expression it must match (written with a literal or a character class
    first, so that the search skips ahead in C), or a tuple of these (any one suffices).
    A gate must be a necessary condition, and anchors must start every match:
    ``tests/privacy/phi_text/test_gates.py`` checks both on generated matches.
    """

    regex: re.Pattern[str]
    entity: Entity
    score: float
    group: int | str = 0
    gate: Gate | tuple[Gate, ...] | None = None
    #: Lower-case strings one of which every match starts with ("mrn", "medical"...): the
    #: pattern is then tried only where one starts (`anchored_finditer`).
    anchors: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.anchors:
            _ALL_ANCHORS.update(self.anchors)
        # the gate as plain callables, worked out once (`may_match` runs ~100 times a note)
        gates = () if self.gate is None else self.gate
        gates = gates if isinstance(gates, tuple) else (gates,)
        object.__setattr__(self, "_checks", tuple(_check(g) for g in gates))

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """The matches in `text` (none when the gate says it cannot match)."""
        if not self.may_match(text):
            return iter(())
        if self.anchors is None:
            return self.regex.finditer(text)
        return anchored_finditer(self.regex, self.anchors, text)

    def may_match(self, text: str) -> bool:
        """False when the gate proves the pattern cannot match `text`."""
        checks = self._checks  # type: ignore[attr-defined]
        if not checks:
            return True
        for check in checks:  # noqa: SIM110 (a plain loop: no generator per call)
            if check(text):
                return True
        return False


def _check(gate: Gate) -> Callable[[str], object]:
    """A callable that is truthy when `text` passes `gate`."""
    if isinstance(gate, re.Pattern):
        return lambda text: _regex_gate(gate, text)
    if isinstance(gate, Needles):
        words = gate.words
        return lambda text: not words.isdisjoint(needles_in(text))
    if isinstance(gate, DigitRun):
        length = gate.length
        return lambda text: longest_digit_run(text) >= length
    return lambda text: not gate.isdisjoint(note_words(text))


@functools.lru_cache(maxsize=1024)
def _regex_gate(gate: re.Pattern[str], text: str) -> bool:
    """Whether `gate` matches somewhere in `text`, once per (gate, text): patterns that share
    a gate (``re.compile`` returns the same object for the same expression) search once.
    """
    return gate.search(text) is not None


def _passes(gate: Gate, text: str) -> bool:
    return bool(_check(gate)(text))


class PatternRecognizer(Recognizer):
    """A recognizer made of regular expressions (Philter-style rules)."""

    patterns: tuple[Pattern, ...] = ()

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:
        """Return one span per match of each pattern."""
        out = []
        name = self.name
        accept = None if type(self).accept is PatternRecognizer.accept else self.accept
        for p in self.patterns:
            if not p.may_match(text):
                continue
            if p.anchors is None:
                matches = p.regex.finditer(text)
            else:
                matches = anchored_finditer(p.regex, p.anchors, text)
            group = p.group
            for m in matches:
                s, e = m.span(group)
                if s < e and (accept is None or accept(text, s, e, p.entity)):
                    out.append(Span(s, e, p.entity, p.score, name))
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
