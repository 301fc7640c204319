"""Forecasters with 80% and 95% prediction intervals: seasonal naive, ETS and SARIMAX.

ETS and SARIMAX are statsmodels' state-space models (``ETSModel``, ``SARIMAX``); intervals
come from their predictive distributions. The seasonal-naive baseline is a few lines and
follows Hyndman & Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed., 5.5):
the forecast repeats the last season, with h-step variance ``sigma^2 (k + 1)``, ``k`` the
number of whole seasons before step h, and ``sigma`` the residual sd of the
one-season-back forecasts. Counts cannot be negative: every lower bound is floored at 0.

Every forecaster: ``fit(y, season)`` then ``predict(h)`` -> frame with columns step, mean,
lo80, hi80, lo95, hi95.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod

import numpy as np
import pandas as pd
from scipy import stats

from medmine.errors import ConfigError, NotFittedError

#: Columns of every forecast frame.
FORECAST_COLUMNS = ("step", "mean", "lo80", "hi80", "lo95", "hi95")


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

    def _fit(self) -> None:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        seasonal = "add" if self.seasonal and self.season_ > 1 else None
        model = ETSModel(
            pd.Series(self.y_),  # a Series: statsmodels 0.15 fails on arrays in get_prediction
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
        mean = np.asarray(pred.predicted_mean, dtype=float)
        b80 = pred.summary_frame(alpha=0.2)
        b95 = pred.summary_frame(alpha=0.05)
        return _frame(
            mean,
            {
                "lo80": b80["pi_lower"].to_numpy(),
                "hi80": b80["pi_upper"].to_numpy(),
                "lo95": b95["pi_lower"].to_numpy(),
                "hi95": b95["pi_upper"].to_numpy(),
            },
        )


class SARIMAX(Forecaster):
    """statsmodels ``SARIMAX`` (default ARMA(1,1) x seasonal (0,1,1), a drift-free airline)."""

    name = "sarimax"

    def __init__(
        self,
        order: tuple[int, int, int] = (1, 0, 1),
        seasonal_order: tuple[int, int, int] = (0, 1, 1),
    ) -> None:
        self.order = order
        self.seasonal_order = seasonal_order

    def min_length(self, season: int) -> int:
        """Three seasons plus five observations."""
        return 3 * season + 5

    def _fit(self) -> None:
        from statsmodels.tsa.statespace.sarimax import SARIMAX as _SARIMAX

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
        f = self.fit_.get_forecast(h)
        mean = np.asarray(f.predicted_mean, dtype=float)
        b80 = np.asarray(f.conf_int(alpha=0.2))
        b95 = np.asarray(f.conf_int(alpha=0.05))
        return _frame(
            mean, {"lo80": b80[:, 0], "hi80": b80[:, 1], "lo95": b95[:, 0], "hi95": b95[:, 1]}
        )


#: Forecaster name -> class.
FORECASTERS: dict[str, type[Forecaster]] = {
    "seasonal_naive": SeasonalNaive,
    "ets": ETS,
    "sarimax": SARIMAX,
}


def make_forecaster(name: str) -> Forecaster:
    """A forecaster by name (see `FORECASTERS`)."""
    key = name.lower().replace("-", "_")
    if key not in FORECASTERS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(FORECASTERS)}")
    return FORECASTERS[key]()
