"""The NLP pipeline: sections -> sentences -> concept matches -> ConText modifiers, with the
section-aware defaults (Family History: a relative; past history sections: historical).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from medmine.nlp._text import tokens
from medmine.nlp.context import RULES_FINGERPRINT, apply_context
from medmine.nlp.sections import FAMILY_SECTIONS, HISTORICAL_SECTIONS, detect_sections
from medmine.nlp.sentences import split_sentences
from medmine.nlp.terminology import Term, Terminology, curated

#: Version of the rules and code; with the terminology's fingerprint it names a pipeline run.
CODE_VERSION = "1.0"
FAMILY_VALUES = frozenset({"mother", "father", "sibling", "relative"})


@dataclass(frozen=True)
class Mention:
    """One concept mention in a text, with its ConText modifiers."""

    start: int
    end: int
    text: str
    concept_id: int
    concept_name: str
    domain: str
    source: str | None
    negated: bool
    historical: bool
    family: bool
    experiencer: str
    hypothetical: bool
    uncertain: bool
    section: str | None

    @property
    def term_exists(self) -> bool:
        """OMOP ``term_exists``: false when negated, hypothetical or about someone else."""
        return not (self.negated or self.hypothetical or self.experiencer != "patient")

    def as_dict(self) -> dict[str, object]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


class Pipeline:
    """Extract concept mentions with modifiers from clinical text.

    Parameters
    ----------
    terminology
        What to match; the curated lexicon alone when omitted.

    >>> p = Pipeline()
    >>> [(m.concept_name, m.negated) for m in p.process("Denies fever but has a cough.")]
    [('fever', True), ('cough', False)]
    """

    def __init__(self, terminology: Terminology | None = None) -> None:
        self.terminology = terminology if terminology is not None else curated()

    @property
    def version(self) -> str:
        """``medmine.nlp <code version>+<rules hash>.<terminology hash>`` (``nlp_system``)."""
        return f"medmine.nlp {CODE_VERSION}+{RULES_FINGERPRINT}.{self.terminology.fingerprint}"

    def match(self, text: str, start: int, end: int) -> list[tuple[int, int, Term]]:
        """Longest-match concept spans in ``text[start:end]``."""
        toks = tokens(text, start, end)
        ents = self.terminology.entries
        out: list[tuple[int, int, Term]] = []
        i, n, maxlen = 0, len(toks), self.terminology.max_len
        while i < n:
            hit = None
            for k in range(min(maxlen, n - i), 0, -1):
                key = tuple(t[2] for t in toks[i : i + k])
                term = ents.get(key)
                if term is None and k == 1:
                    fk = self.terminology.fuzzy(key[0])
                    term = ents.get(fk) if fk else None
                if term is None:
                    continue
                a, b = toks[i][0], toks[i + k - 1][1]
                if term.caps_only and not text[a:b].isupper():
                    continue
                if k > 1 and "\n" in text[a:b]:
                    continue
                hit = (a, b, term, k)
                break
            if hit:
                out.append(hit[:3])
                i += hit[3]
            else:
                i += 1
        return out

    def process(self, text: str) -> list[Mention]:
        """Mentions of ``text`` in order of position."""
        out: list[Mention] = []
        for sec in detect_sections(text):
            for s0, s1 in split_sentences(text, sec.start, sec.end):
                found = self.match(text, s0, s1)
                if not found:
                    continue
                sent = text[s0:s1]
                mods = apply_context(sent, [(a - s0, b - s0, t.domain) for a, b, t in found])
                for (a, b, term), m in zip(found, mods, strict=True):
                    exp = m.experiencer
                    if sec.name in FAMILY_SECTIONS and exp == "patient":
                        exp = "relative"
                    hist = m.historical
                    if sec.name in HISTORICAL_SECTIONS and term.domain != "Drug":
                        hist = True
                    if exp != "patient":
                        hist = False
                    out.append(
                        Mention(
                            start=a,
                            end=b,
                            text=text[a:b],
                            concept_id=term.concept_id,
                            concept_name=term.name,
                            domain=term.domain,
                            source=term.source,
                            negated=m.negated or term.negative,
                            historical=hist,
                            family=exp in FAMILY_VALUES,
                            experiencer=exp,
                            hypothetical=m.hypothetical,
                            uncertain=m.uncertain,
                            section=sec.name,
                        )
                    )
        return out
