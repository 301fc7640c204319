from __future__ import annotations

import duckdb
import pytest

from medmine.privacy.risk import PERSON_QI_SQL, anonymize, assess


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute(
        "CREATE TABLE f AS SELECT i AS person_id, 1940 + (i % 37) AS year_of_birth, "
        "CASE WHEN i % 2 = 0 THEN 8507 ELSE 8532 END AS sex, "
        "lpad(CAST(10 + i % 7 AS VARCHAR), 3, '0') AS zip3, 'MA' AS state, "
        "CASE WHEN i % 5 = 0 THEN 8516 ELSE 8527 END AS race, 0 AS ethnicity, "
        "CASE WHEN i % 3 = 0 THEN 'diabetes' ELSE 'asthma' END AS dx FROM range(400) t(i)"
    )
    return c


QI = ["year_of_birth", "sex", "zip3", "race"]


def test_k_and_class_sizes(con) -> None:
    r = assess(con, "SELECT * FROM f", QI, sensitive="dx")
    assert r.records == 400 and sum(s * c for s, c in r.class_sizes.items()) == 400
    assert r.k == min(r.class_sizes) and r.prosecutor_max == 1 / r.k
    assert r.prosecutor_avg == pytest.approx(r.classes / 400)
    assert r.journalist_max == r.prosecutor_max and "equal to prosecutor" in r.journalist_note
    assert r.l_diversity >= 1


def test_journalist_risk_with_population(con) -> None:
    con.execute("CREATE TABLE pop AS SELECT *, 10 AS n FROM f")
    r = assess(con, "SELECT * FROM f WHERE person_id < 100", QI, population_sql="SELECT * FROM pop")
    assert r.journalist_max < r.prosecutor_max
    assert r.journalist_avg <= r.prosecutor_avg


def test_generalisation_reaches_target_k(con) -> None:
    before = assess(con, "SELECT * FROM f", QI)
    assert before.k < 5
    res = anonymize(con, "SELECT * FROM f", QI, target_k=5, max_suppression=0.05)
    assert res.achieved and res.risk.k >= 5
    assert res.rows_suppressed <= 20 and res.risk.records == 400 - res.rows_suppressed
    assert 0 < res.information_loss < 1 and any(res.levels.values())


def test_person_frame_sql_runs_on_a_warehouse(wh) -> None:
    wh.con.execute("INSERT INTO location (location_id, state, zip) VALUES (1, 'MA', '021')")
    wh.con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id, location_id) VALUES (1, 8507, 1950, 8527, 0, 1), "
        "(2, 8507, 1950, 8527, 0, 1)"
    )
    r = assess(wh.con, PERSON_QI_SQL)
    assert r.k == 2 and r.records == 2
