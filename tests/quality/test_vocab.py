from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.quality import vocab
from medmine.quality.vocab import (
    icd10cm_dotted,
    is_valid_loinc,
    is_valid_snomed,
    loinc_check_digit,
    ndc_hyphenated,
    ndc_to_11,
    normalize_icd10cm,
    sql_valid,
    verhoeff_check_digit,
    verhoeff_valid,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=17)
con = duckdb.connect()


def _sql(expr: str) -> bool:
    return con.execute(f"SELECT {expr}").fetchone()[0]


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@given(st.text(alphabet="0123456789", min_size=1, max_size=7))
def test_loinc_check_digit_round_trip(part):
    code = f"{part}-{loinc_check_digit(part)}"
    assert is_valid_loinc(code)
    wrong = f"{part}-{(loinc_check_digit(part) + 1) % 10}"
    assert not is_valid_loinc(wrong)


@pytest.mark.parametrize("code", ["2345-7", "718-7", "4548-4", "8480-6", "29463-7", "39156-5"])
def test_published_loinc_codes_are_valid(code):
    assert is_valid_loinc(code)


@given(digits)
def test_verhoeff_appended_digit_validates_and_catches_single_errors(s):
    full = s + str(verhoeff_check_digit(s))
    assert verhoeff_valid(full)
    i = len(full) // 2
    for d in "0123456789":
        if d != full[i]:
            assert not verhoeff_valid(full[:i] + d + full[i + 1 :])


@given(digits)
def test_verhoeff_catches_adjacent_transpositions(s):
    full = s + str(verhoeff_check_digit(s))
    for i in range(len(full) - 1):
        if full[i] != full[i + 1]:
            swapped = full[:i] + full[i + 1] + full[i] + full[i + 2 :]
            assert not verhoeff_valid(swapped)


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=18))
def test_verhoeff_sql_agrees_with_python(s):
    assert _sql(vocab.verhoeff_valid_sql(_lit(s))) == verhoeff_valid(s)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789-", min_size=1, max_size=10))
def test_loinc_sql_agrees_with_python(s):
    assert bool(_sql(sql_valid("LOINC", _lit(s)))) == is_valid_loinc(s)


@pytest.mark.parametrize(
    ("code", "ok"),
    [("44054006", True), ("73211009", True), ("900000000000207008", True),
     ("44054007", False), ("0123456", False), ("abc", False), ("", False),
     ("123456789012345678901", False)],
)  # fmt: skip
def test_snomed_shape_python_and_sql(code, ok):
    assert is_valid_snomed(code) is ok
    assert bool(_sql(sql_valid("SNOMED", _lit(code)))) is ok


icd = st.builds(
    lambda a, b, c, rest: a + b + c + rest,
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTVWXYZ"),
    st.sampled_from("0123456789"),
    st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", max_size=4),
)


@given(icd)
def test_icd10cm_dotted_undotted_round_trip(code):
    dotted = icd10cm_dotted(code)
    assert normalize_icd10cm(dotted) == code
    assert icd10cm_dotted(dotted) == dotted
    assert normalize_icd10cm(code.lower()) == code


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ABCEIUZ019.x ", max_size=9))
def test_icd10cm_sql_shape_agrees_with_ingest_validator(s):
    from medmine.ingest.validate import is_icd10cm_shape

    # the ingest validator strips and upper-cases first
    assert bool(_sql(sql_valid("ICD10CM", f"upper(trim({_lit(s)}))"))) == is_icd10cm_shape(s)


ndc11 = st.text(alphabet="0123456789", min_size=11, max_size=11)


@given(ndc11)
def test_ndc_11_round_trip_and_10_digit_forms(n):
    assert ndc_to_11(ndc_hyphenated(n)) == n
    assert ndc_to_11(n) == n
    # a 10-digit package code drops the leading zero of one segment
    if n[0] == "0":
        assert ndc_to_11(f"{n[1:5]}-{n[5:9]}-{n[9:]}") == n
    if n[5] == "0":
        assert ndc_to_11(f"{n[:5]}-{n[6:9]}-{n[9:]}") == n
    if n[9] == "0":
        assert ndc_to_11(f"{n[:5]}-{n[5:9]}-{n[10]}") == n


@pytest.mark.parametrize("bad", ["garbage", "", "E11..9", "U07.1", "1E119", "E11.12345", None])
def test_garbage_icd_codes_are_rejected(bad):
    assert normalize_icd10cm(bad) is None


@pytest.mark.parametrize("bad", ["1234567890", "123-456-78", "abcde-fghi-jk", "", None])
def test_garbage_or_ambiguous_ndc_gives_none(bad):
    assert ndc_to_11(bad) is None


def test_npi_sql_agrees_with_ingest_validator():
    from medmine.ingest.validate import is_valid_npi

    for npi in ("1234567893", "1234567890", "2234567891", "12345", "abcdefghij"):
        assert bool(_sql(sql_valid("NPI", _lit(npi)))) == is_valid_npi(npi)


def test_unknown_vocabulary_is_an_error():
    with pytest.raises(ValueError, match="no code-shape rule"):
        sql_valid("MadeUp", "'x'")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789AFJMTUVWZ ", max_size=6))
def test_cpt_and_hcpcs_sql_shapes_agree_with_ingest_validators(s):
    from medmine.ingest.validate import is_cpt_shape, is_hcpcs_shape

    norm = f"upper(trim({_lit(s)}))"
    assert bool(_sql(sql_valid("CPT4", norm))) == is_cpt_shape(s)
    assert bool(_sql(sql_valid("HCPCS", norm))) == is_hcpcs_shape(s)


@pytest.mark.parametrize(
    ("vocabulary", "code", "athena"),
    [
        ("ICD10CM", "E119", "E11.9"),
        ("ICD10CM", " e11.9 ", "E11.9"),
        ("ICD10CM", "K92", "K92"),
        ("ICD10CM", "U07.1", "U07.1"),  # outside the shape rule: kept, upper-cased
        ("NDC", "0025-1525-31", "00025152531"),
        ("NDC", "00781178901", "00781178901"),
        ("NDC", "12345", "12345"),
        ("SNOMED", " 44054006", "44054006"),
        ("LOINC", "2345-7", "2345-7"),
    ],
)
def test_concept_code_is_athenas_form_in_python_and_sql(vocabulary, code, athena):
    assert vocab.concept_code(vocabulary, code) == athena
    assert _sql(vocab.concept_code_sql(_lit(vocabulary), _lit(code))) == athena


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(["ICD10CM", "icd10cm", "NDC", "LOINC"]),
    st.text(alphabet="ABEKUZak0123456789.- ", max_size=14),
)
def test_concept_code_sql_agrees_with_python(vocabulary, code):
    assert _sql(vocab.concept_code_sql(_lit(vocabulary), _lit(code))) == vocab.concept_code(
        vocabulary, code
    )


@settings(max_examples=60, deadline=None)
@given(ndc11)
def test_concept_code_sql_turns_every_hyphenated_ndc_into_11_digits(n):
    forms = [ndc_hyphenated(n), f"{n[1:5]}-{n[5:9]}-{n[9:]}", f"{n[:5]}-{n[6:9]}-{n[9:]}"]
    forms.append(f"{n[:5]}-{n[5:9]}-{n[10]}")
    for form in forms:
        assert _sql(vocab.concept_code_sql("'NDC'", _lit(form))) == vocab.concept_code("NDC", form)
