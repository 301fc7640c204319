from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest

from medmine.ingest import synthea_csv
from medmine.warehouse import Reason, Warehouse, stable_id

from ..conftest import TEST_DATA

FIXTURES = TEST_DATA / "synthea_csv"


def _counts(report, rtype):
    c = report.counts[rtype]
    return (c.read, c.loaded, c.skipped, c.quarantined)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The fixtures loaded once per module (tests only read; reloads add no rows)."""
    w = Warehouse(tmp_path_factory.mktemp("wh") / "w.duckdb")
    yield w, synthea_csv.load(FIXTURES, w)
    w.close()


def test_fixture_folder_loads_and_reconciles(loaded):
    wh, r = loaded
    assert r.reconciles and r.status == "committed"
    expected = {
        "Organization": (2, 2, 0, 0),
        "Provider": (3, 3, 0, 0),
        "Payer": (2, 0, 2, 0),
        "Patient": (6, 6, 0, 0),
        "Encounter": (10, 10, 0, 0),
        "Condition": (8, 7, 0, 1),
        "Medication": (5, 4, 0, 1),
        "Observation": (15, 14, 0, 1),
        "Procedure": (5, 4, 0, 1),
        "Immunization": (4, 4, 0, 0),
        "Allergy": (2, 2, 0, 0),
        "Claim": (4, 4, 0, 0),
        "ClaimTransaction": (13, 12, 0, 1),
        "careplans": (2, 0, 2, 0),
    }
    assert {k: _counts(r, k) for k in r.counts} == expected
    assert r.quarantine_reasons == {"dangling_reference": 2, "invalid_value": 2, "invalid_date": 1}
    assert r.warning_reasons == {}
    c = wh.counts()
    assert (c["person"], c["death"], c["visit_occurrence"], c["condition_occurrence"]) == (
        6,
        1,
        10,
        7,
    )
    # survey values are observations (docs/mapping.md): QALY and DALY left measurement
    assert (c["drug_exposure"], c["measurement"], c["observation"]) == (8, 11, 5)
    # cost: one row per claim line with money transactions (5) and per claim (3)
    assert (c["mm_claim"], c["mm_claim_line"], c["cost"], c["provider"], c["care_site"]) == (
        4, 6, 8, 3, 2,
    )  # fmt: skip


def test_patient_mapping_and_identity(loaded):
    wh, _ = loaded
    rows = wh.con.execute(
        "SELECT p.gender_concept_id, p.year_of_birth, p.race_concept_id, p.ethnicity_concept_id, "
        "i.given_name, i.family_name, i.ssn, i.passport, i.city FROM person p "
        "JOIN mm_person_identity i USING (person_id) ORDER BY p.year_of_birth"
    ).fetchall()
    assert rows[1] == (
        8507, 1948, 8527, 38003564, "Walter James", "Bechtelar", "999-41-8723", "X19283746X",
        "Springfield",
    )  # fmt: skip
    assert [r[2] for r in rows] == [8516, 8527, 0, 8527, 8657, 8515]  # black, white, other...
    assert wh.con.execute("SELECT death_date FROM death").fetchone() == (dt.date(2021, 6, 14),)


def test_encounter_classes_and_references(loaded):
    wh, _ = loaded
    classes = dict(
        wh.con.execute(
            "SELECT visit_concept_id, count(*) FROM visit_occurrence GROUP BY 1"
        ).fetchall()
    )
    assert classes == {9202: 6, 9201: 2, 9203: 1, 5083: 1}
    open_enc = wh.con.execute(
        "SELECT visit_end_date, visit_end_datetime, provider_id IS NOT NULL, "
        "care_site_id IS NOT NULL FROM visit_occurrence WHERE visit_start_date = '2023-02-02'"
    ).fetchone()
    assert open_enc == (dt.date(2023, 2, 2), None, True, True)
    dangling = wh.con.execute(
        "SELECT count(*) FROM condition_occurrence c LEFT JOIN visit_occurrence v "
        "USING (visit_occurrence_id) WHERE v.visit_occurrence_id IS NULL"
    ).fetchone()
    assert dangling == (0,)


def test_observations_split_by_type(loaded):
    wh, _ = loaded
    m = dict(
        wh.con.execute(
            "SELECT measurement_source_value, (value_as_number, unit_source_value) FROM measurement"
        ).fetchall()
    )
    assert m["LOINC:4548-4"] == (7.4, "%")
    survey = wh.con.execute(
        "SELECT value_as_number, unit_source_value, visit_occurrence_id FROM observation "
        "WHERE observation_source_value = 'LOINC:QALY'"
    ).fetchone()
    assert survey == (48.3, "a", None)  # a survey score; no encounter: visit left empty
    text = wh.con.execute(
        "SELECT value_as_string FROM observation WHERE observation_source_value = 'LOINC:72166-2'"
    ).fetchone()
    assert text == ("Former smoker",)
    allergy = wh.con.execute(
        "SELECT qualifier_source_value, value_source_value FROM observation "
        "WHERE observation_source_value = 'SNOMED:91935009'"
    ).fetchone()
    assert allergy == ("SEVERE", "SNOMED:39579001")
    imm = wh.con.execute(
        "SELECT count(*) FROM drug_exposure WHERE drug_source_value LIKE 'CVX:%'"
    ).fetchone()
    assert imm == (4,)


def test_claim_totals_from_transactions(loaded):
    wh, _ = loaded
    totals = wh.con.execute(
        "SELECT claim_type, total_billed, total_paid, patient_paid FROM mm_claim "
        "ORDER BY total_billed"
    ).fetchall()
    assert totals == [
        ("professional", 85.55, None, None),
        ("professional", 277.32, 221.86, 0.0),
        ("professional", 455.55, 0.0, 364.44),  # paid in cash by the patient, not the payer
        ("institutional", 9000.0, 7200.0, 0.0),
    ]
    payer = wh.con.execute(
        "SELECT display FROM mm_source_concept WHERE vocabulary_id = 'Payer'"
    ).fetchall()
    assert sorted(payer) == [("Medicare",), ("NO_INSURANCE",)]


def test_reload_adds_nothing(loaded):
    wh, _ = loaded
    before = wh.counts()
    r = synthea_csv.load(FIXTURES, wh)
    after = wh.counts()
    assert {t for t in before if before[t] != after[t]} <= {"mm_load", "mm_quarantine", "mm_audit"}
    assert r.reconciles and r.totals.loaded == 0


def test_later_load_resolves_patients_from_the_warehouse(wh, tmp_path):
    part1, part2 = tmp_path / "a", tmp_path / "b"
    part1.mkdir()
    part2.mkdir()
    for name in ("organizations.csv", "providers.csv", "patients.csv", "encounters.csv"):
        shutil.copy(FIXTURES / name, part1 / name)
    shutil.copy(FIXTURES / "conditions.csv", part2 / "conditions.csv")
    synthea_csv.load(part1, wh)
    r = synthea_csv.load(part2, wh)
    assert _counts(r, "Condition") == (8, 7, 0, 1)
    assert r.warning_reasons == {}


def _mutated(tmp_path: Path, name: str, row: int, changes: dict[str, str]) -> Path:
    out = tmp_path / "csv"
    shutil.copytree(FIXTURES, out)
    with (FIXTURES / name).open(newline="") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    rows[row].update(changes)
    with (out / name).open("w", newline="") as f:
        w = csv.DictWriter(f, header)
        w.writeheader()
        w.writerows(rows)
    return out


BAD_CASES = [
    ("patient_birthdate", "patients.csv", 0, {"BIRTHDATE": "1948-02-30"}, "Patient",
     Reason.INVALID_DATE),
    ("patient_gender", "patients.csv", 2, {"GENDER": "X"}, "Patient", Reason.INVALID_VALUE),
    ("patient_death_before_birth", "patients.csv", 3, {"DEATHDATE": "1930-01-01"}, "Patient",
     Reason.INVALID_DATE),
    ("encounter_no_patient", "encounters.csv", 9, {"PATIENT": ""}, "Encounter",
     Reason.MISSING_FIELD),
    ("encounter_stop_first", "encounters.csv", 9, {"STOP": "2001-01-01T00:00:00Z"}, "Encounter",
     Reason.INVALID_DATE),
    ("condition_no_code", "conditions.csv", 0, {"CODE": ""}, "Condition", Reason.MISSING_FIELD),
    ("condition_bad_start", "conditions.csv", 0, {"START": "17/02/2019"}, "Condition",
     Reason.INVALID_DATE),
    ("observation_not_number", "observations.csv", 0, {"VALUE": "tall"}, "Observation",
     Reason.INVALID_VALUE),
    ("claim_unknown_patient", "claims.csv", 3, {"PATIENTID": "nobody"}, "Claim",
     Reason.DANGLING_REFERENCE),
    ("transaction_bad_type", "claims_transactions.csv", 0, {"TYPE": "REFUND"}, "ClaimTransaction",
     Reason.INVALID_VALUE),
]  # fmt: skip


BASE_QUARANTINED = {"Condition": 1, "Medication": 1, "Observation": 1, "Procedure": 1,
                    "ClaimTransaction": 1}  # fmt: skip
BASE_REASONS = {"dangling_reference": 2, "invalid_value": 2, "invalid_date": 1}


@pytest.mark.parametrize(
    ("name", "file", "row", "changes", "rtype", "reason"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_bad_row_is_quarantined_rest_loads(wh, tmp_path, name, file, row, changes, rtype, reason):
    r = synthea_csv.load(_mutated(tmp_path, file, row, changes), wh)
    assert r.reconciles
    assert r.counts[rtype].quarantined == BASE_QUARANTINED.get(rtype, 0) + 1
    # rows pointing at a rejected record may be rejected too (dangling), never silently lost
    assert r.quarantine_reasons[str(reason)] >= BASE_REASONS.get(str(reason), 0) + 1
    assert r.counts["Patient"].loaded >= 5


def test_unknown_file_and_bad_header_are_file_quarantines(wh, tmp_path):
    shutil.copy(FIXTURES / "patients.csv", tmp_path / "patients.csv")
    (tmp_path / "encounters.csv").write_text("Id,START\nx,2020-01-01\n")
    (tmp_path / "notes.csv").write_text("a\n1\n")
    r = synthea_csv.load(tmp_path, wh)
    assert _counts(r, "File") == (2, 0, 0, 2)
    assert r.quarantine_reasons == {"unsupported_type": 1, "malformed": 1}
    assert _counts(r, "Patient") == (6, 6, 0, 0)


def test_patient_id_namespace():
    assert stable_id("synthea_csv:Patient", "x") != stable_id("fhir:Patient", "x")
