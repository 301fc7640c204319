"""SQL on FHIR v2: validate ViewDefinitions and compile them to one DuckDB statement each.

>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE resources (resource JSON)")
>>> _ = con.execute('''INSERT INTO resources VALUES ('{"resourceType": "Patient", "id": "p1"}')''')
>>> view = {"resource": "Patient", "select": [{"column": [{"name": "id", "path": "id"}]}]}
>>> run_view(con, view, typed=True).fetchall()
[('p1',)]
"""

from __future__ import annotations

from typing import Any

from medmine.fhir.views._exceptions import ViewDefinitionError, ViewNotSupportedError
from medmine.fhir.views._fhirpath import parse as parse_fhirpath
from medmine.fhir.views._view import CompiledView, compile_view, validate_view

__all__ = [
    "CompiledView",
    "ViewDefinitionError",
    "ViewNotSupportedError",
    "compile_view",
    "parse_fhirpath",
    "run_view",
    "validate_view",
]


def run_view(
    con: Any,
    view: dict[str, Any],
    table: str = "resources",
    column: str = "resource",
    *,
    typed: bool = False,
) -> Any:
    """Compile ``view`` and run it on the DuckDB connection ``con``; return the relation."""
    compiled = compile_view(view, table, column, typed=typed)
    return con.sql(compiled.sql)
