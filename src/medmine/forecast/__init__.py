"""Operations forecasting: admissions, ED visits and bed census from the warehouse or a CSV,
ETS / SARIMAX (statsmodels) and a count GLM for sparse series against a seasonal-naive
baseline with 80% and 95% intervals, rolling-origin backtests (MASE, sMAPE, coverage) and
a staffing view.
"""

from medmine.forecast.backtest import backtest, mase_scale, smape, summarize
from medmine.forecast.models import (
    ETS,
    FORECAST_COLUMNS,
    FORECASTERS,
    LONG_SEASON,
    SARIMAX,
    CountGLM,
    Forecaster,
    SeasonalNaive,
    fourier,
    make_forecaster,
)
from medmine.forecast.series import KINDS, Series, read_series_csv, to_weekly, warehouse_series
from medmine.forecast.staffing import staffing

__all__ = [
    "ETS",
    "FORECASTERS",
    "FORECAST_COLUMNS",
    "KINDS",
    "LONG_SEASON",
    "SARIMAX",
    "CountGLM",
    "Forecaster",
    "SeasonalNaive",
    "Series",
    "backtest",
    "fourier",
    "make_forecaster",
    "mase_scale",
    "read_series_csv",
    "smape",
    "staffing",
    "summarize",
    "to_weekly",
    "warehouse_series",
]
