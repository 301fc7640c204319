"""FHIR ingestion on the Synthea sample and on small Bulk NDJSON / Bundle fixtures."""

from __future__ import annotations

import datetime as dt
import gc
import shutil

import pytest

from medmine.errors import LoadInterruptedError, SourceError
from medmine.ingest.fhir import load
from medmine.warehouse import Warehouse, stable_id
from tests.conftest import FHIR_SAMPLES, TEST_DATA

FIXTURES = TEST_DATA / "fhir"
BULK = FIXTURES / "bulk"

#: Resources per type in data/samples/synthea_fhir (data/samples/README.md).
SAMPLE_COUNTS = {
    "Observation": 61008,
    "Procedure": 13670,
    "Encounter": 7153,
    "Claim": 7153,
    "ExplanationOfBenefit": 7153,
    "DocumentReference": 7153,
    "Condition": 6611,
    "DiagnosticReport": 5383,
    "Immunization": 3651,
    "MedicationRequest": 1923,
    "SupplyDelivery": 1182,
    "Patient": 60,
    "Provenance": 60,
    "Practitioner": 696,
    "PractitionerRole": 696,
    "CareTeam": 524,
    "CarePlan": 524,
    "MedicationAdministration": 522,
    "Organization": 398,
    "ImagingStudy": 293,
    "Device": 293,
    "Location": 281,
    "Coverage": 173,
    "AllergyIntolerance": 139,
    "Goal": 113,
}
#: Distinct resources of the types repeated across bundles.
# 25 distinct Organizations, 8 of them insurers (type ins: not care sites, skipped)
SAMPLE_UNIQUE = {"Practitioner": 58, "PractitionerRole": 58, "Organization": 17, "Location": 17}
#: Skipped by design (no mapping; DiagnosticReports of the sample carry no text).
NOT_MAPPED = {
    "CareTeam",
    "CarePlan",
    "ImagingStudy",
    "Device",
    "SupplyDelivery",
    "Provenance",
    "Goal",
    "DiagnosticReport",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("fhir") / "sample.duckdb")
    report = load([FHIR_SAMPLES], wh)
    yield wh, report
    wh.close()


@pytest.fixture(scope="module")
def bulk(tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("bulk") / "bulk.duckdb")
    report = load(BULK, wh)
    yield wh, report
    wh.close()


def one(wh, sql, params=()):
    return wh.con.execute(sql, list(params)).fetchone()


# ---- the Synthea sample ----
def test_sample_reads_every_resource_of_every_type(sample):
    _, r = sample
    assert {t: c.read for t, c in r.counts.items()} == SAMPLE_COUNTS
    assert r.totals.read == 126_812


def test_sample_reconciles_loaded_skipped_quarantined_per_type(sample):
    wh, r = sample
    assert r.status == "committed" and r.reconciles
    for rtype, c in r.counts.items():
        if rtype in NOT_MAPPED:
            assert (c.loaded, c.skipped, c.quarantined) == (0, c.read, 0), rtype
        elif rtype == "Observation":  # 3,321 without a value write no row (mapping.md, R5)
            assert (c.loaded, c.skipped, c.quarantined) == (c.read - 3321, 3321, 0)
        elif rtype in SAMPLE_UNIQUE:
            assert c.loaded == SAMPLE_UNIQUE[rtype], rtype
            assert c.skipped == c.read - SAMPLE_UNIQUE[rtype], rtype
        else:
            assert (c.loaded, c.skipped, c.quarantined) == (c.read, 0, 0), rtype
    # every entry of the 8 insurers is not_mapped (117), none counted as a duplicate
    assert r.skip_reasons == {"not_mapped": 8372 + 117 + 3321, "duplicate": 1913 - 109}
    assert r.totals.quarantined == 0 and wh.count("mm_quarantine") == 0
    assert r.totals.warnings == 0  # every urn:uuid reference resolves inside its bundle


def test_sample_rows_per_table(sample):
    wh, _ = sample
    counts = wh.counts()
    assert counts["person"] == 60
    assert counts["death"] == 10
    assert counts["visit_occurrence"] == 7153
    assert counts["condition_occurrence"] == 6611
    assert counts["procedure_occurrence"] == 13670
    assert counts["drug_exposure"] == 1923 + 522 + 3651
    assert counts["note"] == 7153
    assert counts["mm_claim"] == counts["mm_claim_line"] == 7153
    assert counts["payer_plan_period"] == 173
    assert counts["provider"] == 58 and counts["care_site"] == 17
    assert counts["mm_person_identity"] == 60
    # Observations with a value: one row each (3,321 without a value and the 1,908 blood-
    # pressure panels write none); each of a panel's two components one row; allergies too.
    assert counts["measurement"] + counts["observation"] == 61008 - 3321 - 1908 + 2 * 1908 + 139


def test_sample_visit_classes_map_to_visit_concepts(sample):
    wh, _ = sample
    got = dict(
        wh.con.execute(
            "SELECT visit_concept_id, count(*) FROM visit_occurrence GROUP BY 1"
        ).fetchall()
    )
    assert got == {9202: 6239, 9203: 743, 9201: 133, 581476: 38}


def test_sample_every_loaded_row_has_provenance(sample):
    wh, r = sample
    for name in ("person", "visit_occurrence", "measurement", "note", "mm_claim_line", "cost"):
        n = one(
            wh,
            "SELECT count(*) FROM mm_source_record WHERE table_name = ? AND load_id = ?",
            [name, r.load_id],
        )[0]
        assert n == wh.count(name), name
    loc = one(wh, "SELECT location FROM mm_source_record WHERE table_name = 'person' LIMIT 1")[0]
    assert loc.startswith("entry[0] Patient/")


def test_sample_notes_are_decoded_text(sample):
    wh, _ = sample
    n, chief = one(wh, "SELECT count(*), count_if(note_text LIKE '%# Chief Complaint%') FROM note")
    assert n == chief == 7153


def test_sample_claims_carry_eob_amounts(sample):
    wh, _ = sample
    missing, billed_mismatch = one(
        wh,
        "SELECT count_if(total_paid IS NULL OR patient_paid IS NULL OR total_allowed IS NULL), "
        "count_if(total_billed <> (SELECT sum(billed_amount) FROM mm_claim_line l "
        "WHERE l.claim_id = c.claim_id)) FROM mm_claim c",
    )
    assert missing == 0 and billed_mismatch == 0
    assert one(wh, "SELECT count(*) FROM mm_claim_line WHERE paid_amount IS NULL")[0] == 0
    # Synthea bills as an Organization: billing_care_site_id, with the Organization's FHIR id.
    billed_by_org, same_id = one(
        wh,
        "SELECT count(c.billing_care_site_id), "
        "count_if(s.care_site_source_value = 'Organization/' || c.billing_source_value) "
        "FROM mm_claim c LEFT JOIN care_site s ON s.care_site_id = c.billing_care_site_id",
    )
    assert billed_by_org == same_id == 7153


def test_sample_load_row_and_files(sample):
    wh, r = sample
    status, read, loaded = one(
        wh,
        "SELECT status, records_read, records_loaded FROM mm_load WHERE load_id = ?",
        [r.load_id],
    )
    assert (status, read, loaded) == ("committed", 126_812, r.totals.loaded)
    assert one(wh, "SELECT count(*) FROM mm_load_file WHERE load_id = ?", [r.load_id])[0] == 60


# ---- Bulk NDJSON fixtures: Type/id, absolute and conditional references across files ----
def test_bulk_loads_every_resource(bulk):
    _, r = bulk
    assert r.reconciles
    assert r.totals.read == 20
    assert r.counts["Provenance"].skipped == 1
    assert r.totals.loaded == 19 and r.totals.quarantined == 0


def test_type_id_and_absolute_references_resolve_across_files(bulk):
    wh, _ = bulk
    e1 = stable_id("fhir:Encounter", "e1")
    p1, p2 = stable_id("fhir:Patient", "p1"), stable_id("fhir:Patient", "p2")
    assert one(wh, "SELECT person_id, visit_occurrence_id FROM condition_occurrence") == (p1, e1)
    e2_person = one(
        wh,
        "SELECT person_id FROM visit_occurrence WHERE visit_occurrence_id = ?",
        [stable_id("fhir:Encounter", "e2")],
    )[0]
    assert e2_person == p2  # https://server.example.org/fhir/Patient/p2/_history/3


def test_conditional_references_resolve_by_identifier(bulk):
    wh, r = bulk
    row = one(
        wh,
        "SELECT provider_id, care_site_id FROM visit_occurrence WHERE visit_occurrence_id = ?",
        [stable_id("fhir:Encounter", "e1")],
    )
    assert row == (stable_id("fhir:Practitioner", "dr1"), stable_id("fhir:Organization", "org1"))
    billing = one(wh, "SELECT billing_provider_id, billing_npi FROM mm_claim")
    assert billing == (stable_id("fhir:Practitioner", "dr1"), "9999999991")


def test_unresolved_optional_reference_is_kept_and_warned(bulk):
    wh, r = bulk
    assert r.counts["Encounter"].warnings == 1
    assert r.warning_reasons == {"unresolved_reference": 1}
    kept = one(
        wh,
        "SELECT reference, column_name FROM mm_reference WHERE resolved_id IS NULL",
    )
    assert kept == (
        "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999999999",
        "provider_id",
    )
    assert one(
        wh,
        "SELECT provider_id FROM visit_occurrence WHERE visit_occurrence_id = ?",
        [stable_id("fhir:Encounter", "e2")],
    ) == (None,)


def test_datetimes_are_converted_to_utc(bulk):
    wh, _ = bulk
    start, end = one(
        wh,
        "SELECT visit_start_datetime, visit_end_datetime FROM visit_occurrence "
        "WHERE visit_occurrence_id = ?",
        [stable_id("fhir:Encounter", "e1")],
    )
    assert (start, end) == (dt.datetime(2019, 3, 4, 7), dt.datetime(2019, 3, 6, 11))


def test_patient_identifiers_go_to_identity_and_identifier_tables(bulk):
    wh, _ = bulk
    ident = one(
        wh,
        "SELECT given_name, family_name, ssn, mrn, phone, address_line, birth_date "
        "FROM mm_person_identity WHERE person_id = ?",
        [stable_id("fhir:Patient", "p1")],
    )
    assert ident == (
        "Ada B",
        "Testperson",
        "999-01-0001",
        "MRN-0001",
        "555-0100",
        "1 Test Street",
        dt.date(1961, 4, 2),
    )
    person = one(
        wh,
        "SELECT year_of_birth, month_of_birth, race_concept_id, gender_concept_id, "
        "person_source_value FROM person WHERE person_id = ?",
        [stable_id("fhir:Patient", "p2")],
    )
    assert person == (1990, None, 0, 8507, "Patient/p2")
    assert one(wh, "SELECT death_datetime FROM death")[0] == dt.datetime(2020, 5, 6, 14)


def test_observations_split_into_measurement_and_observation(bulk):
    wh, _ = bulk
    glucose = one(
        wh,
        "SELECT value_as_number, unit_source_value, range_low, range_high FROM measurement "
        "WHERE measurement_source_value = 'LOINC:2345-7'",
    )
    assert glucose == (5.4, "mmol/L", 3.9, 5.6)
    bp = wh.con.execute(
        "SELECT measurement_source_value, value_as_number FROM measurement "
        "WHERE measurement_source_value IN ('LOINC:8480-6', 'LOINC:8462-4') ORDER BY 2"
    ).fetchall()
    assert bp == [("LOINC:8462-4", 80.0), ("LOINC:8480-6", 120.0)]
    smoking = one(
        wh,
        "SELECT observation_source_value, value_as_string, value_source_value FROM observation "
        "WHERE observation_source_value = 'LOINC:72166-2'",
    )
    assert smoking == ("LOINC:72166-2", "Never smoker", "SNOMED:266919005")


def test_claim_and_eob_become_one_claim_with_adjudicated_lines(bulk):
    wh, r = bulk
    claim = one(
        wh,
        "SELECT dx_vocabulary_id, dx_1, dx_2, total_billed, total_allowed, total_paid, "
        "patient_paid FROM mm_claim",
    )
    assert claim == ("ICD10CM", "E11.9", "I10", 200.0, 160.0, 140.0, 20.0)
    lines = wh.con.execute(
        "SELECT line_number, procedure_vocabulary_id, procedure_code, modifier_1, units, "
        "billed_amount, allowed_amount, paid_amount, dx_pointer FROM mm_claim_line ORDER BY 1"
    ).fetchall()
    assert lines == [
        (1, "CPT4", "99213", "25", 1.0, 150.0, 120.0, 100.0, "1"),
        (2, "CPT4", "80053", None, 2.0, 50.0, 40.0, 40.0, None),
    ]
    assert r.counts["ExplanationOfBenefit"].loaded == 1
    assert wh.count("mm_claim") == 1


def test_drugs_notes_coverage(bulk):
    wh, _ = bulk
    drug = one(
        wh,
        "SELECT drug_source_value, drug_exposure_end_date, days_supply, quantity "
        "FROM drug_exposure WHERE drug_source_value = 'RxNorm:860975'",
    )
    assert drug == ("RxNorm:860975", dt.date(2019, 4, 5), 30, 60.0)
    assert one(wh, "SELECT lot_number FROM drug_exposure WHERE lot_number IS NOT NULL") == ("LOT1",)
    note = one(wh, "SELECT note_text, note_title, provider_id FROM note")
    assert note == (
        "Patient seen for follow-up.\nPlan: continue metformin.\n",
        "History and physical note",
        stable_id("fhir:Practitioner", "dr1"),
    )
    plan = one(
        wh,
        "SELECT payer_source_value, plan_source_value, payer_plan_period_end_date "
        "FROM payer_plan_period",
    )
    assert plan == ("Medicare", "PLAN-A", dt.date(2099, 12, 31))
    display = one(
        wh,
        "SELECT display FROM mm_source_concept WHERE vocabulary_id = 'SNOMED' AND code = ?",
        ["44054006"],
    )
    assert display == ("Diabetes",)


def test_bundle_conditional_refs_resolve_against_an_earlier_load(bulk, tmp_path):
    wh_path = tmp_path / "two.duckdb"
    with Warehouse(wh_path) as wh:
        load(BULK, wh)
        r = load(FIXTURES / "conditional_bundle.json", wh)
        assert r.reconciles and r.totals.loaded == 3
        enc = one(
            wh,
            "SELECT provider_id, care_site_id, visit_start_datetime, person_id "
            "FROM visit_occurrence WHERE visit_concept_id = 9203",
        )
        assert enc == (
            stable_id("fhir:Practitioner", "dr1"),
            stable_id("fhir:Organization", "org1"),
            dt.datetime(2021, 7, 2, 4, 30),
            stable_id("fhir:Patient", "0b9f0c1e-0000-4000-8000-000000000001"),
        )
        # The Condition has no id: its urn:uuid fullUrl gives it one; its asserter dangles.
        assert r.counts["Condition"].warnings == 1
        assert one(
            wh,
            "SELECT provider_id FROM condition_occurrence WHERE visit_occurrence_id "
            "IS NOT NULL AND condition_source_value = 'SNOMED:10509002'",
        ) == (None,)


# ---- idempotence and atomicity ----
def test_reloading_the_same_files_adds_nothing(tmp_path):
    with Warehouse(tmp_path / "idem.duckdb") as wh:
        first = load(BULK, wh)
        before = wh.counts()
        second = load(BULK, wh)
        after = wh.counts()
    assert second.totals.loaded == 0
    assert second.totals.skipped == second.totals.read == first.totals.read
    assert second.skip_reasons == {"duplicate": 19, "not_mapped": 1}
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"mm_load", "mm_audit"}


def test_reloading_sample_files_adds_nothing(sample, tmp_path):
    wh, _ = sample
    files = sorted(FHIR_SAMPLES.glob("*.json.gz"))[:2]
    for f in files:
        shutil.copy(f, tmp_path / f.name)
    before = wh.counts()
    r = load([tmp_path / f.name for f in files], wh)
    assert r.totals.loaded == 0 and r.reconciles
    assert {k for k, v in wh.counts().items() if before[k] != v} <= {"mm_load", "mm_audit"}


def test_interrupted_load_rolls_back_everything(tmp_path):
    def interrupt(item, done, total):
        if done > total // 3:
            raise KeyboardInterrupt

    files = sorted(FHIR_SAMPLES.glob("*.json.gz"))[:3]
    with Warehouse(tmp_path / "int.duckdb") as wh:
        with pytest.raises(LoadInterruptedError, match="rolled back"):
            load(files, wh, progress=interrupt)
        counts = wh.counts()
        assert all(counts[t] == 0 for t in counts if t not in ("mm_load", "mm_audit"))
        assert wh.con.execute("SELECT status FROM mm_load").fetchall() == [("rolled_back",)]


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"), Warehouse(":memory:") as wh:
        load(tmp_path / "nope.ndjson", wh)


def test_memory_limit_is_lowered_during_the_load_and_restored(tmp_path):
    seen = []
    with Warehouse(tmp_path / "m.duckdb") as wh:
        before = one(wh, "SELECT current_setting('memory_limit')")[0]

        def watch(item, done, total):
            seen.append(done)

        load(BULK, wh, progress=watch, memory_limit="256MB")
        assert one(wh, "SELECT current_setting('memory_limit')")[0] == before
        with pytest.raises(ValueError, match="memory_limit"):
            load(BULK, wh, memory_limit="lots")
    assert seen and seen[-1] == sum(f.stat().st_size for f in BULK.iterdir())
    assert gc.isenabled()


def test_cli_prints_the_load_report_and_fails_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from medmine.cli import app

    runner = CliRunner()
    target = str(tmp_path / "cli.duckdb")
    ok = runner.invoke(app, ["ingest", "fhir", str(BULK), "--warehouse", target])
    assert ok.exit_code == 0, ok.output
    assert "Observation" in ok.output and "unresolved_reference=1" in ok.output
    bad = runner.invoke(app, ["ingest", "fhir", str(tmp_path / "nope"), "--warehouse", target])
    assert bad.exit_code == 3  # an input that cannot be read (docs: exit codes)
    assert "does not exist" in " ".join(bad.output.split())


def test_practitioner_roles_give_providers_their_specialty(sample):
    wh, _ = sample
    n, with_specialty, with_site = wh.con.execute(
        "SELECT count(*), count(specialty_source_value), count(care_site_id) FROM provider"
    ).fetchone()
    assert n == 58 and with_specialty == 58 and with_site == 58
    specialties = {
        r[0]
        for r in wh.con.execute("SELECT DISTINCT specialty_source_value FROM provider").fetchall()
    }
    assert "Pediatrics" in specialties


def test_every_sample_person_gets_an_observation_period_covering_their_events(sample):
    wh, _ = sample
    persons, periods, outside = wh.con.execute(
        "SELECT (SELECT count(*) FROM person), (SELECT count(DISTINCT person_id) FROM "
        "observation_period), (SELECT count(*) FROM visit_occurrence v JOIN observation_period o "
        "USING (person_id) WHERE v.visit_start_date < o.observation_period_start_date "
        "OR v.visit_end_date > o.observation_period_end_date)"
    ).fetchone()
    assert persons == periods == 60 and outside == 0
