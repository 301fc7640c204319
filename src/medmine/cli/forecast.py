"""`medmine forecast SERIES.csv|census|admissions|ed|visits`: forecasts with 80%/95% intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medmine.cli._common import WarehouseOpt, console, existing_warehouse, friendly_errors
from medmine.errors import ConfigError


@friendly_errors
def forecast(
    target: Annotated[
        str,
        typer.Argument(
            help="A CSV (date plus value or count) or a warehouse series: census, admissions, "
            "ed, visits."
        ),
    ],
    horizon: Annotated[int, typer.Option("--horizon", "-h", help="Periods ahead.")] = 14,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="ets, sarimax, seasonal_naive, count_glm (sparse counts) or best (backtest).",
        ),
    ] = "ets",
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output CSV: date,mean,lo80,hi80,lo95,hi95.")
    ] = Path("forecast.csv"),
    warehouse: WarehouseOpt = None,
    start: Annotated[str | None, typer.Option("--start", help="First date of history.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last date of history.")] = None,
    ratio: Annotated[
        float, typer.Option("--ratio", help="Patients per nurse (census staffing columns).")
    ] = 4.0,
) -> None:
    """Forecast a series HORIZON periods ahead with 80% and 95% prediction intervals."""
    import pandas as pd

    from medmine.forecast import (
        KINDS,
        backtest,
        make_forecaster,
        read_series_csv,
        staffing,
        summarize,
        warehouse_series,
    )

    path = Path(target)
    if path.suffix.lower() == ".csv" or path.exists():
        series = read_series_csv(path)
    elif target in KINDS:
        from medmine.warehouse import Warehouse

        with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
            if not (start or end):
                last = wh.con.execute("SELECT max(visit_start_date) FROM visit_occurrence")
                end_ts = pd.Timestamp(last.fetchone()[0])
                start = str((end_ts - pd.DateOffset(years=3)).date())
            series = warehouse_series(wh, target, start=start, end=end)
    else:
        raise ConfigError(
            f"{target!r} is neither a CSV file nor a warehouse series ({', '.join(KINDS)})"
        )
    if horizon < 1:
        raise ConfigError(f"--horizon must be a positive integer; got {horizon}")
    name = model
    if model == "best":
        errs = backtest(series.values, season=series.season, horizon=horizon, n_origins=4)
        name = str(summarize(errs).sort_values("mase").iloc[0]["model"])
        console.print(f"best model by backtest MASE: {name}")
    fc = make_forecaster(name).fit(series.values, season=series.season).predict(horizon)
    fc.insert(0, "date", series.future_dates(horizon).date.astype(str))
    fc = fc.drop(columns="step")
    if series.name == "census":
        fc = staffing(fc, ratio)
    out.parent.mkdir(parents=True, exist_ok=True)
    fc.round(3).to_csv(out, index=False)
    mean = float(series.values.mean())
    console.print(
        f"{series.name}: {len(series.values)} {series.freq} periods (mean {mean:.2f}); "
        f"{name} forecast of {horizon} periods written to {out}"
    )
    if mean < 1 or (series.values == 0).mean() > 0.5:
        console.print(
            "  [yellow]warning:[/yellow] the series is sparse (mean below 1 or mostly zeros); "
            "the intervals are wide relative to the counts and the point forecast is near 0",
            soft_wrap=True,
        )
