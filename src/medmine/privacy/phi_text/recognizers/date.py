"""Dates finer than a year: numeric (03/04/2021, 3/4/21, 2021-03-04), named months (March 4th,
4 Mar 2021, Mar 4, 2021, March 2021) and ISO timestamps.
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS

_MON = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_ORD = r"(?:st|nd|rd|th)?"
_WD = r"(?:(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\s+)?"
_D = r"(?:0?[1-9]|[12]\d|3[01])"
_M = r"(?:0?[1-9]|1[0-2])"
_Y = r"(?:19|20)\d{2}"


@RECOGNIZERS.register("date")
class DateRecognizer(PatternRecognizer):
    """Dates in numeric and named-month formats (year-only mentions are kept)."""

    entities = (Entity.DATE,)
    patterns = (
        Pattern(
            re.compile(
                rf"\b{_Y}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
                r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
            ),
            Entity.DATE,
            0.95,
        ),
        Pattern(
            re.compile(rf"(?<![\d/.-]){_Y}([/.])(?:0?[1-9]|1[0-2])\1{_D}(?![\d/])"),
            Entity.DATE,
            0.9,
        ),
        Pattern(
            re.compile(rf"(?<![\d/.-]){_M}([/.-]){_D}\1(?:{_Y}|\d{{2}})(?![\d/])"),
            Entity.DATE,
            0.9,
        ),
        Pattern(
            re.compile(rf"\b{_WD}{_MON}\.?\s+{_D}{_ORD}(?:,?\s+{_Y})?\b(?!\s*(?:mg|mL|%))"),
            Entity.DATE,
            0.85,
        ),
        Pattern(
            re.compile(rf"\b{_D}{_ORD}\s+(?:of\s+)?{_MON}\.?,?\s+{_Y}\b"),
            Entity.DATE,
            0.9,
        ),
        Pattern(re.compile(rf"\b{_D}{_ORD}\s+of\s+{_MON}\b"), Entity.DATE, 0.8),
        Pattern(re.compile(rf"\b{_D}-{_MON}-(?:{_Y}|\d{{2}})\b"), Entity.DATE, 0.9),
        Pattern(
            re.compile(
                rf"\b(?:January|February|March|April|June|July|August|September|"
                rf"October|November|December|{_MON}\.)\s*,?\s*{_Y}\b"
            ),
            Entity.DATE,
            0.8,
        ),
        Pattern(re.compile(rf"(?<![\d/]){_M}/{_D}(?![\d/])(?!\s*(?:mm|BP))"), Entity.DATE, 0.6),
        Pattern(re.compile(rf"(?<![\d/]){_M}/{_Y}(?![\d/])"), Entity.DATE, 0.7),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Reject bare m/d fractions that are blood pressures or ratios."""
        frag = text[start:end]
        if re.fullmatch(r"\d{1,2}/\d{1,2}", frag):
            before = text[max(0, start - 12) : start].lower()
            after = text[end : end + 8].lower()
            if any(k in before for k in ("bp", "pressure", "ratio", "score", "grade")):
                return False
            if re.match(r"\s*(?:mm|cm|kg|mg|/|\d)", after):
                return False
            return bool(re.search(r"(?:on|since|from|until|dated?|by|of|seen)\s*$", before))
        return True
