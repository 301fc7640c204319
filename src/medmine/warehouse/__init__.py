"""The warehouse: schema as data, the DuckDB-backed `Warehouse`, and the loading contract."""

from medmine.warehouse.connection import Warehouse, spark_backend
from medmine.warehouse.ids import stable_id
from medmine.warehouse.load import LoadReport, LoadSession, Reason, TypeCounts
from medmine.warehouse.schema import CLINICAL_TABLES, TABLES, TableSpec, table, table_names

__all__ = [
    "CLINICAL_TABLES",
    "TABLES",
    "LoadReport",
    "LoadSession",
    "Reason",
    "TableSpec",
    "TypeCounts",
    "Warehouse",
    "spark_backend",
    "stable_id",
    "table",
    "table_names",
]
