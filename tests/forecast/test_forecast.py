import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX as SM_SARIMAX

from medmine.errors import ConfigError, NotFittedError
from medmine.forecast import (
    ETS,
    SARIMAX,
    SeasonalNaive,
    backtest,
    mase_scale,
    read_series_csv,
    smape,
    staffing,
    summarize,
    warehouse_series,
)
from medmine.surveillance.series import SeriesError

from ..surveillance.conftest import build_warehouse


def test_seasonal_naive_hand_computed():
    f = SeasonalNaive().fit(np.array([1, 2, 3, 2, 3, 4.0]), season=3).predict(4)
    sd = np.array([1, 1, 1, np.sqrt(2)])  # residuals all 1; variance doubles after a season
    np.testing.assert_allclose(f["mean"], [2, 3, 4, 2])
    np.testing.assert_allclose(f["hi80"], f["mean"] + stats.norm.ppf(0.9) * sd)
    np.testing.assert_allclose(f["lo95"], np.maximum(f["mean"] - stats.norm.ppf(0.975) * sd, 0))


def _seasonal(n=140, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 20 + 5 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1.5, n)


def test_ets_matches_statsmodels():
    y = _seasonal()
    ours = ETS().fit(y, season=7).predict(5)
    ref = ETSModel(
        pd.Series(y),
        error="add",
        trend="add",
        damped_trend=True,
        seasonal="add",
        seasonal_periods=7,
    ).fit(disp=False, maxiter=200)
    pr = ref.get_prediction(start=len(y), end=len(y) + 4)
    np.testing.assert_allclose(ours["mean"], pr.predicted_mean, rtol=1e-6)
    np.testing.assert_allclose(ours["hi95"], pr.summary_frame(alpha=0.05)["pi_upper"], rtol=1e-6)


def test_sarimax_matches_statsmodels():
    y = _seasonal(seed=1)
    ours = SARIMAX().fit(y, season=7).predict(5)
    ref = SM_SARIMAX(
        y,
        order=(1, 0, 1),
        seasonal_order=(0, 1, 1, 7),
        enforce_stationarity=False,
        enforce_invertibility=False,
    ).fit(disp=False, maxiter=100)
    fc = ref.get_forecast(5)
    np.testing.assert_allclose(ours["mean"], fc.predicted_mean, rtol=1e-6)
    np.testing.assert_allclose(ours["lo80"], np.asarray(fc.conf_int(alpha=0.2))[:, 0], rtol=1e-6)


@pytest.mark.parametrize("model", [SeasonalNaive, ETS, SARIMAX])
def test_intervals_are_nested_and_nonnegative(model):
    f = model().fit(_seasonal(seed=2), season=7).predict(10)
    assert (f["lo95"] <= f["lo80"]).all() and (f["lo80"] <= f["mean"]).all()
    assert (f["mean"] <= f["hi80"]).all() and (f["hi80"] <= f["hi95"]).all()
    assert (f["lo95"] >= 0).all()


def test_backtest_coverage_and_mase_on_a_known_process():
    # seasonal pattern + white noise: seasonal naive's intervals are exact for h <= season
    e = backtest(
        _seasonal(n=300, seed=4), season=7, horizon=7, n_origins=16, models=("seasonal_naive",)
    )
    s = summarize(e).iloc[0]
    assert s["n"] == 16 * 7
    assert 0.88 <= s["coverage95"] <= 1.0
    assert 0.70 <= s["coverage80"] <= 0.92
    assert 0.7 < s["mase"] < 1.3  # out-of-sample error ~ the in-sample seasonal-naive error


def test_mase_scale_and_smape_hand_computed():
    assert mase_scale(np.array([1, 2, 4, 3.0]), 1) == pytest.approx((1 + 2 + 1) / 3)
    assert np.isnan(mase_scale(np.array([2, 2, 2.0]), 1))
    assert smape(np.array([10.0]), np.array([12.0]))[0] == pytest.approx(200 * 2 / 22)


def test_backtest_too_short_and_bad_horizon():
    with pytest.raises(ConfigError, match="backtest needs"):
        backtest(np.ones(30), season=7, horizon=14, n_origins=4)
    with pytest.raises(ConfigError, match="horizon"):
        SeasonalNaive().fit(np.ones(20), season=7).predict(0)
    with pytest.raises(NotFittedError):
        ETS().predict(3)
    with pytest.raises(ConfigError, match="at least 26 observations"):
        SARIMAX().fit(np.ones(20), season=7)


def test_staffing_rounds_up_per_bound():
    f = pd.DataFrame({"mean": [8.0, 0.0], "hi80": [8.1, 0.5], "hi95": [12.0, 1.0]})
    s = staffing(f, 4)
    assert s["nurses_mean"].tolist() == [2, 0]
    assert s["nurses_hi80"].tolist() == [3, 1]
    assert s["nurses_hi95"].tolist() == [3, 1]
    with pytest.raises(ConfigError, match="patients per nurse"):
        staffing(f, 0)


def test_warehouse_series_census_admissions_ed(tmp_path):
    with build_warehouse(str(tmp_path / "w.duckdb")) as wh:
        c = warehouse_series(wh, "census", start="2024-01-01", end="2024-01-05")
        a = warehouse_series(wh, "admissions", start="2024-01-01", end="2024-01-05")
        ed = warehouse_series(wh, "ed", start="2024-01-01", end="2024-01-05")
        only1 = warehouse_series(
            wh, "census", start="2024-01-01", end="2024-01-05", persons_sql="SELECT 1 AS person_id"
        )
    assert c.values.tolist() == [1, 1, 2, 1, 0]  # in hospital at midnight: start <= d < end
    assert a.values.tolist() == [1, 0, 1, 0, 0]
    assert ed.values.tolist() == [0, 0, 1, 0, 0]
    assert only1.values.tolist() == [1, 1, 1, 0, 0]


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        ("date,value\n2024-01-01,1\n2024-01-02,-1\n", "line 3: value is negative"),
        ("date,value\n2024-01-01,1\n2024-01-03,1\n2024-01-04,1\n", "missing, first 2024-01-02"),
        ("date,n\n2024-01-01,1\n", "expected columns date and value"),
        ("date,count\n2024-01-01,1\n2024-01-01,2\n", "appears twice"),
    ],
)
def test_bad_series_csv(tmp_path, body, msg):
    p = tmp_path / "s.csv"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(SeriesError, match=msg):
        read_series_csv(p)
