"""Forecasters with 80% and 95% prediction intervals: seasonal naive, ETS, SARIMAX and a
count GLM.

ETS and SARIMAX are statsmodels' state-space models (``ETSModel``, ``SARIMAX``); intervals
come from their predictive distributions. The seasonal-naive baseline is a few lines and
follows Hyndman & Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed., 5.5):
the forecast repeats the last season, with h-step variance ``sigma^2 (k + 1)``, ``k`` the
number of whole seasons before step h, and ``sigma`` the residual sd of the
one-season-back forecasts. Counts cannot be negative: every lower bound is floored at 0.

Long seasons (``season > LONG_SEASON``, e.g. 52 for weekly data) make a seasonal state space
slow (a (0,1,1)_52 SARIMAX over 10 years of weeks did not finish in 15 minutes): there ETS
and SARIMAX model the season with ``LONG_FOURIER`` Fourier pairs instead (Hyndman &
Athanasopoulos 12.1, "dynamic harmonic regression"): SARIMAX takes them as regressors with
an ARMA(1,1) error and a constant; ETS runs non-seasonal on the series minus the Fourier
season fitted by least squares (with a linear trend) and adds that season back.

``count_glm`` is for sparse counts (mean below about 1 per period): a Poisson GLM (negative
binomial when the Pearson dispersion exceeds ``OVERDISPERSED``) with a log-linear trend and
Fourier seasonality; its intervals are quantiles of the predictive count distribution,
simulated with the coefficients drawn from their estimated sampling distribution.

Every forecaster: ``fit(y, season)`` then ``predict(h)`` -> frame with columns step, mean,
lo80, hi80, lo95, hi95.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from medmine.errors import ConfigError, NotFittedError

#: Columns of every forecast frame.
FORECAST_COLUMNS = ("step", "mean", "lo80", "hi80", "lo95", "hi95")
#: Seasons longer than this are modelled with Fourier terms, not seasonal states.
LONG_SEASON = 24
#: Fourier pairs for a long season.
LONG_FOURIER = 4
#: Pearson chi2 / df above which count_glm switches from Poisson to negative binomial.
OVERDISPERSED = 1.2


def fourier(t: np.ndarray, season: int, k: int) -> np.ndarray:
    """Fourier seasonal regressors: sin and cos of ``2 pi j t / season`` for j = 1..k.

    The sine at ``j = season / 2`` is identically 0 and is dropped, so ``k = season // 2``
    spans every seasonal pattern (6 columns for a 7-day week).

    >>> fourier(np.arange(4), 4, 2).round(6).tolist()
    [[0.0, 1.0, 1.0], [1.0, 0.0, -1.0], [0.0, -1.0, 1.0], [-1.0, -0.0, -1.0]]
    """
    if k < 1 or season < 2:
        return np.empty((len(t), 0))
    cols = []
    for j in range(1, min(k, season // 2) + 1):
        x = 2 * np.pi * j * np.asarray(t, dtype=float) / season
        if 2 * j != season:
            cols.append(np.sin(x))
        cols.append(np.cos(x))
    return np.column_stack(cols)


def _check_y(y: np.ndarray, season: int, need: int, owner: str) -> np.ndarray:
    a = np.asarray(y, dtype=float)
    if a.ndim != 1:
        raise ConfigError(f"{owner} takes one series (1-D); got {a.ndim}-D")
    if not np.isfinite(a).all():
        raise ConfigError(f"{owner}: the series has missing or non-finite values")
    if season < 1:
        raise ConfigError(f"The 'season' parameter of {owner} must be >= 1. Got {season}.")
    if len(a) < need:
        raise ConfigError(
            f"{owner} needs at least {need} observations (season {season}); got {len(a)}"
        )
    return a


def _frame(mean: np.ndarray, sd_or_bounds: dict[str, np.ndarray]) -> pd.DataFrame:
    df = pd.DataFrame({"step": np.arange(1, len(mean) + 1), "mean": mean, **sd_or_bounds})
    for c in ("mean", "lo80", "hi80", "lo95", "hi95"):
        df[c] = np.maximum(df[c].to_numpy(dtype=float), 0.0)
    return df[list(FORECAST_COLUMNS)]


class Forecaster(ABC):
    """Base: ``fit(y, season)`` stores the series; ``predict(h)`` gives the forecast frame."""

    name = "forecaster"

    def fit(self, y: np.ndarray, season: int = 7) -> Forecaster:
        """Fit on series `y` with seasonal period `season`."""
        self.y_ = _check_y(y, season, self.min_length(season), type(self).__name__)
        self.season_ = season
        self._fit()
        return self

    def predict(self, h: int) -> pd.DataFrame:
        """Forecast `h` steps ahead with 80% and 95% intervals."""
        if not hasattr(self, "y_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")
        if not isinstance(h, int) or h < 1:
            raise ConfigError(f"horizon must be a positive integer; got {h!r}")
        return self._predict(h)

    def min_length(self, season: int) -> int:
        """Observations needed."""
        return 2 * season

    def _fit(self) -> None:  # noqa: B027 - optional hook, nothing to fit by default
        pass

    @abstractmethod
    def _predict(self, h: int) -> pd.DataFrame:
        """Implemented by each subclass."""


class SeasonalNaive(Forecaster):
    """Repeat the last season; normal intervals with variance growing per whole season.

    >>> f = SeasonalNaive().fit(np.array([1, 2, 3, 1, 2, 3, 1, 2, 3.0]), season=3)
    >>> f.predict(4)["mean"].tolist()
    [1.0, 2.0, 3.0, 1.0]
    """

    name = "seasonal_naive"

    def min_length(self, season: int) -> int:
        """A season plus two observations."""
        return season + 2

    def _fit(self) -> None:
        s = self.season_
        resid = self.y_[s:] - self.y_[:-s]
        self.sigma_ = float(np.sqrt(np.mean(resid**2))) if len(resid) else 0.0

    def _predict(self, h: int) -> pd.DataFrame:
        s = self.season_
        steps = np.arange(1, h + 1)
        last = self.y_[-s:]
        mean = last[(steps - 1) % s]
        k = (steps - 1) // s
        sd = self.sigma_ * np.sqrt(k + 1)
        z80, z95 = stats.norm.ppf(0.9), stats.norm.ppf(0.975)
        return _frame(
            mean,
            {
                "lo80": mean - z80 * sd,
                "hi80": mean + z80 * sd,
                "lo95": mean - z95 * sd,
                "hi95": mean + z95 * sd,
            },
        )


class ETS(Forecaster):
    """statsmodels ``ETSModel``: additive errors, damped additive trend, additive season."""

    name = "ets"

    def __init__(self, trend: bool = True, damped: bool = True, seasonal: bool = True) -> None:
        self.trend = trend
        self.damped = damped
        self.seasonal = seasonal

    def min_length(self, season: int) -> int:
        """Two seasons (a season plus 10 for a long season)."""
        return season + 10 if season > LONG_SEASON else 2 * season

    def _fit(self) -> None:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        seasonal = "add" if self.seasonal and self.season_ > 1 else None
        y = self.y_
        self.fourier_beta_: np.ndarray | None = None
        if seasonal and self.season_ > LONG_SEASON:
            # long season: deseasonalise with a least-squares Fourier season (see module doc)
            n = len(y)
            t = np.arange(n)
            f = fourier(t, self.season_, LONG_FOURIER)
            x = np.column_stack([np.ones(n), t / n, f])
            beta = np.linalg.lstsq(x, y, rcond=None)[0]
            self.fourier_beta_ = beta[2:]
            y = y - f @ self.fourier_beta_
            seasonal = None
        model = ETSModel(
            pd.Series(y),  # a Series: statsmodels 0.15 fails on arrays in get_prediction
            error="add",
            trend="add" if self.trend else None,
            damped_trend=self.damped and self.trend,
            seasonal=seasonal,
            seasonal_periods=self.season_ if seasonal else None,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.fit_ = model.fit(disp=False, maxiter=200)

    def _predict(self, h: int) -> pd.DataFrame:
        n = len(self.y_)
        pred = self.fit_.get_prediction(start=n, end=n + h - 1)
        season = np.zeros(h)
        if self.fourier_beta_ is not None:
            season = fourier(np.arange(n, n + h), self.season_, LONG_FOURIER) @ self.fourier_beta_
        mean = np.asarray(pred.predicted_mean, dtype=float) + season
        b80 = pred.summary_frame(alpha=0.2)
        b95 = pred.summary_frame(alpha=0.05)
        return _frame(
            mean,
            {
                "lo80": b80["pi_lower"].to_numpy() + season,
                "hi80": b80["pi_upper"].to_numpy() + season,
                "lo95": b95["pi_lower"].to_numpy() + season,
                "hi95": b95["pi_upper"].to_numpy() + season,
            },
        )


class SARIMAX(Forecaster):
    """statsmodels ``SARIMAX`` (default ARMA(1,1) x seasonal (0,1,1), a drift-free airline).

    For a season above `LONG_SEASON`: ARMA(1,1) with a constant and `LONG_FOURIER` Fourier
    pairs as regressors (the seasonal order is not used).
    """

    name = "sarimax"

    def __init__(
        self,
        order: tuple[int, int, int] = (1, 0, 1),
        seasonal_order: tuple[int, int, int] = (0, 1, 1),
    ) -> None:
        self.order = order
        self.seasonal_order = seasonal_order

    def min_length(self, season: int) -> int:
        """Three seasons plus five observations (a season plus 10 for a long season)."""
        return season + 10 if season > LONG_SEASON else 3 * season + 5

    def _fit(self) -> None:
        from statsmodels.tsa.statespace.sarimax import SARIMAX as _SARIMAX

        self.long_ = self.season_ > LONG_SEASON
        if self.long_:
            n = len(self.y_)
            model = _SARIMAX(
                self.y_,
                exog=fourier(np.arange(n), self.season_, LONG_FOURIER),
                order=self.order,
                trend="c",
                enforce_stationarity=False,
                enforce_invertibility=False,
            )
        else:
            seas = (*self.seasonal_order, self.season_) if self.season_ > 1 else (0, 0, 0, 0)
            model = _SARIMAX(
                self.y_,
                order=self.order,
                seasonal_order=seas,
                enforce_stationarity=False,
                enforce_invertibility=False,
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.fit_ = model.fit(disp=False, maxiter=100)

    def _predict(self, h: int) -> pd.DataFrame:
        n = len(self.y_)
        exog = fourier(np.arange(n, n + h), self.season_, LONG_FOURIER) if self.long_ else None
        f = self.fit_.get_forecast(h, exog=exog)
        mean = np.asarray(f.predicted_mean, dtype=float)
        b80 = np.asarray(f.conf_int(alpha=0.2))
        b95 = np.asarray(f.conf_int(alpha=0.05))
        return _frame(
            mean, {"lo80": b80[:, 0], "hi80": b80[:, 1], "lo95": b95[:, 0], "hi95": b95[:, 1]}
        )


class CountGLM(Forecaster):
    """Poisson / negative-binomial GLM for sparse counts: log mean = trend + Fourier season.

    ``log mu_t = b0 [+ b1 t / n] [+ Fourier(t, season, k)]`` with ``k = season // 2`` for
    seasons up to `LONG_SEASON` (a full day-of-week effect for daily data) and
    `LONG_FOURIER` pairs above; trend and season are each kept only when they lower the
    Poisson BIC and leave every coefficient identified (standard error below 10): a trend
    fitted to a few dozen events extrapolates wildly, and a weekday without events drives
    its effect to minus infinity. Poisson GLM (statsmodels
    ``GLM``); when the Pearson dispersion exceeds `OVERDISPERSED`, NB2 with alpha by
    maximum likelihood (statsmodels ``NegativeBinomial``; Poisson is kept when that fit
    fails or its Hessian is singular, as with a handful of events). The point forecast is the
    predictive mean; the intervals are the 10/90% and 2.5/97.5% quantiles of `n_sims`
    counts simulated with the coefficients drawn from their asymptotic normal distribution
    (parameter and count uncertainty; fixed seed, so repeatable). They are quantiles of a
    discrete distribution: coverage is at least nominal and can be well above it when most
    counts are 0 or 1, and an upper bound can sit below a mean under 1.
    """

    name = "count_glm"

    def __init__(self, trend: bool = True, n_sims: int = 4000, seed: int = 0) -> None:
        self.trend = trend
        self.n_sims = n_sims
        self.seed = seed

    def min_length(self, season: int) -> int:
        """A season plus ten observations."""
        return season + 10

    def _design(self, t: np.ndarray) -> np.ndarray:
        k = self.season_ // 2 if self.season_ <= LONG_SEASON else LONG_FOURIER
        cols = [np.ones(len(t))]
        if getattr(self, "use_trend_", False):
            cols.append(t / len(self.y_))
        if getattr(self, "use_season_", True):
            cols.append(fourier(t, self.season_, k))
        return np.column_stack(cols)

    def _fit(self) -> None:
        import statsmodels.api as sm
        from statsmodels.discrete.discrete_model import NegativeBinomial

        if np.any(self.y_ != np.round(self.y_)):
            raise ConfigError("count_glm takes whole counts; the series has fractional values")
        self.alpha_ = 0.0
        self.use_trend_, self.use_season_ = False, False
        if self.y_.sum() == 0:  # nothing ever happened: forecast 0 with 0-width intervals
            self.params_, self.cov_ = None, None
            return
        t = np.arange(len(self.y_))
        best: tuple[float, Any, bool, bool] | None = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # trend and season each kept only when they lower the BIC: a few dozen events
            # cannot carry them (a weekday without events even drives its effect to -inf)
            for trend in (False, True) if self.trend else (False,):
                for season in (False, True):
                    self.use_trend_, self.use_season_ = trend, season
                    x = self._design(t)
                    try:
                        res = sm.GLM(self.y_, x, family=sm.families.Poisson()).fit()
                        se = np.sqrt(np.diag(np.asarray(res.cov_params())))
                    except (ValueError, np.linalg.LinAlgError):
                        continue
                    if not (np.all(np.isfinite(se)) and se.max() < 10):
                        continue  # (quasi-)separation: coefficients not identified
                    bic = -2 * res.llf + x.shape[1] * np.log(len(t))
                    if best is None or bic < best[0]:
                        best = (bic, res, trend, season)
            if best is None:  # cannot happen for the intercept-only model with events
                raise ConfigError("count_glm: no Poisson model could be fitted")
            _, pois, self.use_trend_, self.use_season_ = best
            x = self._design(t)
            self.dispersion_ = float(pois.pearson_chi2 / max(pois.df_resid, 1))
            params, cov = pois.params, pois.cov_params()
            if self.dispersion_ > OVERDISPERSED:
                try:
                    nb = NegativeBinomial(self.y_, x, loglike_method="nb2").fit(
                        start_params=np.append(params, 0.5), disp=False, maxiter=200
                    )
                    nb_cov = np.asarray(nb.cov_params())
                except (ValueError, np.linalg.LinAlgError):
                    nb = None  # singular Hessian (a handful of events): stay Poisson
                if nb is not None and np.all(np.isfinite(nb.params)) and nb.params[-1] > 0:
                    params, cov = nb.params[:-1], nb_cov[:-1, :-1]
                    self.alpha_ = float(nb.params[-1])
        self.params_ = np.asarray(params, dtype=float)
        cov = np.asarray(cov, dtype=float)
        self.cov_ = cov if np.all(np.isfinite(cov)) else np.zeros_like(cov)

    def _predict(self, h: int) -> pd.DataFrame:
        if self.params_ is None:
            z = np.zeros(h)
            return _frame(z, {"lo80": z, "hi80": z, "lo95": z, "hi95": z})
        n = len(self.y_)
        x = self._design(np.arange(n, n + h))
        mean = np.exp(x @ self.params_)
        rng = np.random.default_rng(self.seed)
        betas = rng.multivariate_normal(self.params_, self.cov_, self.n_sims, method="eigh")
        mu = np.exp(np.clip(betas @ x.T, -50, np.log(1e7)))  # n_sims x h; keeps Poisson finite
        if self.alpha_ > 0:  # NB2 as a gamma-Poisson mixture with variance mu + alpha mu^2
            mu = rng.gamma(1 / self.alpha_, self.alpha_ * mu)
        sims = rng.poisson(mu)
        q = np.quantile(sims, [0.1, 0.9, 0.025, 0.975], axis=0, method="inverted_cdf")
        return _frame(mean, {"lo80": q[0], "hi80": q[1], "lo95": q[2], "hi95": q[3]})


#: Forecaster name -> class.
FORECASTERS: dict[str, type[Forecaster]] = {
    "seasonal_naive": SeasonalNaive,
    "ets": ETS,
    "sarimax": SARIMAX,
    "count_glm": CountGLM,
}


def make_forecaster(name: str) -> Forecaster:
    """A forecaster by name (see `FORECASTERS`)."""
    key = name.lower().replace("-", "_")
    if key not in FORECASTERS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(FORECASTERS)}")
    return FORECASTERS[key]()
