"""The bundled FHIR sample loaded once per test process, and the column-by-column comparison
of a view mapping's rows with the per-resource loader's (shared by test_fhir_viewmap_*.py).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from medmine.ingest.fhir import load
from medmine.warehouse import Warehouse
from tests.conftest import FHIR_SAMPLES


def per_resource_load(paths: Any, path: Path) -> Path:
    """Load `paths` into a new warehouse at `path` with every resource mapped by the
    per-resource mappers (the specification: ``setwise=False``), keeping the raw store the
    view mappings read.
    """
    with Warehouse(path) as wh:
        load(paths, wh, setwise=False)
    return path


@cache
def sample_warehouse() -> Path:
    """A warehouse file holding the bundled Synthea FHIR sample (see `per_resource_load`),
    made once per test process.
    """
    folder = Path(tempfile.mkdtemp(prefix="mm-viewmap-"))
    atexit.register(shutil.rmtree, folder, True)
    return per_resource_load([FHIR_SAMPLES], folder / "w.duckdb")


def of_types(*types: str) -> str:
    """SQL: the raw resources of `types` as a view mapping's `source` relation."""
    names = ", ".join(f"'{t}'" for t in types)  # constants of the tests, not outside values
    return (
        "SELECT row_number() OVER (ORDER BY source_file, location) AS seq, source_file, "
        f"location, resource FROM mm_fhir_resource WHERE resource_type IN ({names})"
    )


def compare(wh: Warehouse, mapped: str, table: str, key: str) -> dict[str, Any]:
    """Rows of `mapped` (a view mapping's SQL) against warehouse table `table`.

    Returns the number of loaded rows (``loaded``), of those also regular (``regular``),
    rows of the mapping not in the table (``extra``, every shared column compared), and
    rows of the table with an id of the mapping that it lacks (``missing``).
    """
    wh.con.execute(f"CREATE OR REPLACE TEMP TABLE mc AS {mapped}")
    mine = {c[0] for c in wh.con.execute("DESCRIBE mc").fetchall()}
    cols = ", ".join(c[0] for c in wh.con.execute(f"DESCRIBE {table}").fetchall() if c[0] in mine)
    ok = "FROM mc WHERE reason_code IS NULL AND skip_code IS NULL"
    q = wh.con.execute
    return {
        "loaded": q(f"SELECT count(*) {ok}").fetchall()[0][0],
        "regular": q(f"SELECT count(*) {ok} AND regular").fetchall()[0][0],
        "extra": q(
            f"SELECT count(*) FROM (SELECT {cols} {ok} EXCEPT SELECT {cols} FROM {table})"
        ).fetchall()[0][0],
        "missing": q(
            f"SELECT count(*) FROM (SELECT {cols} FROM {table} WHERE {key} IN "
            f"(SELECT {key} FROM mc) EXCEPT SELECT {cols} {ok})"
        ).fetchall()[0][0],
    }


def mapping_columns(mapping: Any) -> set[str]:
    """Output columns a `SetwiseMapping` names (they must all be in the mapping's SQL)."""
    out = {mapping.id_column}
    for r in mapping.refs:
        out |= {r.ref, r.type, r.key}
    for c in mapping.codes:
        out |= {c.vocabulary, c.code, c.display}
    return out
