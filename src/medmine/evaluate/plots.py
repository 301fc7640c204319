"""Plotly figures of model performance: ROC curves, decision curves, SHAP importance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def roc_figure(curves: Mapping[str, tuple[Any, Any]]) -> Any:
    """ROC curves, one per model; the legend carries each AUROC."""
    import plotly.graph_objects as go
    from sklearn.metrics import roc_auc_score, roc_curve

    fig = go.Figure()
    for name, (y, p) in curves.items():
        fpr, tpr, _ = roc_curve(y, p)
        auc = roc_auc_score(y, p)
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"{name} (AUROC {auc:.3f})"))
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": "grey"}
        )
    )
    fig.update_layout(
        title="ROC curve (test set)",
        xaxis_title="1 - specificity",
        yaxis_title="sensitivity",
        height=420,
        margin={"t": 50, "b": 40},
    )
    return fig


def decision_curve_figure(curves: Mapping[str, pd.DataFrame]) -> Any:
    """Decision curves (net benefit by threshold) from `metrics.net_benefit` frames."""
    import plotly.graph_objects as go

    fig = go.Figure()
    first = None
    for name, nb in curves.items():
        first = nb if first is None else first
        fig.add_trace(go.Scatter(x=nb["threshold"], y=nb["model"], mode="lines", name=name))
    if first is not None:
        fig.add_trace(
            go.Scatter(
                x=first["threshold"],
                y=first["treat_all"],
                mode="lines",
                name="treat all",
                line={"dash": "dot", "color": "grey"},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=first["threshold"],
                y=first["treat_none"],
                mode="lines",
                name="treat none",
                line={"dash": "dash", "color": "black"},
            )
        )
        ymax = max(float(np.nanmax([c["model"].max() for c in curves.values()])), 0.01)
        fig.update_yaxes(range=[-0.1 * ymax, ymax * 1.1])
    fig.update_layout(
        title="Decision curve",
        xaxis_title="threshold probability",
        yaxis_title="net benefit",
        height=380,
        margin={"t": 50, "b": 40},
    )
    return fig


def importance_figure(
    importance: pd.DataFrame, title: str, top: int = 15, unit: str = "log-odds"
) -> Any:
    """Horizontal bar chart of mean |SHAP| per covariate (``feature``, ``mean_abs_shap``)."""
    import plotly.graph_objects as go

    t = importance.head(top).iloc[::-1]
    fig = go.Figure(go.Bar(x=t["mean_abs_shap"], y=t["feature"], orientation="h"))
    fig.update_layout(
        title=title,
        xaxis_title=f"mean |SHAP value| ({unit})",
        height=max(300, 24 * len(t) + 100),
        margin={"t": 50, "b": 40, "l": 320},
    )
    return fig
