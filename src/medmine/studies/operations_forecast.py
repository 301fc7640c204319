"""Operations forecasting study: daily admissions, ED visits and midnight census from
``visit_occurrence``; ETS and SARIMAX against seasonal naive with 80%/95% intervals; a
rolling-origin backtest (MASE, sMAPE, coverage per horizon) and a staffing view of the census.

Sparse series (``sparse=auto``, the default): when a daily series averages below
`SPARSE_MEAN` per day, the study adds the ``count_glm`` forecaster (Poisson/NB GLM with
count-distribution intervals) and, when the history is long enough for a weekly backtest
(a season plus 10 weeks before the first origin), forecasts weekly sums instead (horizon
in weeks = ceil(horizon / 7)); the page says which was done.
``sparse=off`` keeps the series as asked.
Weekly series use Fourier seasonality in ETS/SARIMAX (see `medmine.forecast.models`).

Consent: persons selected for purpose ``quality_improvement`` (hospital operations, FHIR
``HOPERAT``); None counts every visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from medmine.errors import ConfigError
from medmine.features.persons import select_persons
from medmine.forecast.backtest import backtest, summarize
from medmine.forecast.models import make_forecaster
from medmine.forecast.series import Series, to_weekly, warehouse_series
from medmine.forecast.staffing import staffing
from medmine.studies.contract import FunctionStudy, StudyResult

#: Below this mean per period a series is too sparse for the intervals to mean much.
SPARSE_MEAN = 1.0
#: Fewer backtest forecasts per model than this: coverage and MASE are flagged as noisy.
FEW_FORECASTS = 50


@dataclass
class ForecastConfig:
    """Settings of the operations forecasting study."""

    series: tuple[str, ...] = ("admissions", "ed", "visits", "census")
    freq: str = "daily"
    start: str | None = None
    end: str | None = None
    years: int = 3
    horizon: int = 14
    n_origins: int = 8
    models: tuple[str, ...] = ("seasonal_naive", "ets", "sarimax")
    patients_per_nurse: float = 4.0
    purpose: str | None = "quality_improvement"
    sparse: str = "auto"


@dataclass(kw_only=True)
class SeriesForecast:
    """One series: history, future forecasts per model, backtest errors and warnings."""

    name: str
    history: pd.DataFrame
    forecasts: dict[str, pd.DataFrame] = field(default_factory=dict)
    errors: pd.DataFrame | None = None
    best: str = ""
    warnings: list[str] = field(default_factory=list)
    staffing: pd.DataFrame | None = None


@dataclass(kw_only=True)
class ForecastResult(StudyResult):
    """Per series forecasts and backtests."""

    series: list[SeriesForecast] = field(default_factory=list)
    n_persons: int = 0
    n_excluded: int = 0

    def backtest_table(self) -> pd.DataFrame:
        """MASE, sMAPE, MAE and coverage per series and model."""
        rows = []
        for s in self.series:
            if s.errors is not None:
                rows.append(summarize(s.errors).assign(series=s.name))
        if not rows:
            return pd.DataFrame()
        out = pd.concat(rows, ignore_index=True)
        return out[["series", *[c for c in out.columns if c != "series"]]]

    def horizon_table(self) -> pd.DataFrame:
        """The same per step ahead."""
        rows = [
            summarize(s.errors, by_step=True).assign(series=s.name)
            for s in self.series
            if s.errors is not None
        ]
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def summary(self) -> str:
        """Best model, its MASE and 95% coverage per series."""
        bt = self.backtest_table()
        parts = []
        for s in self.series:
            if not s.best:
                parts.append(f"{s.name}: not forecast")
                continue
            row = bt[(bt["series"] == s.name) & (bt["model"] == s.best)].iloc[0]
            parts.append(
                f"{s.name}: {s.best} MASE {row['mase']:.2f}, 95% cover {row['coverage95']:.0%}"
            )
        return "; ".join(parts)

    def key_figures(self) -> dict[str, Any]:
        """Consent counts, backtest figures and the best model per series."""
        bt = self.backtest_table()
        return {
            "n_persons": self.n_persons,
            "n_excluded": self.n_excluded,
            "backtest": bt.round(4).to_dict("records") if len(bt) else [],
            "best": {s.name: s.best for s in self.series},
        }

    def output_tables(self) -> dict[str, pd.DataFrame]:
        """Backtests (overall and per horizon), forecasts and staffing."""
        tabs: dict[str, pd.DataFrame] = {
            "backtest": self.backtest_table(),
            "backtest_by_horizon": self.horizon_table(),
        }
        fc = [f.assign(series=s.name, model=m) for s in self.series for m, f in s.forecasts.items()]
        if fc:
            tabs["forecasts"] = pd.concat(fc, ignore_index=True)
        st = [s.staffing.assign(series=s.name) for s in self.series if s.staffing is not None]
        if st:
            tabs["staffing"] = pd.concat(st, ignore_index=True)
        return tabs


def _series_warnings(s: Series) -> list[str]:
    out = []
    mean, zeros = float(s.values.mean()), float((s.values == 0).mean())
    if mean < SPARSE_MEAN or zeros > 0.5:
        out.append(
            f"{s.name}: mean {mean:.2f} per {s.freq[:-2] if s.freq != 'daily' else 'day'} with "
            f"{zeros:.0%} zero periods; too sparse for a {s.freq} forecast to guide staffing "
            "(errors and coverage are dominated by zeros; scaled errors are unstable)"
        )
    return out


def adapt_sparse(s: Series, cfg: ForecastConfig) -> tuple[Series, tuple[str, ...], int, str | None]:
    """For a sparse series (mean below `SPARSE_MEAN` per period) with ``sparse=auto``: add
    ``count_glm`` (whole counts only) and, for a daily count series, switch to weekly sums
    when the history leaves room for a weekly backtest. Returns the
    series, models, horizon and a note (None when nothing changed).
    """
    models, horizon = tuple(cfg.models), cfg.horizon
    if cfg.sparse not in ("auto", "off"):
        raise ConfigError(f"sparse must be auto or off; got {cfg.sparse!r}")
    mean, unit = float(s.values.mean()), {"daily": "day", "weekly": "week"}.get(s.freq, "month")
    if cfg.sparse == "off" or mean >= SPARSE_MEAN:
        return s, models, horizon, None
    did = []
    if "count_glm" not in models and np.all(s.values == np.round(s.values)):
        models = (*models, "count_glm")
        did.append("added the count model (count_glm)")
    if s.freq == "daily" and s.name != "census":
        w = to_weekly(s)
        h_w = max(1, -(-horizon // 7))
        need = w.season + 10 + h_w * cfg.n_origins
        if len(w.values) >= need:
            s, horizon = w, h_w
            did.append(
                f"forecast weekly sums ({h_w} weeks ahead; mean "
                f"{float(w.values.mean()):.2f} per week)"
            )
        else:
            did.append(
                f"kept the daily series: {len(w.values)} whole weeks, fewer than the {need} "
                "a weekly backtest needs"
            )
    if not did:
        return s, models, horizon, None
    note = f"{s.name}: sparse series (mean {mean:.2f} per {unit}); " + "; ".join(did)
    return s, models, horizon, note


def forecast_series(
    s: Series,
    cfg: ForecastConfig,
    models: tuple[str, ...] | None = None,
    horizon: int | None = None,
) -> SeriesForecast:
    """Backtest every model, forecast ahead with each, staffing for the census."""
    models = tuple(models or cfg.models)
    horizon = horizon or cfg.horizon
    hist = pd.DataFrame({"date": s.dates, "value": s.values})
    out = SeriesForecast(name=s.name, history=hist, warnings=_series_warnings(s))
    parts, kept = [], []
    for m in models:  # one model failing (a singular fit) drops that model, not the series
        try:
            parts.append(
                backtest(
                    s.values,
                    season=s.season,
                    horizon=horizon,
                    n_origins=cfg.n_origins,
                    models=(m,),
                )
            )
            kept.append(m)
        except Exception as exc:  # noqa: BLE001 - a too-short series is reported, not fatal
            out.warnings.append(f"{s.name}: {m} not backtested ({exc})")
    if not parts:
        return out
    models = tuple(kept)
    out.errors = pd.concat(parts, ignore_index=True)
    n = len(parts[0])
    if n < FEW_FORECASTS:
        half = 1.96 * np.sqrt(0.95 * 0.05 / n)
        out.warnings.append(
            f"{s.name}: only {n} backtest forecasts per model; a 95% coverage estimate is "
            f"uncertain by about ±{half:.2f} and MASE is as noisy "
            "(raise n_origins or the history)"
        )
    summ = summarize(out.errors)
    finite = summ[np.isfinite(summ["mase"])]
    pick = finite.sort_values("mase") if len(finite) else summ.sort_values("mae")
    out.best = str(pick.iloc[0]["model"])
    future = s.future_dates(horizon)
    for m in models:
        f = make_forecaster(m).fit(s.values, season=s.season).predict(horizon)
        f.insert(0, "date", future)
        out.forecasts[m] = f
    if s.name == "census":
        out.staffing = staffing(out.forecasts[out.best], cfg.patients_per_nurse)
    return out


def run(wh: Any, cfg: ForecastConfig) -> ForecastResult:
    """Build each series from the warehouse and forecast it."""
    persons = select_persons(wh, cfg.purpose)
    last = wh.con.execute("SELECT max(visit_start_date) FROM visit_occurrence").fetchone()[0]
    end = pd.Timestamp(cfg.end or last)
    start = pd.Timestamp(cfg.start) if cfg.start else end - pd.DateOffset(years=cfg.years)
    results, notes = [], []
    for kind in cfg.series:
        s = warehouse_series(
            wh,
            kind,
            start=str(start.date()),
            end=str(end.date()),
            persons_sql=persons.person_ids_sql,
        )
        if cfg.freq == "weekly":
            s = to_weekly(s)
        s, models, horizon, note = adapt_sparse(s, cfg)
        r = forecast_series(s, cfg, models, horizon)
        if note:
            r.warnings.insert(0, note)
        notes += r.warnings
        results.append(r)
    status = "warn" if any(r.warnings for r in results) else "ok"
    return ForecastResult(
        name="operations_forecast",
        title="Operations forecasting: admissions, ED and census",
        data_source="warehouse",
        status=status,
        notes=notes,
        series=results,
        n_persons=persons.eligible,
        n_excluded=persons.excluded,
    )


STUDY = FunctionStudy(
    "operations_forecast",
    "Operations forecasting: admissions, ED and census",
    ForecastConfig,
    run,
    requires=(("visit_occurrence", "load visits with `medmine ingest ...`"),),
)
