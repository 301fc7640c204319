"""Dates finer than a year, in the formats of `medmine.privacy.phi_text._dates`: numeric
(03/04/2021, 3/4/21, 13.06.2006, 2021-03-04, 2021/03/04), ISO timestamps, and month names in
English, Spanish, French and German (March 4th, 4 Mar 2021, 13 de junio de 2006, 13. Juni
2006, 1er janvier 2020, 13JUN2006, March 2021). Year-only mentions are kept.
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._dates import NAMED, TOKENS
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS

_D = r"(?:0?[1-9]|[12]\d|3[01])"
_M = r"(?:0?[1-9]|1[0-2])"
_Y = r"(?:19|20)\d{2}"
_HOLIDAY = (
    r"(?:Thanksgiving|Christmas(?:\s+(?:Eve|Day))?|Xmas|Easter(?:\s+Sunday)?|Halloween|"
    r"New\s+Year'?s(?:\s+(?:Eve|Day))?|Memorial\s+Day|Labor\s+Day|Independence\s+Day|"
    r"Fourth\s+of\s+July|July\s+4th|Valentine'?s\s+Day|Mother'?s\s+Day|Father'?s\s+Day|"
    r"Veterans\s+Day|Presidents'?\s+Day|Martin\s+Luther\s+King\s+Day|MLK\s+Day|Juneteenth|"
    r"Hanukkah|Passover|Yom\s+Kippur|Rosh\s+Hashanah|Ramadan|Eid(?:\s+al-\w+)?|Diwali|"
    r"Kwanzaa|Good\s+Friday|Ash\s+Wednesday|St\.?\s+Patrick'?s\s+Day|Mardi\s+Gras|"
    r"(?:Lunar|Chinese)\s+New\s+Year|Cinco\s+de\s+Mayo|D[ií]a\s+de\s+(?:los\s+)?Muertos|"
    r"Day\s+of\s+the\s+Dead|Purim|Sukkot|Shavuot|Boxing\s+Day|Canada\s+Day|Bastille\s+Day|"
    r"Super\s+Bowl(?:\s+Sunday)?|Black\s+Friday|Election\s+Day|Columbus\s+Day|"
    r"Indigenous\s+Peoples'?\s+Day|Groundhog\s+Day|Palm\s+Sunday|Pentecost|Epiphany)"
)
#: The first word of every holiday, lower case: a word gate (one set lookup on the note's
#: words instead of a regular-expression scan of the whole text).
_HOLIDAY_WORDS = frozenset(
    w.lower() for w in re.findall(r"(?:^|(?<=[(|:]))([^\W\d_]+)", _HOLIDAY[3:-1])
) | frozenset({"dia", "día"})  # "D[ií]a" is no plain word
_MONS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec"]
_MON3 = "(?:" + "|".join(_MONS + [m.upper() for m in _MONS]) + ")"
#: Words after which a bare m/d is a date ("BM 8/15", "LMP 3/2", "seen 7/9").
_MD_CUE = re.compile(
    r"(?:\b(?:on|since|from|until|dated?|by|of|seen|last|next|thru|through|to|till|before|"
    r"after|starting|started|due|admit(?:ted)?|d/?c(?:'?d)?|discharged?|f/u|fu|call(?:ed)?|"
    r"visit|appt|week of)|\b[A-Z]{2,4}|[(\[,;-])\s*$",
    re.I,
)
_RATIO_CONTEXT = (
    "bp",
    "pressure",
    "ratio",
    "score",
    "grade",
    "strength",
    "murmur",
    "pain",
    "reflex",
)
#: Texts without one of these words hold no month-name date or holiday.
_MONTH_WORDS = frozenset(TOKENS) | frozenset(m.lower() for m in _MONS)
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
            gate=re.compile(r"-[01]\d-[0-3]\d"),
        ),
        Pattern(
            re.compile(rf"(?<![\d/.-]){_Y}([/.])(?:0?[1-9]|1[0-2])\1{_D}(?![\d/])"),
            Entity.DATE,
            0.9,
            gate=re.compile(r"\d[/.]\d{1,2}[/.]\d"),
        ),
        # day or month first: 03/04/2021, 13.06.2006, 31-12-20 (accept() checks the date)
        Pattern(
            re.compile(rf"(?:(?<![\d/.-])|(?<=\d\d-)){_D}([/.-]){_D}\1(?:{_Y}|\d{{2}})(?![\d/])"),
            Entity.DATE,
            0.9,
            gate=(
                re.compile(r"[/.]\d{1,2}[/.]\d\d"),
                # dashes: not the month and day of an ISO date (1971-01-01)
                re.compile(
                    r"-(?:(?<=[^\d/.-]\d-)|(?<=[^\d/.-]\d\d-)|(?<=\A\d-)|(?<=\A\d\d-))"
                    r"\d{1,2}-\d\d|-\d{1,2}-\d{1,2}-\d\d"
                ),
            ),
        ),
        *(
            Pattern(
                re.compile(rf"(?<!\w){rx.pattern}"),
                Entity.DATE,
                _NAMED_SCORE[name],
                gate=_MONTH_WORDS,
            )
            for name, rx in NAMED
        ),
        Pattern(
            re.compile(rf"(?<![\d/]){_M}/{_D}(?![\d/])(?!\s*(?:mm|BP))"),
            Entity.DATE,
            0.6,
            gate=re.compile(r"/\d"),
        ),
        Pattern(
            re.compile(rf"(?<![\d/]){_M}/{_Y}(?![\d/])"),
            Entity.DATE,
            0.7,
            gate=re.compile(r"/(?:19|20)\d\d"),
        ),
        # year and month: 2023-06 (not a year range: the month is 01-12 and no day follows)
        Pattern(
            re.compile(rf"(?<![\d/.-]){_Y}-(?:0[1-9]|1[0-2])(?![\d/-]|\.\d)"),
            Entity.DATE,
            0.7,
            gate=re.compile(r"-(?<=\d\d\d\d-)[01]\d(?![\d/-]|\.\d)"),
        ),
        # holidays, with a year or alone (a holiday names a day)
        Pattern(
            re.compile(rf"\b{_HOLIDAY}(?:,?\s+(?:of\s+)?(?:'\d{{2}}|{_Y}))?(?!\w)"),
            Entity.DATE,
            0.8,
            gate=_HOLIDAY_WORDS,
        ),
        # Jan 2021, SEPT 2020, May 2021 (month abbreviation or May with a 4-digit year)
        Pattern(re.compile(rf"\b{_MON3}\.?,?\s+{_Y}(?!\d)"), Entity.DATE, 0.8, gate=_MONTH_WORDS),
        # 13JUN06 (packed, two-digit year)
        Pattern(
            re.compile(rf"(?<![\w]){_D}{_MON3}\d{{2}}(?![\w])"),
            Entity.DATE,
            0.85,
            gate=_MONTH_WORDS,
        ),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Reject bare m/d fractions that are blood pressures or ratios, and numeric triples
        that are no date in either order.
        """
        frag = text[start:end]
        if re.match(r"[ \t]+(?:disease|factor|tree|cactus|rose)\b", text[end : end + 12]):
            return False  # "Christmas disease" (factor IX deficiency), not a holiday
        if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-]\d+", frag):
            return min(int(m.group(1)), int(m.group(2))) <= 12
        if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})", frag):
            a, b = int(m.group(1)), int(m.group(2))
            before = text[max(0, start - 12) : start]
            after = text[end : end + 8].lower()
            if re.match(r"-\d{1,2}/\d{1,2}(?![\d/])", text[end : end + 7]) or re.search(
                r"(?<![\d/])\d{1,2}/\d{1,2}-$", before
            ):
                return True  # a range of days: 7/9-7/15
            if any(k in before.lower() for k in _RATIO_CONTEXT):
                return False
            if re.match(r"\s*(?:mm|cm|kg|mg|mcg|ml|tab|cap|dose|units?|/|\d)", after):
                return False
            if b in (2, 3, 4, 5, 6, 10) and a <= b:
                return False  # 5/5 strength, 2/4 reflexes, 1/2 tablet
            return bool(_MD_CUE.search(before))
        return True
