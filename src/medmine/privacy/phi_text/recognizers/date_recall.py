"""Recall mode: day mentions the precise date rules leave for want of a cue: a bare
month/day (``resume 3/8``, ``levels 7/26:``) unless it reads as a ratio, score, fraction,
dose or blood pressure; ``the 8th`` after on/since/by or a weekday (``monday the 9th``);
a weekday before a month/day (``Sun 8/2``).
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS

_M = r"(?:0?[1-9]|1[0-2])"
_D = r"(?:0?[1-9]|[12]\d|3[01])"
_WD = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?"
_ORD = r"(?:[12]?\d|3[01])(?:st|nd|rd|th)"
#: Words before a fraction that make it a ratio, score or measurement.
_NOT_DATE_BEFORE = re.compile(
    r"(?i)(?:(?<![\w])(?:bp|b/p|pressure|ratio|score|grade|strength|murmur|pain|reflex(?:es)?|motor|"
    r"sensation|power|gcs|apgar|eye|vision|acuity|x|take|takes|took|tab|tabs|tablet|cup|of|"
    r"in|out|sets?|positive|negative)|(?<![:\d])\d+[ \t]+|[*×])[ \t:]*$"
)
_NOT_DATE_AFTER = re.compile(
    r"(?i)[ \t]*(?:(?:mm|cm|kg|mg|mcg|ml|tab|tabs|tablet|cap|caps|dose|units?|strength|"
    r"sets?|bottles?|of|in|x|hpf|lpf|rr|bp)\b|/|%)"
)


@RECOGNIZERS.register("date_recall")
class RecallDateRecognizer(PatternRecognizer):
    """Month/day and ordinal-day mentions without a year (recall mode only)."""

    entities = (Entity.DATE,)
    recall_only = True
    patterns = (
        Pattern(
            re.compile(rf"(?<![\w/.:-])(?:(?i:{_WD})[ \t]+)?{_M}/{_D}(?![\w/]|\.\d)"),
            Entity.DATE,
            0.55,
            gate=re.compile(r"/\d"),
        ),
        Pattern(
            re.compile(
                rf"(?i)(?:\b{_WD}[ \t]+(?:the[ \t]+)?|\b(?:on|since|by|until|before|after)"
                rf"[ \t]+the[ \t]+)(?-i:{_ORD})\b"
            ),
            Entity.DATE,
            0.6,
            gate=re.compile(r"\d(?:st|nd|rd|th)\b"),
        ),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """A bare m/d is a date unless it reads as a ratio or a measurement."""
        frag = text[start:end]
        if m := re.search(r"(\d{1,2})/(\d{1,2})$", frag):
            a, b = int(m.group(1)), int(m.group(2))
            if b in (2, 3, 4, 5, 6, 10) and a <= b:
                return False  # 5/5 strength, 2/4 reflexes, 1/2 tablet, 3/10 pain
            if _NOT_DATE_BEFORE.search(text[max(0, start - 14) : start]):
                return False
            return _NOT_DATE_AFTER.match(text, end) is None
        return True
