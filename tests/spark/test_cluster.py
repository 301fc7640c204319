"""The pipeline on a real Spark standalone cluster: a master and two workers on loopback,
started and stopped with Spark's own daemon script (``make cluster-test``).

Runs only when ``MEDMINE_CLUSTER_TEST=1`` (three more JVMs: too heavy for every test run);
otherwise skipped with that reason. FHIR ingest into a lake, quality checks and covariates
run against the cluster's master URL and give the DuckDB path's rows.
"""

from __future__ import annotations

import os
import shutil
import time

import pandas as pd
import pytest

from medmine.spark import java_missing_reason

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(java_missing_reason() is not None, reason=str(java_missing_reason())),
    pytest.mark.skipif(
        os.environ.get("MEDMINE_CLUSTER_TEST") != "1",
        reason="starts a standalone Spark cluster: run `make cluster-test`",
    ),
]

from medmine.features.covariates import CovariateSettings, extract_covariates  # noqa: E402
from medmine.ingest.fhir import load as duck_fhir_load  # noqa: E402
from medmine.quality.checks import run_checks  # noqa: E402
from medmine.warehouse import Warehouse  # noqa: E402

from ..conftest import TEST_DATA  # noqa: E402

CHECK_TYPES = ["is_required", "is_primary_key", "is_foreign_key", "after_birth"]


class _Cohort:
    """Every person of the warehouse, indexed on one date (a cohort shape covariates accept)."""

    def __init__(self, wh) -> None:
        ids = sorted(r["person_id"] for r in wh.sql("SELECT person_id FROM person").to_pylist())
        self.frame = pd.DataFrame(
            {
                "row_id": range(1, len(ids) + 1),
                "person_id": ids,
                "index_date": pd.Timestamp("2021-01-01"),
            }
        )


def test_ingest_quality_covariates_on_a_standalone_cluster(tmp_path):
    from medmine.spark import MAPPED_TABLES, SparkWarehouse, ingest_fhir, spark_session
    from medmine.spark.cluster import StandaloneCluster

    src = tmp_path / "in"
    shutil.copytree(TEST_DATA / "spark_fhir", src)
    with StandaloneCluster(workers=2, cores=1, memory="1g") as cluster:
        assert cluster.alive_workers() == 2
        session = spark_session(
            cluster.master_url,
            app_name="medmine-cluster-test",
            conf={"spark.executor.memory": "768m", "spark.cores.max": "2"},
        )
        try:
            assert session.sparkContext.master == cluster.master_url
            report = ingest_fhir([src], tmp_path / "lake", session)
            apps = cluster.state()["activeapps"]
            assert len(apps) == 1 and apps[0]["cores"] == 2  # executors on both workers
            lake = SparkWarehouse(tmp_path / "lake", session)
            with Warehouse(tmp_path / "w.duckdb") as wh:
                duck_fhir_load([src], wh)
                assert report.counts["Condition"].loaded == wh.count("condition_occurrence")
                for table in MAPPED_TABLES:  # table -> its resource types
                    q = f"SELECT * FROM {table}"
                    assert sorted(map(str, lake.sql(q).to_pylist())) == sorted(
                        map(str, wh.sql(q).to_pylist())
                    )
                s = run_checks(lake, types=CHECK_TYPES, store=False, compare=False)
                by_id = {r.check_id: r for r in s.results}
                # 3 Patients: one without birthDate is loaded with its year unknown (issue 12)
                assert by_id["is_primary_key:person.person_id"].num_denominator == 3
                assert not [r for r in s.results if r.status == "error"]
                settings = CovariateSettings(
                    domains=("condition", "procedure"), windows=(None,), include_labs=False,
                    include_charlson=False, visit_counts=True, min_prevalence=0.0,
                )  # fmt: skip
                duck = extract_covariates(wh, _Cohort(wh), settings)
                spark = extract_covariates(lake, _Cohort(lake), settings)
                # Same covariates and values; names differ only by code displays, which
                # the Spark ingest does not write (mm_source_concept).
                keys = list(duck.reference["covariate_key"])
                assert list(spark.reference["covariate_key"]) == keys and len(keys) > 5
                assert abs(spark.X - duck.X).max() == 0
        finally:
            session.stop()
    deadline = time.monotonic() + 30
    while cluster.alive_workers() and time.monotonic() < deadline:
        time.sleep(1)  # the master's status page answers until its JVM has exited
    assert cluster.alive_workers() == 0
