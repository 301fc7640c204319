"""Calibration: logistic recalibration slope and intercept, binned curves and the plot.

A model is well calibrated when, among rows given risk p, a share p has the outcome. The
calibration slope b of ``logit P(y=1) = a + b * logit(p)`` is 1 for a model that is neither
over- (b < 1) nor under-fitted (b > 1); the calibration intercept ("calibration-in-the-large")
a of ``logit P(y=1) = a + offset(logit(p))`` is 0 when the mean risk is right.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> p = rng.uniform(0.05, 0.95, 20000); y = rng.random(20000) < p
>>> abs(calibration_slope_intercept(y, p).slope - 1) < 0.1
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

_EPS = 1e-6


@dataclass(frozen=True)
class Calibration:
    """Logistic recalibration parameters with 95% confidence intervals."""

    slope: float
    slope_lower: float
    slope_upper: float
    intercept: float
    intercept_lower: float
    intercept_upper: float
    observed_rate: float
    mean_predicted: float

    def to_dict(self) -> dict[str, float]:
        """Plain dict for JSON."""
        return asdict(self)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def calibration_slope_intercept(y, p) -> Calibration:
    """Fit the two logistic recalibration models with statsmodels (binomial GLM)."""
    import statsmodels.api as sm

    y = np.asarray(y).astype(float)
    p = np.asarray(p, dtype=float)
    lp = _logit(p)
    nan = float("nan")
    if len(np.unique(y)) < 2 or len(np.unique(lp)) < 2:
        # one class, or identical scores: no slope can be estimated (said on the page)
        return Calibration(nan, nan, nan, nan, nan, nan, float(y.mean()), float(p.mean()))
    try:
        fit = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit()
        slope, (s_lo, s_hi) = float(fit.params[1]), fit.conf_int()[1]
        fit0 = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit()
        icpt, (i_lo, i_hi) = float(fit0.params[0]), fit0.conf_int()[0]
    except (ValueError, np.linalg.LinAlgError):  # perfect separation or constant predictions
        return Calibration(nan, nan, nan, nan, nan, nan, float(y.mean()), float(p.mean()))
    return Calibration(
        slope,
        float(s_lo),
        float(s_hi),
        icpt,
        float(i_lo),
        float(i_hi),
        float(y.mean()),
        float(p.mean()),
    )


def calibration_table(y, p, n_bins: int = 10) -> pd.DataFrame:
    """Observed rate against mean predicted risk in quantile bins of predicted risk."""
    df = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    if df.empty:
        return pd.DataFrame(columns=["bin", "n", "mean_predicted", "observed"])
    df["bin"] = pd.qcut(df["p"].rank(method="first"), q=min(n_bins, len(df)), labels=False)
    out = df.groupby("bin").agg(
        n=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "mean")
    )
    return out.reset_index()


def calibration_figure(curves: Mapping[str, tuple[Any, Any]], n_bins: int = 10) -> Any:
    """Plotly calibration plot: observed against predicted, one line per model, with diagonal."""
    import plotly.graph_objects as go

    fig = go.Figure()
    hi = 0.0
    for name, (y, p) in curves.items():
        t = calibration_table(y, p, n_bins)
        hi = max(hi, float(t["mean_predicted"].max() or 0), float(t["observed"].max() or 0))
        fig.add_trace(
            go.Scatter(
                x=t["mean_predicted"],
                y=t["observed"],
                mode="lines+markers",
                name=name,
                customdata=t["n"],
                hovertemplate="predicted %{x:.3f}<br>observed %{y:.3f}<br>n=%{customdata}",
            )
        )
    hi = min(1.0, hi * 1.05 + 0.01)
    fig.add_trace(
        go.Scatter(
            x=[0, hi],
            y=[0, hi],
            mode="lines",
            name="perfect",
            line={"dash": "dash", "color": "grey"},
        )
    )
    fig.update_layout(
        title="Calibration (deciles of predicted risk)",
        xaxis_title="mean predicted risk",
        yaxis_title="observed rate",
        height=420,
        margin={"t": 50, "b": 40},
    )
    return fig
