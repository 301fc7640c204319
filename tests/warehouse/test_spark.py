"""The same Ibis expressions and transpiled SQL give the same answers on Spark and DuckDB."""

from __future__ import annotations

import os
import shutil

import pytest

from medmine.ingest import omop
from medmine.warehouse import Warehouse, spark_backend

from ..conftest import TEST_DATA

pyspark = pytest.importorskip("pyspark", reason="the spark extra is not installed")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime"),
]


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("medmine-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def both(tmp_path_factory, spark):
    d = tmp_path_factory.mktemp("spark")
    wh = Warehouse(d / "w.duckdb")
    omop.load(TEST_DATA / "omop_csv", wh)
    wh.export_parquet(d / "pq", tables=["person", "visit_occurrence", "condition_occurrence"])
    yield wh, spark_backend(d / "pq", spark), spark
    wh.close()


def _visits_by_sex(backend):
    p = backend.table("person")
    v = backend.table("visit_occurrence")
    return (
        p.join(v, "person_id")
        .group_by("gender_concept_id")
        .aggregate(n=v.visit_occurrence_id.count())
        .order_by("gender_concept_id")
    )


def test_ibis_expression_runs_unchanged_on_spark(both):
    wh, sb, _ = both
    duck = _visits_by_sex(wh.ibis).execute()
    spark = _visits_by_sex(sb).execute()
    assert duck.to_dict("list") == spark.to_dict("list") == {"gender_concept_id": [8507], "n": [2]}


def test_transpiled_sql_gives_same_rows(both):
    wh, _, spark = both
    q = (
        "SELECT person_id, date_diff('day', visit_start_date, visit_end_date) AS los "
        "FROM visit_occurrence ORDER BY 1, 2"
    )
    duck = [tuple(r.values()) for r in wh.sql(q).to_pylist()]
    sp = [tuple(r) for r in spark.sql(Warehouse.transpile(q, "spark")).collect()]
    assert duck == sp == [(1, 0), (1, 4)]
