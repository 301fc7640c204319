"""Disproportionality measures and the self-controlled case series, on known answers."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from medmine.errors import ConfigError
from medmine.mining.drug_safety import (
    SignalSettings,
    disproportionality,
    item_key,
    pair_counts,
    sccs,
    screen,
)
from medmine.synth.pharmacovigilance import simulate_signals

D0 = dt.date(2020, 1, 1)


def _con(tables: dict[str, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, frame in tables.items():
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
    return con


def test_measures_match_hand_computation():
    df = disproportionality(pd.DataFrame({"a": [10], "b": [90], "c": [20], "d": [880]}))
    r = df.iloc[0]
    assert r.prr == pytest.approx((10 / 100) / (20 / 900))  # 4.5
    assert r.ror == pytest.approx(10 * 880 / (90 * 20))
    se = math.sqrt(1 / 10 + 1 / 90 + 1 / 20 + 1 / 880)
    assert r.ror_lo == pytest.approx(math.exp(math.log(r.ror) - 1.959964 * se), rel=1e-5)
    # E = (a + b)(a + c) / N = 100 * 30 / 1000 = 3; IC = log2(10.5 / 3.5) = log2(3).
    assert r.expected == pytest.approx(3.0)
    assert r.ic == pytest.approx(math.log2(3))
    assert r.ic_lo < r.ic < r.ic_hi
    assert r.p < 0.01 and bool(r.signal) and bool(r.evans)


def test_zero_cell_gets_haldane_correction_and_stays_finite():
    r = disproportionality(pd.DataFrame({"a": [3], "b": [0], "c": [5], "d": [500]})).iloc[0]
    assert np.isfinite([r.prr, r.ror, r.ror_lo, r.ror_hi, r.ic]).all()


def test_counts_respect_the_window_and_exclude_persons_with_prior_outcomes():
    drug = pd.DataFrame(
        {
            "person_id": [1, 2, 3, 4, 5, 6, 7],
            "drug_concept_id": [11, 11, 11, 11, 11, 22, 22],
            "drug_source_value": None,
            "drug_exposure_start_date": [D0] * 7,
        }
    )
    days = {1: 0, 2: 1, 3: 30, 4: 31, 5: -5, 6: 10}  # person -> outcome day vs the start
    cond = pd.DataFrame(
        {
            "person_id": list(days),
            "condition_concept_id": 99,
            "condition_source_value": None,
            "condition_start_date": [D0 + dt.timedelta(days=d) for d in days.values()],
        }
    )
    con = _con({"drug_exposure": drug, "condition_occurrence": cond})
    df = pair_counts(con, SignalSettings(window_days=30, min_count=1))
    row = df[(df.drug == "concept:11") & (df.cond == "concept:99")].iloc[0]
    # Drug 11: persons 2 and 3 in (0, 30]; 4 (day 31) is not a case; 1 (same day, order
    # unknown) and 5 (before) had the outcome by the start and are not at risk: a=2, b=1.
    assert (row.a, row.b) == (2, 1)
    # Other drug (22): person 6 is a case, 7 is not.
    assert (row.c, row.d) == (1, 1)


def test_source_codes_are_items_when_concepts_are_zero():
    drug = pd.DataFrame(
        {
            "person_id": [1, 2, 3],
            "drug_concept_id": [0, 0, 0],
            "drug_source_value": ["RxNorm:123", "RxNorm:123", "RxNorm:9"],
            "drug_exposure_start_date": [D0] * 3,
        }
    )
    cond = pd.DataFrame(
        {
            "person_id": [1, 2],
            "condition_concept_id": [0, 0],
            "condition_source_value": ["SNOMED:1", "SNOMED:1"],
            "condition_start_date": [D0 + dt.timedelta(days=3)] * 2,
        }
    )
    df = pair_counts(
        _con({"drug_exposure": drug, "condition_occurrence": cond}),
        SignalSettings(min_count=1),
    )
    assert df[["drug", "cond", "a"]].values.tolist() == [
        ["source:RxNorm:123", "source:SNOMED:1", 2]
    ]
    assert item_key(192671) == "concept:192671" and item_key("SNOMED:1") == "source:SNOMED:1"


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="window_days"):
        SignalSettings(window_days=0)
    with pytest.raises(ConfigError, match="alpha"):
        SignalSettings(alpha=1.5)


def test_planted_signals_found_and_null_pairs_quiet():
    sim = simulate_signals(n_persons=20_000, seed=3)
    df = screen(_con(sim.tables), SignalSettings())
    flagged = {
        (int(d.split(":")[1]), int(o.split(":")[1]))
        for d, o, s in zip(df.drug, df.cond, df.signal, strict=True)
        if s
    }
    strong = {p for p, rr in sim.risk_ratio.items() if rr >= 4}
    assert strong and strong <= flagged
    n_null = len(sim.drugs) * len(sim.outcomes) - len(sim.planted)
    assert len(flagged - sim.planted) <= 0.01 * n_null


def test_sccs_recovers_a_known_rate_ratio():
    rng = np.random.default_rng(7)
    n, span, start, window, base, irr = 6000, 1000, 500, 30, 0.0006, 3.0
    obs, drug, cond = [], [], []
    for p in range(1, n + 1):
        obs.append((p, p, D0, D0 + dt.timedelta(days=span - 1)))
        drug.append((p, 11, None, D0 + dt.timedelta(days=start)))
        risk_days = range(start + 1, start + window + 1)
        days = [d for d in range(span) if rng.random() < base * (irr if d in risk_days else 1)]
        cond += [(p, 99, None, D0 + dt.timedelta(days=d)) for d in days]
    con = _con(
        {
            "observation_period": pd.DataFrame(
                obs,
                columns=[
                    "observation_period_id",
                    "person_id",
                    "observation_period_start_date",
                    "observation_period_end_date",
                ],
            ),
            "drug_exposure": pd.DataFrame(
                drug,
                columns=[
                    "person_id",
                    "drug_concept_id",
                    "drug_source_value",
                    "drug_exposure_start_date",
                ],
            ),
            "condition_occurrence": pd.DataFrame(
                cond,
                columns=[
                    "person_id",
                    "condition_concept_id",
                    "condition_source_value",
                    "condition_start_date",
                ],
            ),
        }
    )
    est = sccs(con, 11, 99, window)
    assert est.irr_lo < irr < est.irr_hi
    assert 2.0 < est.irr < 4.5
    assert est.days_risk == est.cases * window


def test_sccs_without_cases_says_why():
    empty = {
        "observation_period": pd.DataFrame(
            {
                "observation_period_id": [1],
                "person_id": [1],
                "observation_period_start_date": [D0],
                "observation_period_end_date": [D0 + dt.timedelta(days=100)],
            }
        ),
        "drug_exposure": pd.DataFrame(
            {
                "person_id": [1],
                "drug_concept_id": [11],
                "drug_source_value": [None],
                "drug_exposure_start_date": [D0],
            }
        ),
        "condition_occurrence": pd.DataFrame(
            {
                "person_id": pd.Series([], dtype="int64"),
                "condition_concept_id": pd.Series([], dtype="int64"),
                "condition_source_value": pd.Series([], dtype="object"),
                "condition_start_date": pd.Series([], dtype="datetime64[ns]"),
            }
        ),
    }
    est = sccs(_con(empty), 11, 99)
    assert est.cases == 0 and math.isnan(est.irr) and est.note
    assert screen(_con(empty), SignalSettings()).empty
