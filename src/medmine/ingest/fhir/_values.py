"""Small value parsers shared by the FHIR mappers: dates, codings, quantities, skips.

A value that cannot be mapped raises `medmine.warehouse.Rejected` (the resource is quarantined).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from medmine.ingest.codes import fhir_vocabulary, source_value
from medmine.warehouse import Reason, Rejected

_UTC = dt.UTC
#: The vocabulary of a required concept given only as text: the text is its source value.
TEXT_ONLY = ""


class Skip(Exception):  # noqa: N818
    """Raised by a mapper when the resource is skipped by design (e.g. a report with no text)."""

    def __init__(self, reason: Reason, message: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def parse_datetime(value: Any, field: str) -> tuple[dt.date, dt.datetime | None]:
    """Parse a FHIR date, dateTime or instant into (date, naive UTC datetime or None).

    Partial dates (``2019``, ``2019-03``) are valid FHIR and give the first day of the period
    with no datetime. Anything else that does not parse raises `Rejected` (invalid_date).
    """
    if not isinstance(value, str):
        raise Rejected(Reason.INVALID_DATE, f"{field} is not a date string")
    n = len(value)
    try:
        if n == 10:
            d = dt.date.fromisoformat(value)
            return d, None
        if n > 10:
            if value.endswith("+00:00"):  # the common case: already UTC
                t = dt.datetime.fromisoformat(value[:-6])
                return t.date(), t
            t = dt.datetime.fromisoformat(value)
            if t.tzinfo is not None:
                t = t.astimezone(_UTC).replace(tzinfo=None)
            return t.date(), t
        if n == 4 and value.isdigit():
            return dt.date(int(value), 1, 1), None
        if n == 7 and value[4] == "-":
            return dt.date(int(value[:4]), int(value[5:]), 1), None
    except (ValueError, OverflowError):
        pass
    raise Rejected(Reason.INVALID_DATE, f"{field} is not a valid FHIR date")


def opt_datetime(value: Any, field: str) -> tuple[dt.date | None, dt.datetime | None]:
    """Like `parse_datetime` but ``None`` passes through as (None, None)."""
    if value is None:
        return None, None
    return parse_datetime(value, field)


def first_date(r: dict[str, Any], rtype: str, *fields: str) -> tuple[dt.date, dt.datetime | None]:
    """The first present date among `fields` (``"effectivePeriod.start"`` paths allowed).

    Raises `Rejected` (missing_field) when none is present.
    """
    for f in fields:
        if "." in f:
            head, tail = f.split(".", 1)
            parent = r.get(head)
            v = parent.get(tail) if isinstance(parent, dict) else None
        else:
            v = r.get(f)
        if v is not None:
            return parse_datetime(v, f"{rtype}.{f}")
    raise Rejected(Reason.MISSING_FIELD, f"{rtype} has none of {', '.join(fields)}")


def coding(cc: Any) -> dict[str, Any] | None:
    """The first coding with a code in a CodeableConcept (or a bare Coding), else None."""
    if not isinstance(cc, dict):
        return None
    codings = cc.get("coding")
    if codings is None:
        return cc if "code" in cc and "system" in cc else None
    for c in codings:
        if isinstance(c, dict) and c.get("code") is not None:
            return c
    return None


def code_of(cc: Any) -> tuple[str, str, str | None] | None:
    """``(vocabulary_id, code, display)`` of a CodeableConcept's first coding, else None."""
    c = coding(cc)
    if c is None:
        return None
    code = c["code"]
    if not isinstance(code, str):
        if not isinstance(code, int | float):  # an object or a list where R4 has a code
            raise Rejected(Reason.INVALID_VALUE, "a coding's code is not a string")
        code = str(code)
    display = c.get("display")
    if display is None and isinstance(cc, dict):
        display = cc.get("text")
    if display is not None and not isinstance(display, str):
        raise Rejected(Reason.INVALID_VALUE, "a coding's display (or text) is not a string")
    system = c.get("system")
    if system is not None and not isinstance(system, str):
        raise Rejected(Reason.INVALID_VALUE, "a coding's system is not a string")
    return fhir_vocabulary(system), code, display


def text_of(cc: Any) -> str | None:
    """The display text of a CodeableConcept (text, else first coding display)."""
    if not isinstance(cc, dict):
        return None
    if cc.get("text"):
        return cc["text"]
    c = coding(cc)
    return c.get("display") if c else None


def number(value: Any, field: str) -> float | None:
    """A JSON number as float; None passes; anything else raises `Rejected` (invalid_value)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected(Reason.INVALID_VALUE, f"{field} is not a number")
    return float(value)


def money(m: Any, field: str) -> float | None:
    """The value of a FHIR Money (or Quantity), None when absent."""
    if not isinstance(m, dict):
        return None
    return number(m.get("value"), field)


__all__ = [
    "TEXT_ONLY",
    "Skip",
    "code_of",
    "coding",
    "first_date",
    "money",
    "number",
    "opt_datetime",
    "parse_datetime",
    "source_value",
    "text_of",
]
