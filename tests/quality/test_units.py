from __future__ import annotations

import pytest

from medmine.quality.units import accepted_units, canonical_unit, convert, normalize_measurements

from .conftest import planted_warehouse


@pytest.mark.parametrize(
    ("value", "unit", "loinc", "expected", "canon"),
    [
        (5.5, "mmol/L", "2345-7", 99.09, "mg/dL"),  # glucose needs its molar mass
        (100, "mg/dl", "2345-7", 100.0, "mg/dL"),  # case variant of the canonical unit
        (1.0, "g/L", "2345-7", 100.0, "mg/dL"),
        (88.4, "umol/L", "2160-0", 1.0, "mg/dL"),  # creatinine
        (5.0, "mmol/L", "2093-3", 193.3, "mg/dL"),  # cholesterol
        (140, "mEq/L", "2951-2", 140.0, "mmol/L"),  # monovalent ion
        (5.0, "mEq/L", "17861-6", 10.02, "mg/dL"),  # calcium, valence 2
        (98.6, "[degF]", "8310-5", 37.0, "Cel"),  # affine conversion
        (154, "[lb_av]", "29463-7", 69.85, "kg"),
        (70, "[in_i]", "8302-2", 177.8, "cm"),
        (7.5, "10*9/L", "6690-2", 7.5, "10*3/uL"),
    ],
)
def test_conversions_to_canonical_unit(value, unit, loinc, expected, canon):
    c = convert(value, unit, loinc)
    assert c.status in ("converted", "identity")
    assert c.unit == canon
    assert c.value == pytest.approx(expected, rel=2e-3)


@pytest.mark.parametrize(
    ("unit", "loinc", "status"),
    [
        ("mmol/mol", "4548-4", "ambiguous_scale"),  # HbA1c IFCC vs NGSP: never guessed
        ("kg", "2345-7", "incompatible_unit"),
        ("zzz", "2345-7", "unknown_unit"),
        (None, "2345-7", "no_unit"),
        ("mg/dL", "9999-9", "unknown_loinc"),
        ("mmol/L", "1742-6", "incompatible_unit"),
        ("mmol/L", "6690-2", "incompatible_unit"),
    ],
)
def test_unconvertible_values_are_null_with_a_reason(unit, loinc, status):
    c = convert(1.0, unit, loinc)
    assert c.value is None
    assert c.status == status
    assert c.reason


def test_accepted_units_list_convertible_alternatives():
    units = accepted_units()
    assert units["2345-7"][0] == "mg/dL" and "mmol/L" in units["2345-7"]
    assert "mmol/mol" not in units["4548-4"]
    assert canonical_unit("nope") is None


def test_normalize_measurements_writes_extension_table_and_keeps_source(tmp_path):
    wh = planted_warehouse(tmp_path / "u.duckdb")
    before = wh.con.execute("SELECT * FROM measurement ORDER BY measurement_id").fetchall()
    rep = normalize_measurements(wh)
    after = wh.con.execute("SELECT * FROM measurement ORDER BY measurement_id").fetchall()
    assert before == after  # source rows untouched
    got = {
        r[0]: r[1:]
        for r in wh.con.execute(
            "SELECT measurement_id, status, value_canonical, unit_canonical, source_value "
            "FROM mm_measurement_norm"
        ).fetchall()
    }
    assert rep.rows == 10  # row 10 repeats row 1 (the repeated-measurement check's answer)
    assert got[1][0] == "identity" and got[1][1] == 90
    assert got[3][0] == "converted" and got[3][1] == pytest.approx(99.09, rel=1e-3)
    assert got[3][3] == 5.5  # the original value is kept next to the converted one
    assert got[4][0] == "incompatible_unit" and got[4][1] is None  # furlong
    assert got[5][0] == "no_unit" and got[7][0] == "unknown_loinc"
    assert got[8][0] == "incompatible_unit" and got[9][0] == "converted"  # kg, mmol/L
    assert got[10][0] == "identity"
    assert rep.coverage_pct == pytest.approx(100 * 5 / 9)
    # a second run replaces the first
    assert normalize_measurements(wh).rows == 10
    assert wh.count("mm_measurement_norm") == 10
    wh.close()
