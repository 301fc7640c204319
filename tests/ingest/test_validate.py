from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medmine.ingest.validate import (
    amount_field,
    date_field,
    datetime_field,
    is_cpt_shape,
    is_hcpcs_shape,
    is_icd9cm_shape,
    is_icd10cm_shape,
    is_modifier_shape,
    is_valid_npi,
    npi_check_digit,
    parse_amount,
    parse_date,
    parse_datetime,
)
from medmine.warehouse import Reason, Rejected

nine_digits = st.from_regex(r"\A[12][0-9]{8}\Z", fullmatch=True)


@given(nine_digits)
def test_luhn_valid_npis_are_accepted(first9):
    assert is_valid_npi(first9 + str(npi_check_digit(first9)))


@given(nine_digits, st.integers(0, 9), st.integers(1, 9))
def test_one_digit_mutation_of_an_npi_is_rejected(first9, pos, delta):
    npi = first9 + str(npi_check_digit(first9))
    mutated = npi[:pos] + str((int(npi[pos]) + delta) % 10) + npi[pos + 1 :]
    assert not is_valid_npi(mutated)


@given(st.text(max_size=12))
def test_npi_validator_never_crashes(s):
    assert is_valid_npi(s) in (True, False)


@pytest.mark.parametrize(
    ("npi", "ok"),
    [
        ("1234567893", True),  # CMS's published example
        ("1234567890", False),
        ("123456789", False),
        ("12345678931", False),
        ("3234567893", False),  # NPIs start with 1 or 2
        ("12345678a3", False),
        ("", False),
        (None, False),
        ("１２３４５６７８９３", False),  # full-width digits are not ASCII digits
    ],
)
def test_npi_cases(npi, ok):
    assert is_valid_npi(npi) is ok


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("E11.9", True),
        ("E119", True),
        ("S72.001A", True),
        ("Z79.4", True),
        ("I10", True),
        ("R07.89", True),
        ("U07.1", False),  # U codes are reserved, not ICD-10-CM shapes here
        ("E1", False),
        ("11.9", False),
        ("E11.", False),
        ("E11.12345", False),
        ("4019", False),
        ("", False),
    ],
)
def test_icd10cm_shape(code, ok):
    assert is_icd10cm_shape(code) is ok


@pytest.mark.parametrize(
    ("code", "ok"),
    [("4019", True), ("250.00", True), ("V5861", True), ("E8889", True), ("486", True),
     ("XYZ12", False), ("40", False), ("E11.9", False)],
)  # fmt: skip
def test_icd9cm_shape(code, ok):
    assert is_icd9cm_shape(code) is ok


@pytest.mark.parametrize(
    ("code", "cpt", "hcpcs"),
    [
        ("99213", True, False),
        ("0001F", True, False),
        ("0042T", True, False),
        ("J1100", False, True),
        ("G0439", False, True),
        ("W1234", False, False),
        ("9921", False, False),
        ("992130", False, False),
        ("ABCDE", False, False),
    ],
)
def test_cpt_and_hcpcs_shapes(code, cpt, hcpcs):
    assert is_cpt_shape(code) is cpt
    assert is_hcpcs_shape(code) is hcpcs


@given(st.text(max_size=10))
def test_code_shape_validators_never_crash(s):
    for f in (is_icd10cm_shape, is_icd9cm_shape, is_cpt_shape, is_hcpcs_shape, is_modifier_shape):
        assert f(s) in (True, False)


@given(st.dates(min_value=dt.date(1850, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_parse_date_round_trips_every_supported_format(d):
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"):
        assert parse_date(d.strftime(fmt)) == d


@given(st.text(max_size=12))
def test_parse_date_returns_date_none_or_raises_value_error(s):
    try:
        out = parse_date(s)
    except ValueError as exc:
        assert str(exc) in ("not a valid date", "date outside the plausible range")
    else:
        assert out is None or isinstance(out, dt.date)


@pytest.mark.parametrize("bad", ["2021-02-30", "20211301", "1700-01-01", "yesterday", "2021-1"])
def test_parse_date_rejects_without_echoing(bad):
    with pytest.raises(ValueError) as err:
        parse_date(bad)
    assert bad not in str(err.value)


def test_parse_datetime_normalises_to_naive_utc():
    assert parse_datetime("2019-02-17T10:34:00Z") == dt.datetime(2019, 2, 17, 10, 34)
    assert parse_datetime("2019-02-17T10:34:00+02:00") == dt.datetime(2019, 2, 17, 8, 34)
    assert parse_datetime("") is None
    with pytest.raises(ValueError):
        parse_datetime("17/02/2019")


@pytest.mark.parametrize(
    ("raw", "value"), [("12.50", 12.5), ("1,234.00", 1234.0), ("$7", 7.0), ("", None), ("0", 0.0)]
)
def test_parse_amount(raw, value):
    assert parse_amount(raw) == value


@pytest.mark.parametrize("bad", ["-1", "abc", "nan", "inf"])
def test_parse_amount_rejects(bad):
    with pytest.raises(ValueError):
        parse_amount(bad)
    assert parse_amount("-1", allow_negative=True) == -1.0


@pytest.mark.parametrize(
    ("parse", "value", "reason", "detail"),
    [
        (date_field, "2021-02-30", Reason.INVALID_DATE, "service_date is not a valid date"),
        (date_field, "", Reason.MISSING_FIELD, "service_date is empty"),
        (datetime_field, "17/02/2019 10:00", Reason.INVALID_DATE, "service_date is not a valid"),
        (datetime_field, " ", Reason.MISSING_FIELD, "service_date is empty"),
        (amount_field, "12 dollars", Reason.INVALID_VALUE, "service_date is not a number"),
        (amount_field, "-3", Reason.INVALID_VALUE, "service_date is a negative amount"),
        (amount_field, "", Reason.MISSING_FIELD, "service_date is empty"),
    ],
)
def test_field_parsers_reject_with_a_reason_naming_the_field_not_the_value(
    parse, value, reason, detail
):
    with pytest.raises(Rejected) as err:
        parse(value, "service_date", required=True)
    assert err.value.reason is reason and err.value.detail.startswith(detail)
    if value.strip():
        assert value not in err.value.detail


def test_field_parsers_pass_values_and_blanks():
    assert date_field("20210304", "d") == dt.date(2021, 3, 4)
    assert date_field("03/04/2021", "d", formats=("%m/%d/%Y",)) == dt.date(2021, 3, 4)
    assert date_field(None, "d") is None
    assert datetime_field("2019-02-17T10:34:00Z", "t") == dt.datetime(2019, 2, 17, 10, 34)
    assert datetime_field("", "t") is None
    assert amount_field("$1,200.50", "a") == 1200.5
    assert amount_field("-2", "a", allow_negative=True) == -2.0
