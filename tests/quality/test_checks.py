from __future__ import annotations

import sys
from collections import Counter

import pytest
import sqlglot

from medmine.quality import checks
from medmine.quality._registry import CHECK_TYPES
from medmine.quality.checks import CheckResult, Status, instantiate, load_run, run_checks

from .planted_errors import KINDS

# check id -> ids of the planted violating rows (tests/quality/conftest.py).
KNOWN_ANSWERS = {
    "cdm_table:note_nlp": ["note_nlp"],
    "cdm_field:location": ["county"],
    "is_primary_key:specimen.specimen_id": ["2"],
    "is_required:specimen.specimen_concept_id": ["1"],
    "is_foreign_key:observation_period.person_id": ["7"],
    "is_foreign_key:visit_occurrence.person_id": ["6"],
    "concept_in_vocabulary:condition_occurrence.condition_concept_id": ["12"],
    "standard_valid_concept:condition_occurrence.condition_concept_id": ["13"],
    "concept_domain:condition_occurrence.condition_concept_id": ["14"],
    "datetime_matches_date:visit_occurrence.visit_start_datetime": ["1"],
    "format_conformance:location.zip": ["1"],
    "format_conformance:measurement.measurement_time": ["2"],
    "plausible_birth_date:person": ["4"],
    "code_shape_icd10cm:condition_occurrence.condition_source_value": ["4"],
    "code_shape_icd10cm:mm_claim.dx_1": ["2"],
    "code_shape_snomed:condition_occurrence.condition_source_value": ["5"],
    "code_shape_loinc:measurement.measurement_source_value": ["7"],
    "code_shape_ndc:drug_exposure.drug_source_value": ["2"],
    "code_shape_rxnorm:drug_exposure.drug_source_value": ["3"],
    "code_shape_cpt4:procedure_occurrence.procedure_source_value": ["2"],
    "code_shape_hcpcs:procedure_occurrence.procedure_source_value": ["3"],
    "npi_check_digit:provider.npi": ["2"],
    "standard_concept_completeness:condition_occurrence.condition_concept_id": ["10", "11"],
    "source_value_completeness:condition_occurrence.condition_source_value": ["11"],
    "source_concept_completeness:procedure_occurrence.procedure_source_concept_id": [
        "2",
        "3",
        "4",
    ],
    "value_completeness:measurement.value_as_number": ["6"],
    "unit_completeness:measurement.unit_source_value": ["5"],
    "person_without_events:person": ["3", "4", "5"],
    "person_without_observation_period:person": ["5"],
    "duplicate_rows:condition_occurrence": ["9"],
    # row 1 again, under another id and type
    "repeated_measurement:measurement.unit_source_value": ["10"],
    "likely_duplicate_person:person": ["3"],  # person 4 twice in one cluster is one person
    "implausible_age:person": ["3"],
    "plausible_lab_range:measurement.value_as_number:2345-7": ["2", "9"],  # 9: mmol/L
    "unit_dimension:measurement.unit_source_value:2345-7": ["8"],
    "plausible_unit:measurement.unit_source_value": ["4", "5", "8"],
    "plausible_upper_bound:drug_exposure.days_supply": ["5"],
    "visit_same_person:condition_occurrence.visit_occurrence_id": ["15"],
    "provider_completeness:provider.specialty_concept_id:specialty": ["1", "2"],
    "plausible_sex:condition_occurrence.condition_source_value:male": ["2"],
    "plausible_sex:condition_occurrence.condition_source_value:female": ["3"],
    "plausible_sex:procedure_occurrence.procedure_source_value:male": ["1"],
    # a descendant of Pregnancy (by concept_ancestor) on a man, with a local source code
    "plausible_sex_concept:condition_occurrence.condition_concept_id:female": ["17"],
    "non_negative:drug_exposure.quantity": ["1"],
    "paid_not_above_billed:mm_claim.total_paid": ["1"],
    "start_before_end:visit_occurrence.visit_end_date": ["2", "3", "4"],
    "death_after_birth:death.death_date": ["6"],
    "after_birth:condition_occurrence.condition_start_date": ["6"],
    # 8 (person 6) is a consequence of person 6's death before birth: counted there only
    "before_death:condition_occurrence.condition_start_date": ["16"],
    "within_observation_period:visit_occurrence.visit_start_date": ["5", "6"],
    "within_visit_dates:condition_occurrence.condition_start_date": ["7"],
    "future_date:visit_occurrence.visit_start_date": ["5"],
}


@pytest.fixture(scope="module")
def planted_run(planted):
    return run_checks(planted)


def test_at_least_25_check_types_registered_and_instantiated():
    assert len(CHECK_TYPES) >= 25
    instances = instantiate()
    assert len({i.type.name for i in instances}) == len(CHECK_TYPES)
    assert len(instances) > 500


def test_every_check_type_has_a_known_answer_test():
    # here on the tiny planted warehouse, or in the planted-error suite on a generated population
    covered = {cid.split(":")[0] for cid in KNOWN_ANSWERS}
    covered |= {k.check_id.split(":")[0] for k in KINDS}
    assert covered == {t.name for t in CHECK_TYPES}


@pytest.mark.parametrize("check_id", sorted(KNOWN_ANSWERS))
def test_planted_violations_are_found_with_their_ids(planted_run, check_id):
    r = planted_run.get(check_id)
    expected = KNOWN_ANSWERS[check_id]
    assert r.status != Status.ERROR, r.error
    assert r.num_violated == len(expected)
    assert sorted(r.example_ids) == sorted(expected)
    assert r.has_failing_rows


def test_planted_run_has_no_errors_and_clean_checks_pass(planted_run):
    assert planted_run.summary["error"] == 0
    assert planted_run.get("is_foreign_key:condition_occurrence.person_id").num_violated == 0
    assert planted_run.get("start_before_end:drug_exposure.drug_exposure_end_date").status == "pass"


def test_empty_tables_are_not_applicable(planted_run):
    r = planted_run.get("is_required:note.note_text")
    assert r.status == Status.NOT_APPLICABLE and r.num_denominator == 0
    assert planted_run.get("before_death:measurement.measurement_date").status == "not_applicable"


def test_results_are_stored_and_read_back(planted, planted_run):
    back = load_run(planted, planted_run.run_id)
    assert len(back.results) == len(planted_run.results)
    r = back.get("start_before_end:visit_occurrence.visit_end_date")
    assert r.example_ids == ["2", "3", "4"] and r.status == "fail" and r.threshold_pct == 0.0


def _res(n, d, threshold):
    pct = 100.0 * n / d if d else None
    return CheckResult(
        "x", "t", "field", "plausibility", "", "validation", "t", "c", None, "", threshold,
        n, d, pct, checks._status(n, d, pct, threshold), n > 0, [], "",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("n", "d", "threshold", "status", "flag"),
    [
        (3, 100, 5.0, "pass", "has failing rows (3 rows, under 5% threshold)"),
        (6, 100, 5.0, "fail", ""),
        (5, 100, 5.0, "pass", "has failing rows (5 rows, under 5% threshold)"),
        (0, 100, 0.0, "pass", ""),
        (1, 100, 0.0, "fail", ""),
        (0, 0, 0.0, "not_applicable", ""),
    ],
)
def test_status_follows_threshold_and_flags_failing_rows(n, d, threshold, status, flag):
    r = _res(n, d, threshold)
    assert r.status == status
    assert r.flag == flag


def test_a_broken_check_is_an_error_and_the_rest_continue(planted, monkeypatch):
    real = checks.instantiate

    def broken(types=None, settings=None):
        out = real(types, settings)
        bad = out[0].__class__(**{**out[0].__dict__, "sql": "SELECT * FROM no_such_table"})
        return [bad, *out[1:]]

    monkeypatch.setattr(checks, "instantiate", broken)
    run = run_checks(planted, types=["is_required", "future_date"], store=False)
    assert run.results[0].status == Status.ERROR
    assert "no_such_table" in run.results[0].error
    assert all(r.status != Status.ERROR for r in run.results[1:])


def test_error_messages_mask_quoted_literals():
    err = checks._error_text(
        ValueError("Conversion Error: Could not convert string 'Smith' to INT")
    )
    assert "Smith" not in err and "Conversion Error" in err


def test_one_check_sql_per_type_transpiles_to_spark():
    # The unrolled Verhoeff expression nests deeply; SQLGlot's parser recurses per level.
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        seen = set()
        for inst in instantiate():
            if inst.type.name not in seen:
                seen.add(inst.type.name)
                assert sqlglot.transpile(inst.sql, read="duckdb", write="spark")
    finally:
        sys.setrecursionlimit(old)


def test_eunomia_run_completes_without_errors(eunomia):
    run = run_checks(eunomia)
    s = run.summary
    assert s["error"] == 0, [r.error for r in run.by_status("error")]
    assert s["check_types"] >= 25
    assert s["pass"] > 300 and s["fail"] > 0
    # Known Eunomia defects: observation periods of persons missing from `person`, events
    # referring to visits absent from the sample, and no numeric measurement values.
    assert run.get("is_foreign_key:observation_period.person_id").num_violated == 2649
    assert run.get("value_completeness:measurement.value_as_number").pct_violated == 100.0
    assert run.get("code_shape_loinc:measurement.measurement_source_value").num_violated == 0


def test_the_curated_sex_specific_list_has_at_least_200_codes():
    from medmine.quality._reference import sex_specific_codes

    rows = sex_specific_codes()
    assert len(rows) >= 200 and len({(r["vocabulary_id"], r["code"]) for r in rows}) == len(rows)
    by = Counter((r["vocabulary_id"], r["sex"]) for r in rows)
    assert min(by.values()) >= 5, by  # both vocabularies, both sexes
    from medmine.quality.vocab import is_valid_snomed

    assert all(is_valid_snomed(r["code"]) for r in rows if r["vocabulary_id"] == "SNOMED")


def test_without_a_linkage_run_duplicate_persons_say_how_to_get_one(tmp_path):
    from medmine.warehouse import Warehouse

    wh = Warehouse(tmp_path / "nolink.duckdb")
    wh.con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id) VALUES (1, 8507, 1950, 0, 0)"
    )
    r = run_checks(wh, types=["likely_duplicate_person"], store=False).results[0]
    assert r.status == Status.NOT_APPLICABLE and "medmine link" in r.reason
    wh.close()
