"""One local SparkSession for every Spark test of the run, and the small shared inputs.

Starting the JVM is most of a Spark test's cost, so the session is session-scoped: two local
cores, two shuffle partitions, no web UI (`medmine.spark.spark_session`). Every fixture here
skips with the reason when pyspark or Java is missing.
"""

from __future__ import annotations

import pytest

from medmine.spark import java_missing_reason


@pytest.fixture(scope="session")
def spark():
    """The test run's SparkSession (local[2], 2 shuffle partitions, UI off)."""
    reason = java_missing_reason()
    if reason:
        pytest.skip(reason)
    from medmine.spark import spark_session

    session = spark_session("local[2]", app_name="medmine-tests", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def omop_both(tmp_path_factory, spark):
    """An 80-person simulated warehouse in DuckDB and the same tables as Parquet on Spark."""
    from medmine.spark import SparkWarehouse
    from medmine.synth.population import simulate
    from medmine.warehouse import Warehouse

    d = tmp_path_factory.mktemp("omop")
    wh = Warehouse(d / "w.duckdb")
    simulate(80, seed=5).write_to(wh)
    wh.export_parquet(d / "pq")
    yield wh, SparkWarehouse(d / "pq", spark)
    wh.close()
