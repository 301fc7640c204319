"""Field-level validators shared by the readers: NPI, ICD and CPT/HCPCS shapes, dates, amounts.

Validators answer one question each and never echo the value they reject. The ``parse_*``
functions raise ``ValueError``; the ``*_field`` parsers, which every reader uses for its source
fields, raise `Rejected` with the reason code and a message naming the field, not the value.

>>> is_valid_npi("1234567893")
True
>>> is_icd10cm_shape("E11.9"), is_cpt_shape("99213"), is_hcpcs_shape("J1100")
(True, True, True)
>>> parse_date("2021-03-04")
datetime.date(2021, 3, 4)
>>> amount_field("1,234.50", "billed_amount")
1234.5
"""

from __future__ import annotations

import datetime as dt
import math
import re

from medmine.warehouse import Reason, Rejected

__all__ = [
    "DATE_FORMATS",
    "amount_field",
    "date_field",
    "datetime_field",
    "is_cpt_shape",
    "is_hcpcs_shape",
    "is_icd9cm_shape",
    "is_icd10cm_shape",
    "is_modifier_shape",
    "is_procedure_code_shape",
    "is_valid_npi",
    "luhn_check_digit",
    "normalize_code",
    "npi_check_digit",
    "parse_amount",
    "parse_date",
    "parse_datetime",
]

#: Date formats accepted by `parse_date`, tried in order.
DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y")

_NPI_PREFIX = "80840"  # ISO 7812 card-issuer prefix for US health identifiers
_ICD10CM = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
_ICD9CM = re.compile(r"^(?:\d{3}(?:\.?\d{1,2})?|V\d{2}(?:\.?\d{1,2})?|E\d{3}(?:\.?\d)?)$")
_CPT = re.compile(r"^\d{4}[0-9FTUM]$")
_HCPCS = re.compile(r"^[A-V]\d{4}$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")


def normalize_code(code: str | None) -> str:
    """Upper-case and strip a code; ``None`` becomes ``""``."""
    return (code or "").strip().upper()


def luhn_check_digit(digits: str) -> int:
    """Luhn check digit for a string of digits (the digit to append)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # doubled: rightmost payload digit sits next to the check digit
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10


def npi_check_digit(first_nine: str) -> int:
    """NPI check digit for the first nine digits (Luhn over ``80840`` + digits).

    >>> npi_check_digit("123456789")
    3
    """
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError("an NPI check digit needs exactly nine digits")
    return luhn_check_digit(_NPI_PREFIX + first_nine)


def is_valid_npi(npi: str | None) -> bool:
    """True for a 10-digit NPI starting with 1 or 2 whose Luhn check digit is right."""
    s = (npi or "").strip()
    if len(s) != 10 or not s.isascii() or not s.isdigit() or s[0] not in "12":
        return False
    return npi_check_digit(s[:9]) == int(s[9])


def is_icd10cm_shape(code: str | None) -> bool:
    """True when `code` has the shape of an ICD-10-CM code (``E11.9``, ``E119``, ``S72001A``).

    Shape only: a letter other than U, a digit, a letter or digit, then up to four more
    (optionally after a dot). Whether the code exists is a vocabulary question.
    """
    return bool(_ICD10CM.match(normalize_code(code)))


def is_icd9cm_shape(code: str | None) -> bool:
    """True when `code` has the shape of an ICD-9-CM diagnosis (``4019``, ``250.00``, ``V5869``)."""
    return bool(_ICD9CM.match(normalize_code(code)))


def is_cpt_shape(code: str | None) -> bool:
    """True for a CPT code shape: five digits, or four digits and F, T, U or M."""
    return bool(_CPT.match(normalize_code(code)))


def is_hcpcs_shape(code: str | None) -> bool:
    """True for a HCPCS Level II code shape: a letter A-V and four digits (``J1100``)."""
    return bool(_HCPCS.match(normalize_code(code)))


def is_procedure_code_shape(code: str | None) -> bool:
    """True for a CPT or HCPCS Level II code shape."""
    return is_cpt_shape(code) or is_hcpcs_shape(code)


def is_modifier_shape(code: str | None) -> bool:
    """True for a CPT/HCPCS modifier shape: two letters or digits (``25``, ``LT``)."""
    return bool(_MODIFIER.match(normalize_code(code)))


def parse_date(
    value: str | None, formats: tuple[str, ...] = DATE_FORMATS, *, min_year: int = 1850
) -> dt.date | None:
    """Parse a date; blank gives ``None``.

    Raises
    ------
    ValueError
        If the value matches none of `formats`, is impossible (2021-02-30) or lies before
        `min_year` or after the year 2200. The message never contains the value.
    """
    s = (value or "").strip()
    if not s:
        return None
    fast = None  # strptime is slow; the two common shapes are parsed directly
    if len(s) == 10 and s[4] == s[7] == "-" and "%Y-%m-%d" in formats:
        fast = (s[:4], s[5:7], s[8:])
    elif len(s) == 8 and "%Y%m%d" in formats:
        fast = (s[:4], s[4:6], s[6:])
    if fast and all(p.isascii() and p.isdigit() for p in fast):
        try:
            d = dt.date(*map(int, fast))
        except ValueError:
            raise ValueError("not a valid date") from None
        if not min_year <= d.year <= 2200:
            raise ValueError("date outside the plausible range")
        return d
    for fmt in formats:
        try:
            d = dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
        if not min_year <= d.year <= 2200:
            raise ValueError("date outside the plausible range")
        return d
    raise ValueError("not a valid date")


def parse_datetime(value: str | None) -> dt.datetime | None:
    """Parse an ISO 8601 date-time (``2019-02-17T10:34:00Z``) to naive UTC; blank is ``None``.

    A plain date gives midnight. Raises ``ValueError`` (without the value) otherwise.
    """
    s = (value or "").strip()
    if not s:
        return None
    try:
        d = dt.datetime.fromisoformat(s)
    except ValueError:
        raise ValueError("not a valid date-time") from None
    if d.tzinfo is not None:
        d = d.astimezone(dt.UTC).replace(tzinfo=None)
    if not 1850 <= d.year <= 2200:
        raise ValueError("date-time outside the plausible range")
    return d


def parse_amount(value: str | None, *, allow_negative: bool = False) -> float | None:
    """Parse a money or quantity amount (``"1,234.50"``, ``"$12"``); blank gives ``None``.

    Raises ``ValueError`` for non-numbers, NaN/infinity and (unless allowed) negatives.
    """
    s = (value or "").strip().replace(",", "").removeprefix("$")
    if not s:
        return None
    try:
        x = float(s)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(x):
        raise ValueError("not a finite number")
    if x < 0 and not allow_negative:
        raise ValueError("a negative amount")
    return x


def date_field(
    value: str | None,
    name: str,
    *,
    required: bool = False,
    formats: tuple[str, ...] = DATE_FORMATS,
) -> dt.date | None:
    """The date in source field `name` (see `parse_date`); blank gives ``None``.

    Raises
    ------
    Rejected
        ``invalid_date`` when the value is not a plausible date, ``missing_field`` when it is
        blank and `required`. The message names the field, never the value.
    """
    try:
        d = parse_date(value, formats)
    except ValueError as exc:
        raise Rejected(Reason.INVALID_DATE, f"{name} is {exc}") from None
    if d is None and required:
        raise Rejected(Reason.MISSING_FIELD, f"{name} is empty")
    return d


def datetime_field(value: str | None, name: str, *, required: bool = False) -> dt.datetime | None:
    """The ISO 8601 date-time in source field `name` (see `parse_datetime`); blank is ``None``.

    Raises
    ------
    Rejected
        ``invalid_date`` or, when blank and `required`, ``missing_field``.
    """
    try:
        t = parse_datetime(value)
    except ValueError as exc:
        raise Rejected(Reason.INVALID_DATE, f"{name} is {exc}") from None
    if t is None and required:
        raise Rejected(Reason.MISSING_FIELD, f"{name} is empty")
    return t


def amount_field(
    value: str | None, name: str, *, required: bool = False, allow_negative: bool = False
) -> float | None:
    """The amount in source field `name` (see `parse_amount`); blank gives ``None``.

    Raises
    ------
    Rejected
        ``invalid_value`` for a non-number (or a negative one, unless allowed), or
        ``missing_field`` when blank and `required`.
    """
    try:
        x = parse_amount(value, allow_negative=allow_negative)
    except ValueError as exc:
        raise Rejected(Reason.INVALID_VALUE, f"{name} is {exc}") from None
    if x is None and required:
        raise Rejected(Reason.MISSING_FIELD, f"{name} is empty")
    return x
