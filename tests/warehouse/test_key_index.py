"""Tables without a key index (provenance, raw FHIR store) keep their key unique by insert."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from medmine.warehouse import LoadSession, Provenance, Warehouse
from medmine.warehouse.schema import TABLES, table


def _prov(ids: list[int], where: str) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "table_name": ["person"] * n,
            "row_id": pa.array(ids, pa.int64()),
            "load_id": ["l1"] * n,
            "source_file": ["f.ndjson"] * n,
            "location": [f"{where} {i}" for i in range(n)],
        }
    )


def test_only_the_two_row_per_record_system_tables_go_without_a_key_index():
    assert sorted(t.name for t in TABLES if not t.key_index) == [
        "mm_fhir_resource",
        "mm_source_record",
    ]
    assert "PRIMARY KEY" not in table("mm_source_record").ddl()
    assert "PRIMARY KEY" in table("person").ddl()


def test_insert_new_sql_keeps_the_key_unique_without_an_index():
    wh = Warehouse(":memory:")
    spec = table("mm_source_record")
    first = _prov([1, 2, 2], "line")  # noqa: F841  (DuckDB replacement scan)
    assert wh.con.execute(spec.insert_new_sql("first")).fetchone()[0] == 2
    again = _prov([2, 3], "again")  # noqa: F841
    assert wh.con.execute(spec.insert_new_sql("again")).fetchone()[0] == 1
    got = wh.con.execute("SELECT row_id, location FROM mm_source_record ORDER BY row_id").fetchall()
    assert [r[0] for r in got] == [1, 2, 3]
    assert got[2] == (3, "again 1")
    wh.close()


def test_insert_new_sql_works_on_a_warehouse_created_with_the_key(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        table("mm_source_record")
        .ddl()
        .replace("\n)", ',\n  PRIMARY KEY ("table_name", "row_id")\n)')
    )
    con.close()
    with Warehouse(path) as wh:
        first = _prov([5, 6], "line")  # noqa: F841
        sql = table("mm_source_record").insert_new_sql("first")
        assert wh.con.execute(sql).fetchone()[0] == 2
        assert wh.con.execute(sql).fetchone()[0] == 0


def test_reloading_the_same_rows_adds_no_provenance_and_counts_duplicates():
    wh = Warehouse(":memory:")
    rows = pa.table(
        {
            "person_id": pa.array([1, 2], pa.int64()),
            "gender_concept_id": pa.array([0, 0], pa.int32()),
            "race_concept_id": pa.array([0, 0], pa.int32()),
            "ethnicity_concept_id": pa.array([0, 0], pa.int32()),
        }
    )
    for attempt in range(2):
        with LoadSession(wh, "test") as s:
            s.read("Person", 2)
            s.add_table(
                "person",
                rows,
                record_type="Person",
                provenance=Provenance("p.csv", ["line 1", "line 2"]),
            )
        assert s.report.counts["Person"].loaded == (2 if attempt == 0 else 0)
    assert wh.count("mm_source_record") == 2
    assert (
        wh.con.execute(
            "SELECT count(*) FROM (SELECT table_name, row_id FROM mm_source_record "
            "GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]
        == 0
    )
    wh.close()
