"""Dates finer than a year, in the formats of `medmine.privacy.phi_text._dates`: numeric
(03/04/2021, 3/4/21, 13.06.2006, 2021-03-04, 2021/03/04), ISO timestamps, and month names in
English, Spanish, French and German (March 4th, 4 Mar 2021, 13 de junio de 2006, 13. Juni
2006, 1er janvier 2020, 13JUN2006, March 2021). Year-only mentions are kept.
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._dates import NAMED
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS

_D = r"(?:0?[1-9]|[12]\d|3[01])"
_M = r"(?:0?[1-9]|1[0-2])"
_Y = r"(?:19|20)\d{2}"
#: Scores of the month-name formats (`_dates.NAMED`).
_NAMED_SCORE = {"dmy": 0.9, "d-m-y": 0.9, "dmy-packed": 0.9, "mdy": 0.85, "dm": 0.8}
_NAMED_SCORE |= {"dm-dot": 0.8, "my": 0.8}


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
        # day or month first: 03/04/2021, 13.06.2006, 31-12-20 (accept() checks the date)
        Pattern(
            re.compile(rf"(?<![\d/.-]){_D}([/.-]){_D}\1(?:{_Y}|\d{{2}})(?![\d/])"),
            Entity.DATE,
            0.9,
        ),
        *(
            Pattern(re.compile(rf"(?<!\w){rx.pattern}"), Entity.DATE, _NAMED_SCORE[name])
            for name, rx in NAMED
        ),
        Pattern(re.compile(rf"(?<![\d/]){_M}/{_D}(?![\d/])(?!\s*(?:mm|BP))"), Entity.DATE, 0.6),
        Pattern(re.compile(rf"(?<![\d/]){_M}/{_Y}(?![\d/])"), Entity.DATE, 0.7),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Reject bare m/d fractions that are blood pressures or ratios, and numeric triples
        that are no date in either order.
        """
        frag = text[start:end]
        if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-]\d+", frag):
            return min(int(m.group(1)), int(m.group(2))) <= 12
        if re.fullmatch(r"\d{1,2}/\d{1,2}", frag):
            before = text[max(0, start - 12) : start].lower()
            after = text[end : end + 8].lower()
            if any(k in before for k in ("bp", "pressure", "ratio", "score", "grade")):
                return False
            if re.match(r"\s*(?:mm|cm|kg|mg|/|\d)", after):
                return False
            return bool(re.search(r"(?:on|since|from|until|dated?|by|of|seen)\s*$", before))
        return True
