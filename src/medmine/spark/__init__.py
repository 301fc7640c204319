"""Apache Spark engine: the warehouse as a Parquet lake and the heavy stages on Spark SQL.

`spark_session` starts Spark (local mode or a cluster's master URL); `ingest_fhir` loads FHIR
files into a `Lake` (atomic, idempotent loads); `SparkWarehouse` opens a lake (or a
``medmine warehouse export`` folder) so that the stages' own DuckDB SQL runs on Spark,
transpiled by SQLGlot. See ``docs/spark.md``.
"""

from medmine.spark.connection import SparkConnection, SparkWarehouse, to_spark_sql
from medmine.spark.fhir_ingest import MAPPED_TABLES, ingest_fhir, mapping_views
from medmine.spark.lake import Lake
from medmine.spark.session import java_missing_reason, spark_session

__all__ = [
    "MAPPED_TABLES",
    "Lake",
    "SparkConnection",
    "SparkWarehouse",
    "ingest_fhir",
    "java_missing_reason",
    "mapping_views",
    "spark_session",
    "to_spark_sql",
]
