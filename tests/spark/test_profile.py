"""Profiling on Spark: DuckDB's SUMMARIZE answered by Spark SQL aggregations, and the whole
warehouse profile (`medmine.quality.profile.profile_warehouse`, unchanged) equal on both engines.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from medmine.quality.profile import profile_warehouse
from medmine.spark import java_missing_reason

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(java_missing_reason() is not None, reason=str(java_missing_reason())),
]

_ROWS = [
    (1, 2.5, "a", dt.date(2020, 1, 31), dt.datetime(2020, 1, 31, 8, 0), Decimal("1.25"), None),
    (None, None, None, None, None, None, None),
    (3, -1.0, "b", dt.date(2021, 6, 1), None, Decimal("2.50"), None),
    (3, 1e10, "a", dt.date(1999, 12, 31), dt.datetime(2001, 1, 1), None, None),
]
_DDL = "i BIGINT, x DOUBLE, s VARCHAR, d DATE, t TIMESTAMP, m DECIMAL(10,2), e INTEGER"


def test_summarize_gives_duckdbs_columns(spark, wh):
    from pyspark.sql.types import (
        DateType,
        DecimalType,
        DoubleType,
        IntegerType,
        LongType,
        StringType,
        StructField,
        StructType,
        TimestampNTZType,
    )

    from medmine.spark import SparkConnection

    wh.con.execute(f"CREATE TABLE t ({_DDL})")
    wh.con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", _ROWS)
    duck = wh.con.execute("SUMMARIZE SELECT * FROM t").fetchall()
    schema = StructType(
        [
            StructField(n, typ)
            for n, typ in zip(
                "ixsdtme",
                [
                    LongType(),
                    DoubleType(),
                    StringType(),
                    DateType(),
                    TimestampNTZType(),
                    DecimalType(10, 2),
                    IntegerType(),
                ],
                strict=True,
            )
        ]
    )
    spark.createDataFrame(_ROWS, schema).createOrReplaceTempView("mm_test_summarize")
    con = SparkConnection(spark)
    got = con.execute("SUMMARIZE SELECT * FROM mm_test_summarize").fetchall()
    assert [d[0] for d in con.description][:4] == ["column_name", "column_type", "min", "max"]
    assert len(got) == len(duck) == 7
    for s, d in zip(got, duck, strict=True):
        name, typ, mn, mx, _u, avg, _std, _q25, _q50, _q75, count, nulls = s
        assert (name, typ, count, nulls) == (d[0], d[1], d[10], d[11])
        if typ in ("BIGINT", "DOUBLE", "DECIMAL(10,2)"):
            assert (float(mn), float(mx)) == (float(d[2]), float(d[3]))
            assert float(avg) == pytest.approx(float(d[5]), rel=1e-12)
        else:
            assert (mn, mx) == (d[2], d[3])
    assert got[-1][2:4] == (None, None) and got[-1][11] == Decimal("100.00")
    assert got[0][11] == Decimal("25.00") and got[4][11] == Decimal("50.00")


def test_where_alias_and_quantile_disc_mean_the_same_on_spark(spark, wh):
    from medmine.spark import SparkConnection

    rows = [(p, k) for p in range(1, 11) for k in range(p if p != 7 else 40)]
    wh.con.execute("CREATE TABLE ev (pid INTEGER, k INTEGER)")
    wh.con.executemany("INSERT INTO ev VALUES (?, ?)", rows)
    spark.createDataFrame(rows, "pid int, k int").createOrReplaceTempView("ev")
    q = (
        "SELECT count(*), quantile_disc(n, 0.5), quantile_disc(n, 0.9), quantile_disc(n, 0.99) "
        "FROM (SELECT pid, count(*) AS n FROM ev GROUP BY 1) x"
    )
    con = SparkConnection(spark)
    assert [tuple(map(int, r)) for r in con.execute(q).fetchall()] == wh.con.execute(q).fetchall()
    q2 = "SELECT pid % 3 AS y, count(*) FROM ev WHERE y <> 0 GROUP BY 1 ORDER BY 1"
    assert con.execute(q2).fetchall() == wh.con.execute(q2).fetchall()
    # whole years as DuckDB's date_sub counts them (leap days, both directions)
    pairs = [
        ("2000-02-29", "2001-02-28"),
        ("2000-02-29", "2004-02-28"),
        ("2000-03-01", "2010-02-28"),
        ("2020-06-01", "2019-07-01"),
        ("1950-12-31", "2024-12-30"),
        ("2001-01-01", "2001-01-01"),
    ]
    q3 = " UNION ALL ".join(
        f"SELECT {i} AS i, date_sub('year', DATE '{a}', DATE '{b}') AS y"
        for i, (a, b) in enumerate(pairs)
    )
    q3 = f"SELECT * FROM ({q3}) ORDER BY i"
    assert con.execute(q3).fetchall() == wh.con.execute(q3).fetchall()
    q4 = "SELECT round_even(x * 10, 0) / 10 AS r FROM (SELECT 0.25 AS x UNION ALL SELECT 0.35)"
    assert sorted(con.execute(q4).fetchall()) == sorted(wh.con.execute(q4).fetchall())
    # ordered aggregates: a sorted list (NULL values kept), its slice, the first by a key
    q5 = (
        "SELECT pid % 3 AS g, array_to_string(list_slice(list(k ORDER BY pid, k), 2, 4), ',') "
        "AS s, len(list(CASE WHEN k > 1 THEN k END ORDER BY k)) AS n, "
        "first(pid ORDER BY pid * 100 + k DESC) AS f FROM ev WHERE k > 0 GROUP BY 1 ORDER BY 1"
    )
    assert con.execute(q5).fetchall() == wh.con.execute(q5).fetchall()


def test_profile_is_the_same_on_both_engines(omop_both):
    wh, sw = omop_both
    duck = profile_warehouse(wh)
    spark = profile_warehouse(sw)
    # provenance is not exported; the export itself is audited after it was written
    differ = {"mm_source_record", "mm_audit"}
    assert {t: n for t, n in duck.row_counts.items() if t not in differ} == {
        t: n for t, n in spark.row_counts.items() if t not in differ
    }
    assert set(spark.tables) - differ == set(duck.tables) - differ
    assert len(duck.tables) >= 8
    for name, d in duck.tables.items():
        if name in differ:
            continue
        s = spark.tables[name]
        assert (s.rows, s.top_codes, s.by_year, s.year_column) == (
            d.rows,
            d.top_codes,
            d.by_year,
            d.year_column,
        ), name
        assert s.per_person == pytest.approx(d.per_person, rel=1e-12), name
        assert s.per_person_hist == d.per_person_hist, name
        assert list(s.columns) == list(d.columns), name
        for c, dc in d.columns.items():
            sc = s.columns[c]
            assert (sc.type, sc.null_pct, sc.distinct, sc.min, sc.max) == (
                dc.type,
                dc.null_pct,
                dc.distinct,
                dc.min,
                dc.max,
            ), f"{name}.{c}"
            if dc.mean is None:
                assert sc.mean is None, f"{name}.{c}"
            else:
                assert sc.mean == pytest.approx(dc.mean, rel=1e-12), f"{name}.{c}"
    vo = duck.tables["visit_occurrence"]
    assert vo.per_person["persons_with_rows"] > 10 and vo.by_year and vo.top_codes


def test_prefetch_answers_single_row_queries_in_one_job_and_leaves_the_rest(spark):
    from medmine.spark import SparkConnection

    spark.createDataFrame(
        [(1, "a"), (2, "b"), (3, "b")], "i int, s string"
    ).createOrReplaceTempView("mm_test_prefetch")
    con = SparkConnection(spark)
    one = "SELECT count(*) AS n, max(s) AS m FROM mm_test_prefetch"
    two = "SELECT sum(i) AS n, min(s) AS m FROM mm_test_prefetch WHERE i > 1"
    many = "SELECT i FROM mm_test_prefetch"
    broken = "SELECT no_such_column FROM mm_test_prefetch"
    assert con.prefetch([one, two, many, broken]) == 2  # many rows and the error: left out
    assert set(con._prefetched) == {one, two}
    spark.sql("DROP VIEW mm_test_prefetch")  # the answers are already there
    assert con.execute(one).fetchone() == (3, "b")
    assert [d[0] for d in con.description] == ["n", "m"]
    assert con.execute(two).fetchall() == [(5, "b")]
    assert not con._prefetched  # each answer is used once
    with pytest.raises(Exception, match="mm_test_prefetch"):
        con.execute(one).fetchone()  # run again: the view is gone
