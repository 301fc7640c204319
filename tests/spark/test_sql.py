"""DuckDB SQL -> Spark SQL for the Spark engine (SQLGlot only: runs without Java)."""

from __future__ import annotations

import pytest
import sqlglot
from typer.testing import CliRunner

from medmine.cli import app
from medmine.errors import WarehouseError
from medmine.spark import to_spark_sql


def test_nested_ctes_of_the_same_name_get_unique_names():
    q = (
        "SELECT * FROM (WITH agg AS (SELECT 1 AS x) SELECT x FROM agg) a "
        "UNION ALL SELECT * FROM (WITH agg AS (SELECT 2 AS x) SELECT x FROM agg) b"
    )
    out = to_spark_sql(q)
    assert "agg__1" in out and "agg__2" in out
    tree = sqlglot.parse_one(out, read="spark")
    names = [c.alias for c in tree.find_all(sqlglot.exp.CTE)]
    assert len(names) == len(set(names)) == 2


def test_top_level_cte_and_duckdb_functions_are_translated():
    out = to_spark_sql("WITH t AS (SELECT DATE_DIFF('day', a, b) AS d FROM x) SELECT d FROM t")
    assert out.startswith("WITH t AS") and "DATEDIFF" in out.upper()


def test_more_than_one_statement_is_refused():
    with pytest.raises(WarehouseError, match="one SQL statement"):
        to_spark_sql("SELECT 1; SELECT 2")


@pytest.mark.parametrize("command", [["quality"], ["ingest", "fhir", "x.json"]])
def test_unknown_engine_is_a_one_line_error(command, tmp_path):
    res = CliRunner().invoke(app, [*command, "--engine", "presto", "--warehouse", str(tmp_path)])
    assert res.exit_code != 0
    assert "--engine must be one of duckdb, spark" in res.output
    assert "Traceback" not in res.output


def test_spark_profile_refuses_a_path_that_is_not_a_lake_before_starting_spark(tmp_path):
    out = tmp_path / "reports"
    res = CliRunner().invoke(
        app, ["spark", "profile", str(tmp_path / "nope.duckdb"), "--out", str(out)]
    )
    assert res.exit_code != 0
    assert "is not a folder" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_where_alias_is_not_taken_for_a_schema_column():
    # person_id is a warehouse column: DuckDB binds WHERE person_id to the column, so must Spark
    out = to_spark_sql("SELECT x AS person_id FROM t WHERE person_id > 1")
    assert "WHERE person_id > 1" in out
    out = to_spark_sql("SELECT year(d) AS y FROM t WHERE y > 2000")
    assert "WHERE YEAR(d) > 2000" in out


def test_duckdb_only_functions_get_their_spark_spelling():
    out = to_spark_sql("SELECT round_even(x * 100, 0) / 100, fsum(y) FROM t WHERE z < $window")
    assert "BROUND(x * 100, 0)" in out and "SUM(y)" in out and ":window" in out
    out = to_spark_sql("SELECT date_sub('year', a, b) AS age FROM t")
    assert "DATE_SUB" not in out.upper() and "LAST_DAY(B)" in out.upper()
    assert "DATE_SUB(d, 3)" in to_spark_sql("SELECT date_sub(d, 3) FROM t")
