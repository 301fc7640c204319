"""The Spark engine gives DuckDB's rows: FHIR ingest into a Parquet lake, quality checks,
covariates and FP-Growth (MLlib), each run on both engines over the same input.

One local SparkSession for the whole test run (``tests/spark/conftest.py``; skipped with the
reason when pyspark or Java is missing); inputs are a few dozen rows so each Spark job is small.
"""

from __future__ import annotations

import shutil

import pytest

from medmine.spark import java_missing_reason

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(java_missing_reason() is not None, reason=str(java_missing_reason())),
]

from medmine.features.cohorts import build_cohort, readmission  # noqa: E402
from medmine.features.covariates import CovariateSettings, extract_covariates  # noqa: E402
from medmine.ingest.fhir import load as duck_fhir_load  # noqa: E402
from medmine.mining.rules import clinical_transactions, fpgrowth  # noqa: E402
from medmine.quality.checks import run_checks  # noqa: E402
from medmine.warehouse import Warehouse  # noqa: E402
from medmine.warehouse.schema import table as table_spec  # noqa: E402

from ..conftest import TEST_DATA  # noqa: E402

FHIR = TEST_DATA / "spark_fhir"
#: Check types run on both engines (each check is one Spark job: a subset keeps this fast).
CHECK_TYPES = [
    "is_required",
    "is_primary_key",
    "is_foreign_key",
    "start_before_end",
    "after_birth",
    "before_death",
    "within_observation_period",
    "records_per_person_outlier",
]


@pytest.fixture(scope="module")
def fhir_both(tmp_path_factory, spark):
    from medmine.spark import SparkWarehouse, ingest_fhir

    d = tmp_path_factory.mktemp("fhir")
    src = d / "in"
    shutil.copytree(FHIR, src)
    report = ingest_fhir([src], d / "lake", spark)
    wh = Warehouse(d / "w.duckdb")
    duck_fhir_load([src], wh)
    yield report, SparkWarehouse(d / "lake", spark), wh, d
    wh.close()


def _rows(wh, sql):
    return sorted(tuple(r.values()) for r in wh.sql(sql).to_pylist())


#: Rows each mapped table gets from tests/data/spark_fhir (the DuckDB loader's counts).
FHIR_ROWS = {
    "person": 3,  # p-nobirth loads with the year unknown (a missing_field warning)
    "provider": 2,
    "visit_occurrence": 16,
    "condition_occurrence": 14,
    "procedure_occurrence": 3,
    "observation": 3,  # AllergyIntolerance
    "drug_exposure": 11,  # MedicationRequest/Administration/Statement, Immunization
}


def test_fhir_ingest_writes_the_duckdb_loaders_rows(fhir_both):
    _, lake, wh, _ = fhir_both
    for table, n in FHIR_ROWS.items():
        cols = ", ".join(table_spec(table).column_names)
        duck = _rows(wh, f"SELECT {cols} FROM {table}")
        spark = _rows(lake, f"SELECT {cols} FROM {table}")
        assert len(duck) == n, table
        assert spark == duck, table


def test_conditional_practitioner_references_resolve_by_identifier(fhir_both):
    _, lake, wh, _ = fhir_both
    q = (
        "SELECT v.visit_source_value, p.provider_source_value FROM visit_occurrence v "
        "LEFT JOIN provider p USING (provider_id) WHERE v.visit_start_date >= DATE '2020-03-01' "
        "ORDER BY v.visit_start_date"
    )
    want = [
        ("ActCode:IMP", "Practitioner/pr1"),  # Practitioner?identifier=us-npi|1111111111
        ("ActCode:AMB", "Practitioner/pr2"),  # Practitioner/pr2
        ("ActCode:EMER", "Practitioner/pr2"),  # Practitioner?identifier=2222222222 (no system)
        ("ActCode:XYZ", None),  # an identifier no Practitioner has
        (None, None),  # the identifier of a quarantined Practitioner
    ]
    assert [tuple(r.values()) for r in lake.sql(q).to_pylist()] == want
    assert [tuple(r.values()) for r in wh.sql(q).to_pylist()] == want
    q = "SELECT table_name, row_id, system, value FROM mm_identifier WHERE table_name = 'provider'"
    assert _rows(lake, q) == _rows(wh, q) and len(_rows(wh, q)) == 3


def test_fhir_ingest_keeps_the_same_provenance(fhir_both):
    _, lake, wh, _ = fhir_both
    tables = ", ".join(f"'{t}'" for t in FHIR_ROWS)
    q = (
        "SELECT table_name, row_id, source_file, location, source_key FROM mm_source_record "
        f"WHERE table_name IN ({tables})"
    )
    assert _rows(lake, q) == _rows(wh, q)
    assert len(_rows(wh, q)) == sum(FHIR_ROWS.values())


def test_fhir_ingest_quarantines_with_the_loaders_reasons(fhir_both):
    report, lake, wh, _ = fhir_both
    q = (
        "SELECT resource_type, location, reason_code FROM mm_quarantine WHERE resource_type IN "
        "('Patient', 'Condition', 'Encounter', 'Procedure', 'Practitioner', 'AllergyIntolerance', "
        "'MedicationRequest', 'MedicationAdministration', 'MedicationStatement', 'Immunization')"
    )
    assert _rows(lake, q) == _rows(wh, q)
    assert report.quarantine_reasons["dangling_reference"] == 3
    assert report.quarantine_reasons["invalid_date"] == 9
    assert report.counts["Condition"].quarantined == 5
    assert report.counts["Encounter"].quarantined == 5
    assert report.counts["Encounter"].loaded == 16
    assert report.counts["Procedure"].quarantined == 3
    assert report.counts["AllergyIntolerance"].quarantined == 4
    assert report.reconciles
    # the line that is not JSON is quarantined, never dropped
    assert lake.count("mm_quarantine") == 30


def test_drug_resources_follow_the_loaders_rules(fhir_both):
    report, lake, wh, _ = fhir_both
    q = (
        "SELECT q.resource_type, q.location, q.reason_code FROM mm_quarantine q "
        "WHERE q.resource_type LIKE 'Medication%' OR q.resource_type = 'Immunization'"
    )
    got = _rows(lake, q)
    assert got == _rows(wh, q) and len(got) == 11
    reasons = {(t, loc): r for t, loc, r in got}
    assert reasons[("MedicationRequest", "line 6")] == "missing_field"  # a coding, no code
    assert reasons[("MedicationRequest", "line 8")] == "invalid_date"  # 2020-13-45
    assert reasons[("MedicationRequest", "line 10")] == "dangling_reference"  # no such Patient
    assert reasons[("MedicationRequest", "line 11")] == "invalid_value"  # a Group
    assert reasons[("MedicationAdministration", "line 3")] == "invalid_date"  # period end
    assert reasons[("MedicationStatement", "line 3")] == "missing_field"  # blank text
    assert reasons[("Immunization", "line 3")] == "missing_field"  # subject, not patient
    loaded = {t: report.counts[t].loaded for t in ("MedicationRequest", "Immunization")}
    assert loaded == {"MedicationRequest": 5, "Immunization": 2}
    q = (
        "SELECT drug_source_value, drug_exposure_start_date, drug_exposure_end_date, days_supply, "
        "refills, quantity, sig, route_source_value, lot_number, provider_id IS NOT NULL AS prov "
        "FROM drug_exposure"
    )
    assert _rows(lake, q) == _rows(wh, q)
    rows = lake.sql(q).to_pylist()
    by = {r["drug_source_value"]: r for r in rows}
    ok = by["Metformin"]  # a medicationReference's display when nothing is coded
    assert ok["drug_exposure_end_date"] == ok["drug_exposure_start_date"]
    assert "Medication/m2" in by  # no display: the reference itself
    aspirin = by["aspirin"]  # 10 hours is not a known supply unit: no days supply
    assert aspirin["days_supply"] is None
    assert str(aspirin["drug_exposure_start_date"]) == "2021-01-01"
    # 4 weeks and 1.5 months of 30 days; the end is the start plus the supply
    supplied = sorted(
        (r["days_supply"], str(r["drug_exposure_start_date"]), str(r["drug_exposure_end_date"]))
        for r in rows
        if r["days_supply"]
    )
    assert supplied == [(28, "2020-02-01", "2020-02-29"), (45, "2020-03-01", "2020-04-15")]
    flu = by["CVX:140"]
    assert (flu["lot_number"], flu["quantity"], flu["route_source_value"]) == (
        "AB12",
        0.5,
        "v3-RouteOfAdministration:IM",
    )
    assert report.counts["Patient"].warnings == 1  # p-nobirth: no birthDate, year unknown
    assert report.warning_reasons == {"missing_field": 1}


def test_fhir_reload_adds_nothing_and_a_later_load_resolves_earlier_identifiers(
    fhir_both, spark, tmp_path
):
    from medmine.spark import SparkWarehouse, ingest_fhir

    _, _, _, d = fhir_both
    lake = tmp_path / "lake"  # a copy: the shared lake stays as the other tests expect it
    shutil.copytree(d / "lake", lake)
    again = ingest_fhir([d / "in"], lake, spark)
    assert again.files == 0 and again.skip_reasons == {"file_already_loaded": 11}
    assert len(list((lake / "mm_load").iterdir())) == 1
    # a later file whose Encounter names a Practitioner of the first load by NPI only
    later = tmp_path / "later" / "Encounter.ndjson"
    later.parent.mkdir()
    later.write_text(
        '{"resourceType": "Encounter", "id": "e-later", "subject": {"reference": '
        '"Patient/p-nd1"}, "period": {"start": "2023-01-01"}, "participant": [{"individual": '
        '{"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi%7C1111111111"}}]}\n'
    )
    report = ingest_fhir([later], lake, spark)
    assert report.counts["Encounter"].loaded == 1
    q = "SELECT visit_occurrence_id, person_id, provider_id FROM visit_occurrence WHERE "
    q += "visit_start_date = DATE '2023-01-01'"
    spark_rows = _rows(SparkWarehouse(lake, spark), q)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        duck_fhir_load([d / "in"], wh)
        duck_fhir_load([later], wh)
        npi = "SELECT provider_id FROM provider WHERE npi = '1111111111'"
        assert spark_rows[0][2] == wh.sql(npi).to_pylist()[0]["provider_id"]
        assert spark_rows == _rows(wh, q)


def test_a_load_that_dies_before_its_commit_leaves_nothing(tmp_path, spark, monkeypatch):
    from medmine.spark import Lake, SparkWarehouse

    lake = Lake(tmp_path / "lake")
    people = spark.createDataFrame(
        [(1, 8507, 1950)], "person_id long, gender_concept_id int, year_of_birth int"
    )
    lake.write_load(
        spark, "first", {"person": people}, {"source_kind": "test", "status": "completed"}
    )
    more = spark.createDataFrame(
        [(1, 8507, 1950), (2, 8532, 1960)],
        "person_id long, gender_concept_id int, year_of_birth int",
    )

    real_rename = type(tmp_path).rename

    def dying_rename(self, target):
        if self.name == "mm_load":
            raise KeyboardInterrupt  # killed just before the commit record moves in
        return real_rename(self, target)

    monkeypatch.setattr(type(tmp_path), "rename", dying_rename)
    with pytest.raises(KeyboardInterrupt):
        lake.write_load(
            spark, "second", {"person": more}, {"source_kind": "test", "status": "completed"}
        )
    monkeypatch.undo()
    assert (tmp_path / "lake" / "person" / "load=second").exists()  # written, not committed
    assert SparkWarehouse(tmp_path / "lake", spark).count("person") == 1
    assert lake.recover() == ["second"]
    assert not (tmp_path / "lake" / "person" / "load=second").exists()
    # the same rows again: the existing primary key is left out (INSERT OR IGNORE)
    written = lake.write_load(
        spark, "third", {"person": more}, {"source_kind": "test", "status": "completed"}
    )
    assert written["person"] == 1
    assert SparkWarehouse(tmp_path / "lake", spark).count("person") == 2


def test_quality_checks_give_the_same_results(omop_both):
    wh, sw = omop_both
    duck = run_checks(wh, types=CHECK_TYPES, store=False, compare=False)
    spark = run_checks(sw, types=CHECK_TYPES, store=False, compare=False)
    d = {r.check_id: (r.status, r.num_violated, r.num_denominator) for r in duck.results}
    s = {r.check_id: (r.status, r.num_violated, r.num_denominator) for r in spark.results}
    # mm_source_record and mm_audit differ by construction (provenance is not exported; the
    # export itself is audited after it was written)
    differ = {k for k in d if d[k] != s[k]}
    assert all(k.split(":")[1].startswith(("mm_source_record", "mm_audit")) for k in differ)
    applied = [r for r in spark.results if r.status != "not_applicable"]
    assert len(applied) > 40 and not [r for r in spark.results if r.status == "error"]


def test_covariates_are_the_same_matrix(omop_both):
    wh, sw = omop_both
    cohort = build_cohort(wh, readmission())
    settings = CovariateSettings(
        domains=("condition", "drug"), windows=(365, None), include_labs=False
    )
    duck = extract_covariates(wh, cohort, settings)
    spark = extract_covariates(sw, cohort, settings)
    assert duck.X.shape[0] == len(cohort.frame) > 10 and duck.X.shape[1] > 10
    assert spark.columns == duck.columns
    assert (abs(spark.X - duck.X)).max() == 0


def test_mllib_fpgrowth_finds_medmines_itemsets(omop_both):
    from medmine.spark.rules import spark_fpgrowth

    wh, sw = omop_both
    tr = clinical_transactions(wh)
    mine = fpgrowth(tr.matrix, min_support=0.2, max_len=3)
    got = spark_fpgrowth(sw, min_support=0.2, min_confidence=0.6, max_len=3)
    expected = {
        frozenset(tr.items[i] for i in s): round(v, 12)
        for s, v in zip(mine["itemsets"], mine["support"], strict=True)
    }
    assert got.n_transactions == tr.n
    assert (
        dict(zip(got.itemsets["items"], got.itemsets["support"].round(12), strict=True)) == expected
    )
    assert any(len(s) >= 2 for s in expected)
    support = dict(zip(got.itemsets["items"], got.itemsets["count"], strict=True))
    for a, c, conf in got.rules[["antecedent", "consequent", "confidence"]].itertuples(index=False):
        assert conf == pytest.approx(support[a | c] / support[a]) and conf >= 0.6
