"""The scrubber: run the registered recognizers, merge their spans, apply operators per entity."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from medmine.privacy.phi_text import _dates
from medmine.privacy.phi_text import operators as _ops  # noqa: F401  (registers operators)
from medmine.privacy.phi_text import recognizers as _recs  # noqa: F401  (registers recognizers)
from medmine.privacy.phi_text._base import Operator, Recognizer
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import OPERATORS, RECOGNIZERS

SAFE_HARBOR_OPERATORS: dict[Entity, str] = {e: "tag" for e in Entity} | {
    Entity.DATE: "generalize_date"
}
EXPERT_OPERATORS: dict[Entity, str] = {e: "tag" for e in Entity} | {Entity.DATE: "shift_date"}


#: Detection modes: ``recall`` adds the allow-list rule (a word survives only if known to be
#: safe) to the pattern recognizers; ``precise`` runs the pattern recognizers alone.
DETECTIONS = ("recall", "precise")


@dataclass
class ScrubConfig:
    """Which recognizers run, the minimum score kept, and the operator per entity.

    `detection` is ``recall`` (the default, for Safe Harbor: recall-first, lower precision)
    or ``precise`` (pattern recognizers only). Recognizers marked ``recall_only`` run only
    in ``recall`` mode unless `recognizers` names them.
    """

    recognizers: Sequence[str] | None = None  # None: every registered recognizer
    threshold: float = 0.5
    operators: dict[Entity, str] = field(default_factory=lambda: dict(SAFE_HARBOR_OPERATORS))
    detection: str = "recall"

    @classmethod
    def for_mode(cls, mode: str, detection: str | None = None) -> ScrubConfig:
        """Defaults for ``safe_harbor`` (dates to year, recall-first detection) or
        ``expert`` (dates shifted, precise detection); `detection` overrides the latter.
        """
        if mode not in ("safe_harbor", "expert"):
            raise ValueError(f"mode must be 'safe_harbor' or 'expert'. Got {mode!r} instead.")
        ops = SAFE_HARBOR_OPERATORS if mode == "safe_harbor" else EXPERT_OPERATORS
        default = "recall" if mode == "safe_harbor" else "precise"
        return cls(operators=dict(ops), detection=detection or default)


@dataclass(frozen=True)
class ScrubResult:
    """The scrubbed text and the spans (in original offsets) that were replaced."""

    text: str
    spans: tuple[Span, ...]


def merge_spans(spans: Sequence[Span]) -> list[Span]:
    """Union overlapping spans; the merged span takes the type of its highest-scoring part."""
    out: list[Span] = []
    for s in sorted(spans, key=lambda x: (x.start, -x.end)):
        if out and s.start < out[-1].end:
            last = out[-1]
            best = last if (last.score, len(last)) >= (s.score, len(s)) else s
            out[-1] = Span(
                last.start, max(last.end, s.end), best.entity, best.score, best.recognizer
            )
        else:
            out.append(s)
    return out


#: Words that join the parts of a facility name: "Home at Riverdale", "Our Lady of the
#: Pines", "Sisters of St. Joseph".
_JOIN = re.compile(
    r"[ \t]+(?i:of|at|on|of[ \t]+the|at[ \t]+the|on[ \t]+the|de|del|de[ \t]+la)[ \t]+"
)


def bridge_facilities(text: str, spans: list[Span]) -> list[Span]:
    """Join two neighbouring spans over the joining words of a facility name when one of
    them is a facility ("Hebrew Home" + "at" + "Riverdale Pines").
    """
    out = [spans[0]]
    for s in spans[1:]:
        last = out[-1]
        if (Entity.FACILITY in (last.entity, s.entity)) and _JOIN.fullmatch(
            text, last.end, s.start
        ):
            best = last if last.entity is Entity.FACILITY else s
            out[-1] = Span(last.start, s.end, best.entity, best.score, best.recognizer)
        else:
            out.append(s)
    return out


_ONE_WORD = re.compile(r"[A-Z][a-z]+(?:['’]s)?")
_NEXT_WORD = re.compile(r"(?:['’]s)?[ \t-]+([a-z]+)\b")
_TITLE_BEFORE = re.compile(r"(?i:\b(?:dr|mr|mrs|ms|miss|pt|patient)\.?[ \t]+)$")
#: An anatomical noun and "of" before a name: "pouch of Douglas", "sphincter of Oddi".
_ANATOMY_OF = re.compile(
    r"\b(?i:pouch|circle|ligaments?|sphincter|canals?|loops?|islets?|ducts?|space|triangle|"
    r"foramen|organs?|bundle|ampulla|angle|crypts?|columns?|tubercle|ganglion|glands?|tract|"
    r"bodies|membrane|capsule|fascia|fossa|sinus|plexus|layer|nodes?|cells?|valves?|"
    r"spaces)[ \t]+of[ \t]+$"
)
_NAME_KINDS = frozenset({Entity.PATIENT, Entity.CLINICIAN, Entity.CITY, Entity.OTHER})


def drop_eponyms(text: str, spans: list[Span]) -> list[Span]:
    """Drop one-word name and place spans that are eponyms: before a clinical head word
    ("Blake drain", "Christmas disease"; not after a title) or after an anatomical noun
    and "of" ("pouch of Douglas").
    """
    from medmine.privacy.phi_text.recognizers.allow_list import _HEADS

    out = []
    for s in spans:
        if s.entity in _NAME_KINDS and _ONE_WORD.fullmatch(text, s.start, s.end):
            nxt = _NEXT_WORD.match(text, s.end)
            left = text[max(0, s.start - 30) : s.start]
            if (nxt is not None and nxt.group(1) in _HEADS and not _TITLE_BEFORE.search(left)) or (
                _ANATOMY_OF.search(left)
            ):
                continue
        out.append(s)
    return out


class Scrubber:
    """Detect PHI spans in text, then transform them.

    >>> from medmine.privacy.phi_text import NoteContext, Scrubber
    >>> s = Scrubber()
    >>> s.scrub("Seen by Dr. Jane Garcia on 03/04/2021, MRN 2251907.", NoteContext()).text
    'Seen by Dr. [NAME] on 2021, MRN [ID].'
    """

    def __init__(self, config: ScrubConfig | None = None) -> None:
        self.config = config or ScrubConfig()
        if self.config.detection not in DETECTIONS:
            raise ValueError(
                f"The 'detection' parameter of ScrubConfig must be one of {DETECTIONS}. "
                f"Got {self.config.detection!r} instead."
            )
        names = self.config.recognizers or [
            n
            for n in RECOGNIZERS.names()
            if self.config.detection == "recall"
            or not getattr(RECOGNIZERS.get(n), "recall_only", False)
        ]
        self.recognizers: list[Recognizer] = [RECOGNIZERS.get(n)() for n in names]
        self._ops: dict[Entity, Operator] = {}
        for ent, op_name in self.config.operators.items():
            op = OPERATORS.get(op_name)()
            op.validate()
            self._ops[Entity(ent)] = op

    def analyze(self, text: str, ctx: NoteContext | None = None) -> list[Span]:
        """Detected spans, merged, at or above the threshold (in recall mode, a facility
        joined to a neighbouring span by "of", "at", "of the"... takes the joining words).
        """
        ctx = ctx or NoteContext()
        found: list[Span] = []
        for r in self.recognizers:
            found += [s for s in r.analyze(text, ctx) if s.score >= self.config.threshold]
        merged = merge_spans(found)
        if self.config.detection == "recall":
            merged = drop_eponyms(text, merged)
            if len(merged) > 1:
                merged = bridge_facilities(text, merged)
        return merged

    def scrub(self, text: str, ctx: NoteContext | None = None) -> ScrubResult:
        """Replace every detected span with its operator's output.

        Numeric dates are read day first throughout a text that holds one that can only be
        day first (``13/06/2006``), so all its dates move by the same offset.
        """
        ctx = ctx or NoteContext()
        if ctx.day_first is None:
            hint = _dates.day_first_hint(text)
            if hint is not None:
                ctx = dataclasses.replace(ctx, day_first=hint)
        spans = self.analyze(text, ctx)
        parts, pos = [], 0
        for s in spans:
            parts.append(text[pos : s.start])
            op = self._ops.get(s.entity)
            parts.append(op.operate(text[s.start : s.end], s, ctx) if op else f"[{s.entity}]")
            pos = s.end
        parts.append(text[pos:])
        return ScrubResult("".join(parts), tuple(spans))
