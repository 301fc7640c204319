"""The claims fraud study's SQL: numpy's rounding and pandas' robust statistics reproduced in
DuckDB, and every statement transpiles to Spark SQL with SQLGlot."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot

from medmine.studies import _claims_sql as q
from medmine.studies._claims_schemes import robust_z, upcoding

SLOTS = ["claims", "lines", "fl", "hits", "scores", "key", "ptp", "mue", "minutes", "conc"]
SLOTS += ["bad", "out", "clin_pct", "org_pct", "prov"]


def test_np_round_in_sql_is_numpy_round_bit_for_bit():
    x = np.r_[np.arange(0, 3, 0.0005), np.arange(-1, 1, 0.00125), [2.675, 1.0005, -0.0005]]
    con = duckdb.connect()
    con.register("v", pd.DataFrame({"x": x}))
    got = con.execute(f"SELECT {q.np_round('x', 3)} AS r FROM v").df()["r"].to_numpy()
    assert np.array_equal(got, np.round(x, 3))
    plain = con.execute("SELECT round(x, 3) AS r FROM v").df()["r"].to_numpy()
    assert not np.array_equal(plain, np.round(x, 3))  # why np_round exists


def test_upcoding_sql_uses_the_robust_z_of_pandas():
    rng = np.random.default_rng(4)
    n = 400
    lines = pd.DataFrame(
        {
            "claim_id": np.arange(n),
            "claim_line_id": np.arange(n),
            "vocab": "CPT4",
            "code": rng.choice(["A", "B", "C"], n),
            "units": rng.choice([1.0, 2.0], n),
            "amount": np.round(rng.gamma(4, 25, n), 2),
        }
    )
    lines.loc[:5, "amount"] *= 6  # a few upcharged lines
    con = duckdb.connect()
    con.register("l", lines)
    hits = upcoding(con, "l")
    per_unit = lines["amount"] / lines["units"].clip(lower=1)
    z, _ = robust_z(per_unit, lines["vocab"] + ":" + lines["code"])
    med = per_unit.groupby(lines["code"]).transform("median")
    want = lines[(z.clip(upper=50) >= 3) & (per_unit >= 1.5 * med)]["claim_id"]
    assert len(want) >= 3
    assert sorted(hits["claim_id"]) == sorted(want)
    got_z = hits.set_index("claim_id")["reason"].str.extract(r"robust z ([\d.]+)")[0]
    assert got_z.astype(float).to_dict() == pytest.approx(
        z.clip(upper=50).round(1)[want.index].set_axis(want).to_dict()
    )


@pytest.mark.parametrize("name", sorted(q.STATEMENTS))
def test_statement_transpiles_to_spark(name):
    text = q.STATEMENTS[name].format(
        **{k: f'"t_{k}"' for k in SLOTS}, claims_sql="SELECT 1 AS x", person_filter=""
    )
    out = sqlglot.transpile(text, read="duckdb", write="spark")[0]
    assert "SELECT" in out.upper()


def test_bad_table_names_are_quoted():
    text = q.sql(q.POST_DEATH, claims='x"; DROP TABLE person; --')
    assert '"x""; DROP TABLE person; --"' in text
