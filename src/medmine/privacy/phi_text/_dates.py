"""Parse the date formats the date recognizer finds, and render a date back in the same format."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
_MONTH_NAMES = [
    "",
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
]

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(.*)$", re.S)
_NUM = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})$")
_MDY = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?$")
_DMY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([A-Za-z]+)\.?,?\s+(\d{4})?$")
_MY = re.compile(r"^([A-Za-z]+)\.?,?\s+(\d{4})$")

Renderer = Callable[[dt.date], str]


def _year2(y: str) -> int:
    n = int(y)
    return n if len(y) == 4 else (2000 + n if n <= 40 else 1900 + n)


def parse(text: str) -> tuple[dt.date, Renderer, bool] | None:
    """Return (date, renderer in the same format, year_known) or None if not a full date."""
    t = text.strip()
    try:
        if m := _ISO.match(t):
            y, mo, d, rest = m.groups()
            date = dt.date(int(y), int(mo), int(d))
            return date, (lambda x: f"{x:%Y-%m-%d}{rest}"), True
        if m := _NUM.match(t):
            a, sep, b, y = m.groups()
            date = dt.date(_year2(y), int(a), int(b))
            two = len(y) == 2
            return (
                date,
                lambda x: f"{x.month}{sep}{x.day}{sep}{x.year % 100 if two else x.year:02d}",
                True,
            )
        if m := _MDY.match(t):
            mon, d, y = m.groups()
            mo = MONTHS[mon.lower()]
            full = len(mon) > 3
            known = y is not None
            date = dt.date(int(y) if y else 2000, mo, int(d))

            def r_mdy(x: dt.date) -> str:
                name = _MONTH_NAMES[x.month] if full else _MONTH_NAMES[x.month][:3]
                return f"{name} {x.day}, {x.year}" if known else f"{name} {x.day}"

            return date, r_mdy, known
        if m := _DMY.match(t):
            d, mon, y = m.groups()
            mo = MONTHS[mon.lower()]
            date = dt.date(int(y), mo, int(d))
            full = len(mon) > 3
            return (
                date,
                lambda x: (
                    f"{x.day} {_MONTH_NAMES[x.month] if full else _MONTH_NAMES[x.month][:3]}"
                    f" {x.year}"
                ),
                True,
            )
        if m := _MY.match(t):
            mon, y = m.groups()
            date = dt.date(int(y), MONTHS[mon.lower()], 15)
            return date, (lambda x: f"{_MONTH_NAMES[x.month]} {x.year}"), True
    except (ValueError, KeyError):
        return None
    return None


def year_of(text: str) -> int | None:
    """The year of a parsed date with a known year, else None."""
    p = parse(text)
    return p[0].year if p and p[2] else None
