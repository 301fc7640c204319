"""The Spark engine gives DuckDB's rows: FHIR ingest into a Parquet lake, quality checks,
covariates and FP-Growth (MLlib), each run on both engines over the same input.

One local SparkSession for the module (skipped with the reason when pyspark or Java is
missing); inputs are a few dozen rows so each Spark job is small.
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
from medmine.synth.population import simulate  # noqa: E402
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
def spark():
    from medmine.spark import spark_session

    session = spark_session("local[2]", app_name="medmine-tests", shuffle_partitions=2)
    yield session
    session.stop()


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


@pytest.mark.parametrize("table", ["person", "condition_occurrence"])
def test_fhir_ingest_writes_the_duckdb_loaders_rows(fhir_both, table):
    _, lake, wh, _ = fhir_both
    cols = ", ".join(table_spec(table).column_names)
    duck = _rows(wh, f"SELECT {cols} FROM {table}")
    spark = _rows(lake, f"SELECT {cols} FROM {table}")
    assert len(duck) == {"person": 2, "condition_occurrence": 14}[table]
    assert spark == duck


def test_fhir_ingest_keeps_the_same_provenance(fhir_both):
    _, lake, wh, _ = fhir_both
    q = (
        "SELECT table_name, row_id, source_file, location, source_key FROM mm_source_record "
        "WHERE table_name IN ('person', 'condition_occurrence')"
    )
    assert _rows(lake, q) == _rows(wh, q)


def test_fhir_ingest_quarantines_with_the_loaders_reasons(fhir_both):
    report, lake, wh, _ = fhir_both
    q = (
        "SELECT resource_type, reason_code, count(*) FROM mm_quarantine "
        "WHERE resource_type IN ('Patient', 'Condition') GROUP BY ALL"
    )
    assert _rows(lake, q) == _rows(wh, q)
    assert report.quarantine_reasons["dangling_reference"] == 1
    assert report.quarantine_reasons["invalid_date"] == 1
    assert report.counts["Condition"].quarantined == 5
    assert report.reconciles
    # the line that is not JSON is quarantined, never dropped
    assert lake.count("mm_quarantine") == 7


def test_fhir_reload_adds_nothing(fhir_both, spark):
    from medmine.spark import ingest_fhir

    _, lake, _, d = fhir_both
    again = ingest_fhir([d / "in"], d / "lake", spark)
    assert again.files == 0 and again.skip_reasons == {"file_already_loaded": 3}
    assert len(list((d / "lake" / "mm_load").iterdir())) == 1


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


@pytest.fixture(scope="module")
def omop_both(tmp_path_factory, spark):
    from medmine.spark import SparkWarehouse

    d = tmp_path_factory.mktemp("omop")
    wh = Warehouse(d / "w.duckdb")
    simulate(80, seed=5).write_to(wh)
    wh.export_parquet(d / "pq")
    yield wh, SparkWarehouse(d / "pq", spark)
    wh.close()


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
