from __future__ import annotations

import pytest

from medmine.quality.profile import compare_profiles, profile_warehouse
from medmine.report.profile_page import write_profile_page
from medmine.warehouse import Warehouse

TINY = """
INSERT INTO concept VALUES (201826, 'Type 2 diabetes mellitus', 'Condition', 'SNOMED',
  'Clinical Finding', 'S', '44054006', DATE '1970-01-01', DATE '2099-12-31', NULL);
INSERT INTO mm_source_concept VALUES ('ICD10CM', 'E11.9', 'Type 2 diabetes without complications',
  NULL);
INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id,
  ethnicity_concept_id, person_source_value) VALUES
 (1, 8507, 1950, 0, 0, 'a'), (2, 8532, 1960, 0, 0, NULL), (3, 8532, 1970, 0, 0, NULL),
 (4, 8507, 1980, 0, 0, 'b');
INSERT INTO condition_occurrence (condition_occurrence_id, person_id, condition_concept_id,
  condition_start_date, condition_type_concept_id, condition_source_value) VALUES
 (1, 1, 201826, DATE '2010-05-01', 32817, 'ICD10CM:E11.9'),
 (2, 1, 201826, DATE '2011-05-01', 32817, 'ICD10CM:E11.9'),
 (3, 1, 0, DATE '2011-06-01', 32817, 'ICD10CM:I10'),
 (4, 2, 201826, DATE '2011-07-01', 32817, 'ICD10CM:E11.9');
"""


@pytest.fixture
def tiny(tmp_path):
    w = Warehouse(tmp_path / "tiny.duckdb")
    w.con.execute(TINY)
    yield w
    w.close()


def test_profile_values_on_a_tiny_warehouse(tiny):
    prof = profile_warehouse(tiny)
    person = prof.tables["person"]
    assert person.rows == 4
    yob = person.columns["year_of_birth"]
    assert (yob.min, yob.max, yob.null_pct, yob.distinct) == (1950, 1980, 0.0, 4)
    psv = person.columns["person_source_value"]
    assert psv.null_pct == 50.0 and psv.distinct == 2
    assert psv.min is None and psv.max is None  # text values are never shown
    cond = prof.tables["condition_occurrence"]
    assert cond.by_year == {2010: 1, 2011: 3}
    assert cond.columns["condition_start_date"].min == 2010  # dates as years only
    assert cond.per_person["persons_with_rows"] == 2
    assert cond.per_person["max"] == 3 and cond.per_person["pct_persons_with_rows"] == 50.0
    assert cond.per_person_hist == [(1, 1), (3, 1)]
    assert cond.top_codes["condition_concept_id"][0] == ("201826", "Type 2 diabetes mellitus", 3)
    assert cond.top_codes["condition_source_value"][0] == (
        "ICD10CM:E11.9",
        "Type 2 diabetes without complications",
        3,
    )


def test_compare_shows_deltas(tiny, tmp_path):
    old = profile_warehouse(tiny)
    tiny.con.execute(
        "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
        "condition_concept_id, condition_start_date, condition_type_concept_id) VALUES "
        "(5, 3, 0, DATE '2012-01-01', 32817)"
    )
    new = profile_warehouse(tiny)
    d = compare_profiles(new, old)
    row = next(r for r in d.rows if r["table"] == "condition_occurrence")
    assert (row["old"], row["new"], row["delta"]) == (4, 5, 1)
    assert {"table": "condition_occurrence", "year": 2012, "old": 0, "new": 1} in d.years
    sv = next(c for c in d.columns if c["column"] == "condition_source_value")
    assert sv["null_pct_old"] == 0.0 and sv["null_pct_new"] == 20.0
    page = write_profile_page(tmp_path / "profile.html", new, d)
    text = page.read_text()
    assert "Comparison" in text and "condition_occurrence" in text
