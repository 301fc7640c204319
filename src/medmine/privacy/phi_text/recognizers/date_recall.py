"""Recall mode: day mentions the precise date rules leave for want of a cue: a bare
month/day (``resume 3/8``, ``levels 7/26:``) unless it reads as a ratio, score, fraction,
dose or blood pressure; ``the 8th`` after on/since/by or a weekday (``monday the 9th``);
a weekday before a month/day (``Sun 8/2``).
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import DigitRun, Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS

_M = r"(?:0?[1-9]|1[0-2])"
_D = r"(?:0?[1-9]|[12]\d|3[01])"
_WD = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?"
_ORD = r"(?:[12]?\d|3[01])(?:st|nd|rd|th)"
_DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
_RANGE = r"[ \t]*(?:-|–|to|thru|through|and|&|,)[ \t]*"
#: English month names and abbreviations, title or upper case ("may" is a verb).
_MON = (
    "(?:"
    + "|".join(
        v
        for n in [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Sept",
            "Oct",
            "Nov",
            "Dec",
        ]
        for v in (n, n.upper())
    )
    + ")"
)
_MONTH_GATE = re.compile(
    r"Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
)
#: Words before a fraction that make it a ratio, score or measurement.
_NOT_DATE_BEFORE = re.compile(
    r"(?i)(?:(?<![\w])(?:bp|b/p|pressure|ratio|score|grade|strength|murmur|pain|reflex(?:es)?|motor|"
    r"sensation|power|gcs|apgars?|eye|vision|acuity|x|take|takes|took|tab|tabs|tablet|cup|of|"
    r"cycles?|gleason|fraction|dose|doses|"
    r"in|out|sets?)|[*×])[ \t:]*$"
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
        # day and month with no year, ranges of days: "4 March", "4th-6th Jan", "1-3 Jan"
        Pattern(
            re.compile(
                rf"(?<![\w/.-]){_DAY}(?:{_RANGE}{_DAY})*[ \t]+(?:of[ \t]+)?{_MON}(?![^\W\d_])"
            ),
            Entity.DATE,
            0.6,
            gate=_MONTH_GATE,
        ),
        # month then days with a range or list: "March 4-6", "Jan 1st-3rd", "May 9 and 10"
        Pattern(
            re.compile(
                rf"(?<![^\W\d_]){_MON}\.?[ \t]+{_DAY}(?:{_RANGE}{_DAY})+"
                r"(?![\d/:]|[ \t]*(?:mg|mL|%))"
            ),
            Entity.DATE,
            0.6,
            gate=_MONTH_GATE,
        ),
        # month and a two-digit year: "Feb '21", "Sept. ’19"
        Pattern(
            re.compile(rf"(?<![^\W\d_]){_MON}\.?,?[ \t]*['’]\d{{2}}(?!\d)"),
            Entity.DATE,
            0.6,
            gate=_MONTH_GATE,
        ),
        # packed dates after a date label: "DOS 030421", "DOB: 19500102", "collected 20210304"
        Pattern(
            re.compile(
                r"(?i:\b(?:dos|dob|d\.o\.b\.?|date(?:d| of \w+)?|born|admit(?:ted)?|discharged?|"
                r"collected|received|service|seen|visit|surgery|procedure)\b[ \t]*[:#-]?[ \t]*)"
                r"(?P<d>\d{6}|\d{8})(?![\w/-]|\.\d)"
            ),
            Entity.DATE,
            0.6,
            "d",
            gate=DigitRun(6),
        ),
        # eight-digit YYYYMMDD anywhere: "20210304" (checked to be a real date)
        Pattern(
            re.compile(
                r"(?<![\w/.-])(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                r"(?![\w/-]|\.\d)"
            ),
            Entity.DATE,
            0.55,
            gate=DigitRun(8),
        ),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """A bare m/d is a date unless it reads as a ratio or a measurement; a packed date
        must be a real date.
        """
        frag = text[start:end]
        if frag.isdigit():
            return _packed_date(frag)
        if m := re.search(r"(\d{1,2})/(\d{1,2})$", frag):
            a, b = int(m.group(1)), int(m.group(2))
            if (
                b in (2, 3, 4, 5, 6, 10)
                and a <= b
                and not _DAY_CUE.search(text[max(0, start - 16) : start] + frag[: m.start()])
                and not _TIME_AFTER.match(text, end)
            ):
                return False  # 5/5 strength, 2/4 reflexes, 1/2 tablet, 3/10 pain
            if _NOT_DATE_BEFORE.search(text[max(0, start - 14) : start]):
                return False
            if a < b <= 16 and _WHOLE_BEFORE.search(text[max(0, start - 8) : start]):
                return False  # a mixed number: 1 1/2 tabs

            return _NOT_DATE_AFTER.match(text, end) is None
        return True


#: A whole number before a fraction ("1 1/2"): not after a colon, a decimal point or a "#".
_WHOLE_BEFORE = re.compile(r"(?<![:\d.#])\d+[ \t]+$")
#: A weekday or a day word before a fraction-like m/d makes it a date ("Tuesday, 3/4").
_DAY_CUE = re.compile(
    rf"(?i)(?:\b{_WD}|\b(?:on|since|until|seen|admitted|discharged|due|dated?|visit|appt)"
    r"|\d{1,2}/\d{1,2}[ \t]*-)[ \t,]*$"
)
#: A clock time after an m/d makes it a date ("3/4 at 1400", "3/4 @ 09:30").
_TIME_AFTER = re.compile(r"[ \t]*(?:@|at)[ \t]*(?:[01]?\d|2[0-3]):?[0-5]\d\b", re.I)


def _packed_date(digits: str) -> bool:
    """``MMDDYY``, ``YYYYMMDD`` or ``MMDDYYYY`` that is a real date (years 1900-2099)."""
    import datetime as dt

    forms = (
        [(int(digits[4:]) + 2000, int(digits[:2]), int(digits[2:4]))]
        if len(digits) == 6
        else [
            (int(digits[:4]), int(digits[4:6]), int(digits[6:])),
            (int(digits[4:]), int(digits[:2]), int(digits[2:4])),
        ]
    )
    for y, mo, d in forms:
        if 1900 <= y <= 2099 or len(digits) == 6:
            try:
                dt.date(y, mo, d)
                return True
            except ValueError:
                continue
    return False
