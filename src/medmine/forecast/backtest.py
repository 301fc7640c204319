"""Rolling-origin backtests: MASE, sMAPE and interval coverage per model and horizon.

For each origin (the last `n_origins` cut points, `step` periods apart) every model is fitted
on the series up to the origin and forecasts `horizon` periods; errors are collected per
step ahead (Tashman 2000, *Int J Forecast* 16:437).

* MASE (Hyndman & Koehler 2006, *Int J Forecast* 22:679): mean absolute error divided by
  the in-sample mean absolute error of the one-season-back naive forecast on the training
  part of that origin; below 1 beats the in-sample seasonal naive.
* sMAPE: ``200 |y - f| / (|y| + |f|)`` in percent (0 when both are 0).
* coverage: share of actual values inside the 80% and 95% intervals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from medmine.errors import ConfigError
from medmine.forecast.models import make_forecaster


def mase_scale(train: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal-naive forecast (NaN when it is 0 or undefined)."""
    if len(train) <= season:
        return float("nan")
    d = np.abs(train[season:] - train[:-season]).mean()
    return float(d) if d > 0 else float("nan")


def smape(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """Symmetric absolute percentage error per point (percent; 0 when both are 0).

    >>> smape(np.array([10.0, 0.0]), np.array([12.0, 0.0])).round(2).tolist()
    [18.18, 0.0]
    """
    den = np.abs(actual) + np.abs(forecast)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 200 * np.abs(actual - forecast) / den, 0.0)


def backtest(
    y: np.ndarray,
    *,
    season: int = 7,
    horizon: int = 14,
    n_origins: int = 8,
    step: int | None = None,
    models: Sequence[str] = ("seasonal_naive", "ets", "sarimax"),
) -> pd.DataFrame:
    """Per-origin, per-step errors of each model: model, origin, step, actual, mean, lo/hi,
    abs_error, scaled_error (for MASE), smape, in80, in95.
    """
    y = np.asarray(y, dtype=float)
    step = step or horizon
    last = len(y) - horizon
    origins = [last - i * step for i in range(n_origins)][::-1]
    need = max(make_forecaster(m).min_length(season) for m in models)
    if not origins or origins[0] < need:
        raise ConfigError(
            f"backtest needs {need + horizon + (n_origins - 1) * step} observations "
            f"for {n_origins} origins of horizon {horizon}; got {len(y)}. Lower n_origins or "
            "horizon."
        )
    rows = []
    for origin in origins:
        train, actual = y[:origin], y[origin : origin + horizon]
        scale = mase_scale(train, season)
        for name in models:
            fc = make_forecaster(name).fit(train, season=season).predict(horizon)
            f = fc["mean"].to_numpy()
            rows.append(
                pd.DataFrame(
                    {
                        "model": name,
                        "origin": origin,
                        "step": fc["step"],
                        "actual": actual,
                        "mean": f,
                        "lo80": fc["lo80"],
                        "hi80": fc["hi80"],
                        "lo95": fc["lo95"],
                        "hi95": fc["hi95"],
                        "abs_error": np.abs(actual - f),
                        "scaled_error": np.abs(actual - f) / scale,
                        "smape": smape(actual, f),
                        "in80": (actual >= fc["lo80"]) & (actual <= fc["hi80"]),
                        "in95": (actual >= fc["lo95"]) & (actual <= fc["hi95"]),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def summarize(errors: pd.DataFrame, by_step: bool = False) -> pd.DataFrame:
    """MASE, sMAPE, MAE and 80%/95% coverage per model (and per step when `by_step`)."""
    keys = ["model", "step"] if by_step else ["model"]
    g = errors.groupby(keys, sort=False)
    out = g.agg(
        mase=("scaled_error", "mean"),
        smape=("smape", "mean"),
        mae=("abs_error", "mean"),
        coverage80=("in80", "mean"),
        coverage95=("in95", "mean"),
        n=("abs_error", "size"),
    ).reset_index()
    return out
