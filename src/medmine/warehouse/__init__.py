"""The warehouse: schema as data, the DuckDB-backed `Warehouse`, and the loading contract."""

from medmine.warehouse.connection import Warehouse, spark_backend
from medmine.warehouse.ids import stable_id
from medmine.warehouse.load import LoadSession
from medmine.warehouse.records import (
    LoadReport,
    Provenance,
    Reason,
    Rejected,
    TableBatch,
    TypeCounts,
    rows_to_arrow,
)
from medmine.warehouse.schema import CLINICAL_TABLES, TABLES, TableSpec, table, table_names

__all__ = [
    "CLINICAL_TABLES",
    "TABLES",
    "LoadReport",
    "LoadSession",
    "Provenance",
    "Reason",
    "Rejected",
    "TableBatch",
    "TableSpec",
    "TypeCounts",
    "Warehouse",
    "rows_to_arrow",
    "spark_backend",
    "stable_id",
    "table",
    "table_names",
]
