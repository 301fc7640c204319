"""Page of the operations forecasting study: forecast fans with 80%/95% intervals, backtest
tables (MASE, sMAPE, coverage) overall and per horizon, and the staffing view of the census.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from medmine.report.figures import figure_html
from medmine.report.html import Section
from medmine.report.tables import table_html
from medmine.studies.operations_forecast import ForecastResult, SeriesForecast

#: Nominal coverage band for 95% intervals judged adequate (the issue's goal).
COVER95_OK = (0.93, 0.97)


def _fan(s: SeriesForecast, history: int = 84) -> str:
    import plotly.graph_objects as go

    if not s.best:
        return ""
    h = s.history.tail(history)
    f = s.forecasts[s.best]
    fig = go.Figure()
    fig.add_scatter(
        x=h["date"], y=h["value"], name="observed", mode="lines", line={"color": "#1f77b4"}
    )
    for lo, hi, name, alpha in (
        ("lo95", "hi95", "95% interval", 0.15),
        ("lo80", "hi80", "80% interval", 0.3),
    ):
        fig.add_scatter(
            x=f["date"],
            y=f[hi],
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=f["date"],
            y=f[lo],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=f"rgba(214,39,40,{alpha})",
            name=name,
        )
    fig.add_scatter(
        x=f["date"], y=f["mean"], name=f"{s.best} forecast", mode="lines", line={"color": "#d62728"}
    )
    for m, g in s.forecasts.items():
        if m != s.best:
            fig.add_scatter(x=g["date"], y=g["mean"], name=m, mode="lines", line={"dash": "dot"})
    fig.update_layout(
        title=f"{s.name}: last {len(h)} periods and {len(f)}-period forecast", height=380
    )
    return figure_html(fig)


def _horizon_fig(by_step: pd.DataFrame, name: str) -> str:
    import plotly.express as px

    if by_step.empty:
        return ""
    fig = px.line(
        by_step,
        x="step",
        y="coverage95",
        color="model",
        markers=True,
        height=320,
        title=f"{name}: 95% interval coverage by horizon (backtest)",
    )
    fig.add_hline(y=0.95, line_dash="dot")
    return figure_html(fig)


def _checks(bt: pd.DataFrame) -> list[str]:
    out = []
    for series, g in bt.groupby("series", sort=False):
        base = g[g["model"] == "seasonal_naive"]["mase"]
        for r in g.itertuples():
            if not COVER95_OK[0] <= r.coverage95 <= COVER95_OK[1]:
                out.append(
                    f"{series}/{r.model}: 95% coverage {r.coverage95:.0%} outside "
                    f"{COVER95_OK[0]:.0%}-{COVER95_OK[1]:.0%} over {r.n} forecasts"
                )
        if len(base):
            better = g[(g["model"] != "seasonal_naive") & (g["mase"] < float(base.iloc[0]))]
            if better.empty:
                out.append(f"{series}: no model beats seasonal naive on MASE")
    return out


def forecast_sections(result: ForecastResult) -> dict[str, Any]:
    """Template arguments: KPIs, per-series fan, backtests and staffing."""
    cfg = result.config
    bt = result.backtest_table()
    hz = result.horizon_table()
    kpis: list[tuple[str, Any]] = [
        ("series", len(result.series)),
        ("persons", result.n_persons),
        ("excluded by consent", result.n_excluded),
    ]
    for s in result.series:
        if s.best:
            row = bt[(bt["series"] == s.name) & (bt["model"] == s.best)].iloc[0]
            kpis.append((f"{s.name} best (MASE)", f"{s.best} ({row['mase']:.2f})"))
    checks = _checks(bt) if len(bt) else []
    sections = []
    if checks:
        sections.append(Section("Read with care", text=" · ".join(checks)))
    sections.append(
        Section(
            "Backtest",
            table_html(bt.round(3).to_dict("records"), name="backtest"),
            text=(
                f"Rolling origin: {cfg.n_origins if cfg else ''} origins, horizon "
                f"{cfg.horizon if cfg else ''} periods; each model refitted at each origin. MASE "
                "scales the mean absolute error by the in-sample seasonal-naive error (below 1: "
                "better than repeating last week); sMAPE in percent; coverage = share of actual "
                "values inside the 80% and 95% intervals."
            ),
        )
    )
    for s in result.series:
        text = "; ".join(s.warnings)
        html = _fan(s) + _horizon_fig(hz[hz["series"] == s.name], s.name) if s.best else ""
        sections.append(Section(s.name, html, text=text, level=3))
        if s.staffing is not None:
            cols = ["date", "mean", "hi80", "hi95", "nurses_mean", "nurses_hi80", "nurses_hi95"]
            st = s.staffing[cols].assign(date=s.staffing["date"].dt.date.astype(str)).round(2)
            sections.append(
                Section(
                    "Staffing view",
                    table_html(st.to_dict("records"), name="staffing"),
                    text=(
                        f"Nurses = ceil(census / {cfg.patients_per_nurse if cfg else 4:g} patients "
                        "per nurse), at the forecast mean and at the upper 80% and 95% bounds."
                    ),
                    level=3,
                )
            )
    sections.append(
        Section(
            "Backtest by horizon",
            table_html(hz.round(3).to_dict("records"), name="by_horizon"),
            level=3,
            details=True,
        )
    )
    return {"kpis": kpis, "sections": sections, "subtitle": result.summary()}
