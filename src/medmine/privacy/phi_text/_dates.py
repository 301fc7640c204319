"""Date formats found in notes: their regular expressions (used by the date recognizer), a
parser, and a renderer that writes a new date back in the same format.

Formats: ISO (``2006-06-13``, with a time), year first (``2006/06/13``), numeric day or month
first with slashes, dots or dashes (``13.06.2006``, ``06/13/2006``, ``13/06/06``), month and
year (``6/2006``), month names in English, Spanish, French and German, full or abbreviated,
day or month first (``13 June 2006``, ``June 13th, 2006``, ``13 de junio de 2006``,
``1er janvier 2020``, ``13. Juni 2006``, ``13-Jun-06``, ``13JUN2006``), month and year
(``März 2021``) and weekdays (``Monday, June 12, 2006``: the weekday is recomputed).

Numeric dates whose two first parts are both 12 or less are read month first with slashes
and dashes, day first with dots, unless the note says otherwise (`day_first_hint`: another
date in it that can only be day first, such as ``13/06/2006``).

>>> d, render, known = parse("13.06.2006")
>>> d, render(d.replace(day=2)), known
(datetime.date(2006, 6, 13), '02.06.2006', True)
>>> render_shift = parse("1er janvier 2020")[1]
>>> render_shift(__import__("datetime").date(2020, 2, 3))
'3 février 2020'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

Renderer = Callable[[dt.date], str]

_EN = "January February March April May June July August September October November December"
_ES = "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
_FR = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
_DE = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"


def _forms(*spaced: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(s.split()) for s in spaced)


#: Month names per language: several forms of twelve names each (full, abbreviated, variant
#: spellings). A date is rendered back in the form and language it was written in.
FORMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": _forms(
        _EN,
        "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec",
    ),
    "es": _forms(
        _ES,
        _ES.replace("septiembre", "setiembre"),
        "ene feb mar abr may jun jul ago sep oct nov dic",
        "ene feb mar abr may jun jul ago sept oct nov dic",
    ),
    "fr": _forms(
        _FR,
        "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
        "janv févr mars avr mai juin juil août sept oct nov déc",
        "janv fevr mars avr mai juin juil aout sept oct nov dec",
    ),
    "de": _forms(
        _DE,
        _DE.replace("Januar", "Jänner"),
        _DE.replace("März", "Maerz"),
        "Jan Feb Mär Apr Mai Jun Jul Aug Sep Okt Nov Dez",
        "Jan Feb Mär Apr Mai Jun Jul Aug Sept Okt Nov Dez",
    ),
}
_LANGS = ("en", "es", "fr", "de")

#: Lower-cased month token -> every (language, form, month) it can be, English first.
TOKENS: dict[str, list[tuple[str, int, int]]] = {}
for _lang in _LANGS:
    for _fi, _form in enumerate(FORMS[_lang]):
        for _mi, _name in enumerate(_form, start=1):
            TOKENS.setdefault(_name.lower(), []).append((_lang, _fi, _mi))

#: Forms holding full month names (the rest are abbreviations).
FULL_FORMS = {"en": (0,), "es": (0, 1), "fr": (0, 1), "de": (0, 1, 2)}
_FULL = {n.lower() for lg, idx in FULL_FORMS.items() for i in idx for n in FORMS[lg][i]}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _alt(names: set[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=lambda s: (-len(s), s)))


def _cased(names: set[str]) -> str:
    return _alt({v for n in names for v in (n.capitalize(), n.upper())})


#: Any month token (case-insensitive); full month names but "may"; English tokens in title
#: or upper case only (month-first dates: "may 2 tablets" is not a date).
MON = rf"(?i:{_alt(set(TOKENS))})(?![^\W\d_])"
MON_FULL = rf"(?i:{_alt(_FULL - {'may'})})(?![^\W\d_])"
MON_EN = rf"(?:{_cased({n.lower() for f in FORMS['en'] for n in f})})(?![^\W\d_])"
_L = r"(?<![^\W\d_])"  # no letter before
DAY = r"(?:3[01]|[12]\d|0?[1-9])"
SUF = r"(?:st|nd|rd|th|er|º|°)"
YEAR = r"(?:1[89]\d{2}|2\d{3})"
WEEKDAY = r"(?:(?i:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?i:day)?\.?,?\s+)"

#: Month-name formats: (regex with groups d, m, y, name). Order matters for parsing.
NAMED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rx))
    for name, rx in (
        # 13 June 2006, 4th of March 2021, 13 de junio de 2006, 13. Juni 2006, 13 jun. 2006
        (
            "dmy",
            rf"(?P<d>{DAY})(?P<suf>{SUF})?(?P<dot>\.)?[ \t]*(?:(?i:of|de)[ \t]+)?{_L}"
            rf"(?P<m>{MON})\.?,?[ \t]+(?:(?i:de|del)[ \t]+)?(?P<y>{YEAR})(?!\d)",
        ),
        # 13-Jun-2006, 13-jun-06, 13/Jun/2006
        ("d-m-y", rf"(?P<d>{DAY})([-/])(?P<m>{MON})\2(?P<y>{YEAR}|\d{{2}})(?!\d)"),
        # 13JUN2006
        ("dmy-packed", rf"(?P<d>{DAY})(?P<m>{MON})(?P<y>{YEAR})(?!\d)"),
        # Monday, June 12th, 2006 / Mar 4, 2021 / June 13 2006 / March 4th
        (
            "mdy",
            rf"(?P<wd>{WEEKDAY})?{_L}(?P<m>{MON_EN})\.?[ \t]+(?P<d>{DAY})(?P<suf>{SUF})?"
            rf"(?:,?[ \t]+(?P<y>{YEAR})(?!\d)|(?![\d:])(?![ \t]*(?:mg|mL|%)))",
        ),
        # 4th of March, 13 de junio (no year)
        ("dm", rf"(?P<d>{DAY})(?P<suf>{SUF})?[ \t]+(?i:of|de)[ \t]+{_L}(?P<m>{MON})"),
        # 13. Juni (no year)
        ("dm-dot", rf"(?P<d>{DAY})(?P<dot>\.)[ \t]*{_L}(?P<m>{MON_FULL})"),
        # March 2021, junio de 2006, Sept. 2020
        (
            "my",
            rf"{_L}(?P<m>{MON_FULL}|{MON}(?=\.))\.?,?[ \t]+(?:(?i:de)[ \t]+)?(?P<y>{YEAR})(?!\d)",
        ),
    )
)

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(.*)", re.S)
_YMD = re.compile(r"(\d{4})([/.])(\d{1,2})\2(\d{1,2})")
_NUM = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})")
_MY_NUM = re.compile(r"(\d{1,2})/(\d{4})")
_AMBIG = re.compile(r"(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})\2(?:\d{4}|\d{2})(?![\d/])")


def day_first_hint(text: str) -> bool | None:
    """True if the numeric dates of `text` can only be day first, False if only month
    first, None if there is no evidence or both.
    """
    day = month = False
    for m in _AMBIG.finditer(text):
        a, b = int(m.group(1)), int(m.group(3))
        day |= a > 12 >= b
        month |= b > 12 >= a
    return None if day == month else day


def _year2(y: str) -> int:
    n = int(y)
    return n if len(y) == 4 else (2000 + n if n <= 40 else 1900 + n)


def _pad(padded: bool, n: int) -> str:
    return f"{n:02d}" if padded else str(n)


def _padded(*parts: str) -> bool:
    """Zero-padded style: a part has a leading zero, or every part is two digits."""
    return any(p.startswith("0") for p in parts) or all(len(p) == 2 for p in parts)


def _case(like: str, word: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word.lower()


def _ordinal(suf: str | None, day: int) -> str:
    if not suf:
        return ""
    if suf.lower() in ("st", "nd", "rd", "th"):
        if 11 <= day % 100 <= 13:
            return "th"
        return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    if suf.lower() == "er":
        return "er" if day == 1 else ""
    return suf


def _month_entry(token: str, german: bool, abbreviated: bool) -> tuple[str, int, int]:
    """The language, form and month of a token: German after "13.", else the first language
    that has it; within it an abbreviated form in fixed-width dates (13-May-06), else full.
    """
    options = TOKENS[token.lower()]
    langs = [o[0] for o in options]
    lang = "de" if german and "de" in langs else langs[0]
    mine = [o for o in options if o[0] == lang]
    full = [o for o in mine if o[1] in FULL_FORMS[lang]]
    short = [o for o in mine if o[1] not in FULL_FORMS[lang]]
    return ((short or full) if abbreviated else (full or short))[0]


def _named(text: str) -> tuple[dt.date, Renderer, bool] | None:
    for name, rx in NAMED:
        m = rx.fullmatch(text)
        if m is None:
            continue
        g = m.groupdict()
        fixed = name in ("d-m-y", "dmy-packed")  # DD-MON-YYYY, DDMONYYYY: fixed width
        lang, form, month = _month_entry(g["m"], bool(g.get("dot")), fixed)
        y = g.get("y")
        year = _year2(y) if y else 2000
        day = int(g["d"]) if g.get("d") else 15
        date = dt.date(year, month, day)
        return date, _named_renderer(text, m, lang, form, y, fixed), y is not None
    return None


def _named_renderer(
    text: str, m: re.Match[str], lang: str, form: int, y: str | None, fixed: bool
) -> Renderer:
    g = m.groupdict()
    pad_day = bool(g.get("d")) and (g["d"].startswith("0") or fixed and len(g["d"]) == 2)

    def render(x: dt.date) -> str:
        repl: list[tuple[int, int, str]] = []
        if g.get("wd"):
            wd = g["wd"]
            word = re.match(r"[A-Za-z]+", wd).group()
            full = _WEEKDAYS[x.weekday()]
            new = full if len(word) > 4 else full[:3]
            repl.append((m.start("wd"), m.start("wd") + len(word), _case(word, new)))
        if g.get("d"):
            repl.append((m.start("d"), m.end("d"), _pad(pad_day, x.day)))
            if g.get("suf"):
                repl.append((m.start("suf"), m.end("suf"), _ordinal(g["suf"], x.day)))
            elif lang == "fr" and x.day == 1:
                repl.append((m.end("d"), m.end("d"), "er"))  # le 1er janvier
        repl.append((m.start("m"), m.end("m"), _case(g["m"], FORMS[lang][form][x.month - 1])))
        if y:
            yy = str(x.year) if len(y) == 4 else f"{x.year % 100:02d}"
            repl.append((m.start("y"), m.end("y"), yy))
        out, pos = [], 0
        for s, e, new in sorted(repl):
            out += [text[pos:s], new]
            pos = e
        return "".join(out) + text[pos:]

    return render


def parse(text: str, day_first: bool | None = None) -> tuple[dt.date, Renderer, bool] | None:
    """Return (date, renderer in the same format, year_known) or None if not a date.

    `day_first` says how to read numeric dates whose first two parts are both 12 or less
    (None: by separator, dots day first).
    """
    t = text.strip()
    try:
        if m := _ISO.fullmatch(t):
            y, mo, d, rest = m.groups()
            date = dt.date(int(y), int(mo), int(d))
            return date, (lambda x: f"{x:%Y-%m-%d}{rest}"), True
        if m := _YMD.fullmatch(t):
            y, sep, mo, d = m.groups()
            date = dt.date(int(y), int(mo), int(d))
            pad = _padded(mo, d)

            def r_ymd(x: dt.date) -> str:
                return f"{x.year}{sep}{_pad(pad, x.month)}{sep}{_pad(pad, x.day)}"

            return date, r_ymd, True
        if m := _NUM.fullmatch(t):
            return _numeric(m, day_first)
        if m := _MY_NUM.fullmatch(t):
            mo, y = m.groups()
            date = dt.date(int(y), int(mo), 15)
            return date, (lambda x: f"{_pad(mo.startswith('0'), x.month)}/{x.year}"), True
        return _named(t)
    except (ValueError, KeyError):
        return None


def _numeric(m: re.Match[str], day_first: bool | None) -> tuple[dt.date, Renderer, bool]:
    a, sep, b, y = m.groups()
    ia, ib = int(a), int(b)
    if ia > 12 >= ib:
        dfirst = True
    elif ib > 12 >= ia:
        dfirst = False
    else:
        dfirst = day_first if day_first is not None else sep == "."
    day, month = (ia, ib) if dfirst else (ib, ia)
    date = dt.date(_year2(y), month, day)
    two = len(y) == 2
    pad = _padded(a, b)

    def render(x: dt.date) -> str:
        first, second = (x.day, x.month) if dfirst else (x.month, x.day)
        yy = f"{x.year % 100:02d}" if two else str(x.year)
        return f"{_pad(pad, first)}{sep}{_pad(pad, second)}{sep}{yy}"

    return date, render, True


def year_of(text: str, day_first: bool | None = None) -> int | None:
    """The year of a parsed date with a known year, else None."""
    p = parse(text, day_first)
    return p[0].year if p and p[2] else None
