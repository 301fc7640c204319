"""Mapping source codes to standard concepts through "Maps to", on known answers (Eunomia)."""

from __future__ import annotations

import pytest

from medmine.quality.athena import load_vocabulary
from medmine.quality.concept_map import Outcome, map_source_codes
from medmine.warehouse import Warehouse

# (id, source value, source concept id, concept id before) -> (concept id, source concept id)
CONDITIONS = {
    1: ("ICD10CM:K92.2", None, 0, 192671, 35208414),  # non-standard ICD10CM, Maps to SNOMED
    2: ("ICD10CM:K922", None, 0, 192671, 35208414),  # undotted: Athena's form is dotted
    3: ("SNOMED:74474003", None, 0, 192671, 192671),  # standard: maps to itself
    4: ("SCT:74474003", None, 0, 192671, 192671),  # HL7 v2 spelling of SNOMED
    5: ("SNOMED:999999999", None, 0, 0, None),  # not in the vocabulary
    6: ("ICD10CM:K92", None, 0, 0, 1569708),  # in the vocabulary, no standard concept
    7: ("K92.2", 35208414, 0, 192671, 35208414),  # no prefix, source concept given
    8: ("ICD10CM:K92.2", None, 4112343, 4112343, None),  # already mapped: left alone
    9: (None, None, 0, 0, None),  # nothing to map
    10: ("RxNorm:213469", None, 0, 0, 1118088),  # a drug in the condition table
}
DRUGS = {
    1: ("NDC:0025-1525-31", 0, 1118088, 44923712),  # hyphenated 4-4-2 NDC, 11 digits in Athena
    2: ("NDC:00781178901", 0, 40162359, 45011828),
    3: ("RXNORM:855926", 0, 40162359, 40162359),  # vocabulary ids match case-insensitively
}
MEASUREMENTS = {1: ("LOINC:2885-2", 0, 3020630, 3020630), 2: ("LOINC:2885-3", 0, 0, None)}


def _fill(wh: Warehouse) -> None:
    con = wh.con
    con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id) VALUES (1, 8507, 1950, 0, 0)"
    )
    for i, (sv, sc, cc, *_) in CONDITIONS.items():
        con.execute(
            "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
            "condition_concept_id, condition_start_date, condition_type_concept_id, "
            "condition_source_value, condition_source_concept_id) "
            "VALUES (?, 1, ?, DATE '2010-01-01', 32817, ?, ?)",
            [i, cc, sv, sc],
        )
    for i, (sv, cc, *_) in DRUGS.items():
        con.execute(
            "INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id, "
            "drug_exposure_start_date, drug_exposure_end_date, drug_type_concept_id, "
            "drug_source_value) VALUES (?, 1, ?, DATE '2010-01-01', DATE '2010-01-02', 32817, ?)",
            [i, cc, sv],
        )
    for i, (sv, cc, *_) in MEASUREMENTS.items():
        con.execute(
            "INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, "
            "measurement_date, measurement_type_concept_id, measurement_source_value) "
            "VALUES (?, 1, ?, DATE '2010-01-01', 32817, ?)",
            [i, cc, sv],
        )


@pytest.fixture(scope="module")
def mapped(athena_dir, tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("map") / "m.duckdb")
    _fill(wh)
    res = load_vocabulary(athena_dir, wh)
    yield wh, res
    wh.close()


@pytest.mark.parametrize("row", sorted(CONDITIONS))
def test_condition_codes_map_to_the_expected_standard_concept(mapped, row):
    wh, _ = mapped
    *_, concept, source_concept = CONDITIONS[row]
    got = wh.con.execute(
        "SELECT condition_concept_id, condition_source_concept_id FROM condition_occurrence "
        "WHERE condition_occurrence_id = ?",
        [row],
    ).fetchone()
    assert got == (concept, source_concept)


@pytest.mark.parametrize(
    ("table", "cases"), [("drug_exposure", DRUGS), ("measurement", MEASUREMENTS)]
)
def test_drug_and_lab_codes_map_through_their_vocabulary(mapped, table, cases):
    wh, _ = mapped
    prefix = "drug" if table == "drug_exposure" else "measurement"
    key = "drug_exposure_id" if table == "drug_exposure" else "measurement_id"
    got = dict(
        (i, (c, s))
        for i, c, s in wh.con.execute(
            f"SELECT {key}, {prefix}_concept_id, {prefix}_source_concept_id FROM {table}"
        ).fetchall()
    )
    assert got == {i: (c, s) for i, (_, _, c, s) in cases.items()}


def test_outcomes_are_counted_per_field(mapped):
    _, res = mapped
    by_field = {(f.table, f.column): f.outcomes for f in res.mapping.fields}
    assert by_field[("condition_occurrence", "condition_concept_id")] == {
        "mapped": 5,
        "no_concept": 1,
        "no_standard": 1,
        "other_domain": 1,
    }
    assert by_field[("drug_exposure", "drug_concept_id")] == {"mapped": 3}
    assert by_field[("measurement", "measurement_concept_id")] == {"mapped": 1, "no_concept": 1}
    assert res.mapping.mapped == 9 and res.mapping.rows == 8 + 3 + 2


def test_mapped_ids_are_standard_concepts_of_the_vocabulary(mapped):
    wh, _ = mapped
    bad = wh.con.execute(
        "SELECT count(*) FROM (SELECT condition_concept_id AS c FROM condition_occurrence "
        "UNION ALL SELECT drug_concept_id FROM drug_exposure UNION ALL "
        "SELECT measurement_concept_id FROM measurement) x LEFT JOIN concept k "
        "ON k.concept_id = x.c WHERE x.c <> 0 AND k.standard_concept IS DISTINCT FROM 'S'"
    ).fetchone()[0]
    assert bad == 0


def test_a_code_mapping_to_several_concepts_of_its_domain_stays_unmapped(mapped):
    wh, _ = mapped
    # K92 (row 6) gains two standard Condition targets: the choice is not ours to make.
    wh.con.execute(
        "INSERT INTO concept_relationship VALUES (1569708, 192671, 'Maps to', DATE '1970-01-01', "
        "DATE '2099-12-31', NULL), (1569708, 4112343, 'Maps to', DATE '1970-01-01', "
        "DATE '2099-12-31', NULL)"
    )
    try:
        res = map_source_codes(wh)
        outcomes = {(f.table, f.column): f.outcomes for f in res.fields}
        assert outcomes[("condition_occurrence", "condition_concept_id")] == {
            Outcome.SEVERAL_TARGETS: 1,
            Outcome.NO_CONCEPT: 1,
            Outcome.OTHER_DOMAIN: 1,
        }
        assert wh.con.execute(
            "SELECT condition_concept_id FROM condition_occurrence "
            "WHERE condition_occurrence_id = 6"
        ).fetchone() == (0,)
    finally:
        wh.con.execute("DELETE FROM concept_relationship WHERE concept_id_1 = 1569708")


def test_without_a_vocabulary_nothing_is_mapped(tmp_path):
    wh = Warehouse(tmp_path / "empty.duckdb")
    _fill(wh)
    res = map_source_codes(wh)
    assert res.rows == 0 and res.fields == []
    assert wh.con.execute(
        "SELECT max(condition_concept_id) FROM condition_occurrence"
    ).fetchone() == (4112343,)
    wh.close()
