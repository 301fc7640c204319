import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.tsa.statespace.sarimax import SARIMAX as SM_SARIMAX

from medmine.errors import ConfigError
from medmine.forecast import ETS, LONG_SEASON, SARIMAX, CountGLM, Series, backtest, fourier
from medmine.forecast.models import LONG_FOURIER
from medmine.studies.operations_forecast import ForecastConfig, adapt_sparse


def _weekly(n=260, seed=0, sd=1.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    truth = 50 + 10 * np.sin(2 * np.pi * t / 52) + 4 * np.cos(4 * np.pi * t / 52)
    return truth + rng.normal(0, sd, n)


def _truth(t):
    return 50 + 10 * np.sin(2 * np.pi * t / 52) + 4 * np.cos(4 * np.pi * t / 52)


def test_fourier_columns_and_full_rank_for_a_week():
    f = fourier(np.arange(14), 7, 3)
    assert f.shape == (14, 6)
    x = np.column_stack([np.ones(14), f])
    assert np.linalg.matrix_rank(x) == 7  # spans every day-of-week pattern
    assert fourier(np.arange(4), 4, 2).shape == (4, 3)  # sin at j = season/2 dropped
    np.testing.assert_allclose(fourier(np.array([13.0]), 52, 1), [[1.0, 0.0]], atol=1e-12)


def test_long_season_sarimax_is_fourier_regression_and_recovers_the_season():
    y = _weekly()
    assert LONG_SEASON < 52
    ours = SARIMAX().fit(y, season=52).predict(8)
    n = len(y)
    ref = SM_SARIMAX(
        y,
        exog=fourier(np.arange(n), 52, LONG_FOURIER),
        order=(1, 0, 1),
        trend="c",
        enforce_stationarity=False,
        enforce_invertibility=False,
    ).fit(disp=False, maxiter=100)
    fc = ref.get_forecast(8, exog=fourier(np.arange(n, n + 8), 52, LONG_FOURIER))
    np.testing.assert_allclose(ours["mean"], fc.predicted_mean, rtol=1e-6)
    truth = _truth(np.arange(n, n + 8))
    assert np.abs(ours["mean"] - truth).max() < 1.5  # noise sd 1
    assert ((ours["lo95"] <= truth) & (truth <= ours["hi95"])).all()


def test_long_season_ets_deseasonalises_and_recovers_the_season():
    y = _weekly(seed=1)
    f = ETS().fit(y, season=52)
    assert f.fourier_beta_ is not None and len(f.fourier_beta_) == 2 * LONG_FOURIER
    np.testing.assert_allclose(f.fourier_beta_[:4], [10, 0, 0, 4], atol=0.5)
    p = f.predict(8)
    truth = _truth(np.arange(len(y), len(y) + 8))
    assert np.abs(p["mean"] - truth).max() < 1.5
    assert (p["lo80"] <= p["mean"]).all() and (p["hi95"] >= p["hi80"]).all()


def test_weekly_backtest_needs_only_a_season_plus_ten():
    y = np.round(_weekly(n=90, seed=2))
    e = backtest(y, season=52, horizon=4, n_origins=3, models=("count_glm", "ets"))
    assert len(e) == 24 and e["scaled_error"].notna().all()
    with pytest.raises(ConfigError, match="backtest needs 74 observations"):
        backtest(y[:70], season=52, horizon=4, n_origins=3, models=("sarimax",))


def test_count_glm_poisson_matches_statsmodels_and_covers():
    rng = np.random.default_rng(3)
    n = 1400
    t = np.arange(n)
    mu = 0.3 * np.exp(0.6 * np.sin(2 * np.pi * t / 7))
    y = rng.poisson(mu).astype(float)
    f = CountGLM().fit(y, season=7)
    assert f.alpha_ == 0.0 and not f.use_trend_  # no trend in the truth: BIC drops it
    ref = sm.GLM(
        y, np.column_stack([np.ones(n), fourier(t, 7, 3)]), family=sm.families.Poisson()
    ).fit()
    np.testing.assert_allclose(f.params_, ref.params, rtol=1e-6)
    p = f.predict(14)
    true_mu = 0.3 * np.exp(0.6 * np.sin(2 * np.pi * np.arange(n, n + 14) / 7))
    # the full day-of-week Fourier basis is saturated: the forecast is each weekday's mean
    day_means = [y[(t % 7) == d].mean() for d in range(7)]
    np.testing.assert_allclose(p["mean"], [day_means[d % 7] for d in range(n, n + 14)], rtol=1e-6)
    np.testing.assert_allclose(p["mean"], true_mu, rtol=0.35)
    # intervals are count quantiles: whole numbers, and they cover fresh draws at >= nominal
    assert (p[["lo80", "hi80", "lo95", "hi95"]] % 1 == 0).all().all()
    fresh = rng.poisson(np.tile(true_mu, (400, 1)))
    cover95 = ((fresh >= p["lo95"].to_numpy()) & (fresh <= p["hi95"].to_numpy())).mean()
    cover80 = ((fresh >= p["lo80"].to_numpy()) & (fresh <= p["hi80"].to_numpy())).mean()
    assert 0.95 <= cover95 <= 1.0 and 0.80 <= cover80 <= 0.99
    pd.testing.assert_frame_equal(p, f.predict(14))  # fixed seed: repeatable


def test_count_glm_overdispersed_counts_use_negative_binomial():
    rng = np.random.default_rng(4)
    n, alpha = 2000, 1.0
    mu = np.full(n, 2.0)
    y = rng.poisson(rng.gamma(1 / alpha, alpha * mu)).astype(float)
    f = CountGLM(trend=False).fit(y, season=7)
    assert f.dispersion_ > 1.2
    assert f.alpha_ == pytest.approx(alpha, abs=0.25)
    p = f.predict(7)
    assert p["hi95"].iloc[0] >= 8  # NB(2, alpha 1): 97.5% quantile is 9, Poisson(2) gives 5


def test_count_glm_bad_and_degenerate_input():
    with pytest.raises(ConfigError, match="whole counts"):
        CountGLM().fit(np.full(30, 0.5), season=7)
    z = CountGLM().fit(np.zeros(30), season=7).predict(3)
    assert (z[["mean", "hi95"]] == 0).all().all()


def _daily(values):
    return Series(
        pd.date_range("2020-01-06", periods=len(values)),
        np.asarray(values, float),
        "daily",
        "admissions",
    )


def test_study_sparse_daily_goes_weekly_or_adds_the_count_model():
    rng = np.random.default_rng(5)
    cfg = ForecastConfig(horizon=14, n_origins=4)
    s, models, h, note = adapt_sparse(_daily(rng.poisson(0.4, 7 * 120)), cfg)
    assert s.freq == "weekly" and h == 2 and "count_glm" in models
    assert "forecast weekly sums" in note
    s, models, h, note = adapt_sparse(_daily(rng.poisson(0.05, 7 * 120)), cfg)
    assert s.freq == "weekly" and models[-1] == "count_glm"  # weekly even if still sparse
    s, models, h, note = adapt_sparse(_daily(rng.poisson(0.4, 7 * 60)), cfg)
    assert s.freq == "daily" and h == 14 and models[-1] == "count_glm"
    assert "kept the daily series: 60 whole weeks, fewer than the 70" in note
    weekly = Series(pd.date_range("2020-01-06", periods=120, freq="7D"), np.ones(120) * 0, "weekly")
    weekly.values[::3] = 1
    s, models, h, note = adapt_sparse(weekly, cfg)
    assert s.freq == "weekly" and models[-1] == "count_glm" and "count model" in note
    s, models, h, note = adapt_sparse(_daily(rng.poisson(5, 7 * 120)), cfg)
    assert note is None and models == cfg.models
    off = ForecastConfig(sparse="off")
    assert adapt_sparse(_daily(rng.poisson(0.4, 7 * 120)), off)[3] is None
    with pytest.raises(ConfigError, match="sparse must be auto or off"):
        adapt_sparse(_daily(np.zeros(30)), ForecastConfig(sparse="yes"))


def test_study_forecasts_a_sparse_admissions_series_weekly_and_says_so(tmp_path):
    import datetime as dt

    from medmine.report.study_pages import write_study
    from medmine.studies import get_study
    from medmine.warehouse import Warehouse

    rng = np.random.default_rng(6)
    with Warehouse(str(tmp_path / "v.duckdb")) as wh:
        wh.con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, "
            "race_concept_id, ethnicity_concept_id) VALUES (1, 0, 1970, 0, 0)"
        )
        day0, rows = dt.date(2022, 1, 3), []
        for d in range(7 * 110):
            for _ in range(rng.poisson(0.3)):
                start = day0 + dt.timedelta(days=d)
                rows.append((len(rows) + 1, start, start + dt.timedelta(days=2)))
        visits = pd.DataFrame(rows, columns=["id", "s", "e"])  # noqa: F841 - read by DuckDB
        wh.con.execute(
            "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, "
            "visit_start_date, visit_end_date, visit_type_concept_id) "
            "SELECT id, 1, 9201, s, e, 0 FROM visits"
        )
        study = get_study("operations_forecast")
        opts = {
            "series": "admissions",
            "n_origins": "3",
            "models": "seasonal_naive",
            "start": "2022-01-03",
            "end": str(day0 + dt.timedelta(days=7 * 110 - 1)),
        }
        r = study.run(wh, study.make_config(opts))
        link = write_study(r, tmp_path / "rep")
        off = study.run(wh, study.make_config({**opts, "sparse": "off"}))
    s = r.series[0]
    assert s.history["date"].diff().dropna().dt.days.eq(7).all() and len(s.history) == 110
    assert set(s.forecasts) == {"seasonal_naive", "count_glm"}
    assert len(s.forecasts["count_glm"]) == 2  # 14 days -> 2 weeks
    assert set(r.backtest_table()["n"]) == {6}
    assert any("forecast weekly sums (2 weeks ahead" in n for n in r.notes)
    assert any("only 6 backtest forecasts per model" in n and "±0.17" in n for n in r.notes)
    page = (tmp_path / "rep" / link.href).read_text(encoding="utf-8")
    assert "forecast weekly sums" in page
    assert len(off.series[0].history) == 7 * 110 and "count_glm" not in off.series[0].forecasts


def test_count_glm_stays_poisson_when_the_nb_fit_fails(monkeypatch):
    from statsmodels.discrete import discrete_model

    def broken(self, *a, **k):
        raise ValueError("need covariance of parameters for computing (unnormalized) covariances")

    monkeypatch.setattr(discrete_model.NegativeBinomial, "fit", broken)
    rng = np.random.default_rng(7)
    y = rng.poisson(rng.gamma(1.0, 2.0, 600)).astype(float)  # overdispersed
    f = CountGLM(trend=False).fit(y, season=52)
    assert f.dispersion_ > 1.2 and f.alpha_ == 0.0
    assert f.predict(3)["mean"].gt(0).all()


def test_study_drops_a_failing_model_not_the_series(monkeypatch):
    from medmine.forecast import models as fm
    from medmine.studies.operations_forecast import forecast_series

    def broken(self):
        raise ValueError("singular")

    monkeypatch.setattr(fm.CountGLM, "_fit", broken)
    rng = np.random.default_rng(8)
    s = Series(pd.date_range("2020-01-06", periods=120), rng.poisson(3, 120).astype(float), "daily")
    r = forecast_series(s, ForecastConfig(n_origins=2, horizon=7), ("seasonal_naive", "count_glm"))
    assert set(r.forecasts) == {"seasonal_naive"} and r.best == "seasonal_naive"
    assert any("count_glm not backtested (singular)" in w for w in r.warnings)


def test_count_glm_drops_a_season_it_cannot_identify():
    # 10 events in 700 days, all on the same weekday: a weekday effect would be -inf elsewhere
    y = np.zeros(700)
    y[np.arange(0, 700, 7)[::10]] = 1
    f = CountGLM().fit(y, season=7)
    assert not f.use_season_ and not f.use_trend_
    assert f.params_[0] == pytest.approx(np.log(y.mean()))
    p = f.predict(7)
    assert np.isfinite(p.to_numpy()).all() and (p["hi95"] <= 1).all()
    np.testing.assert_allclose(p["mean"], y.mean())
