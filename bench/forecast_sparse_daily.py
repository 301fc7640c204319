"""Sparse daily series: which point forecasts beat seasonal naive on MASE, and why.

    python bench/forecast_sparse_daily.py --warehouse W.duckdb --start 2009-01-01 --end 2018-12-31

Same protocol as ``bench/forecast_backtest.py`` (daily horizon 14, 12 rolling origins 14 days
apart, every model refitted at each origin, MASE scaled by the in-sample seasonal-naive MAE)
on one daily series (default: admissions), with candidates for a series that is mostly zeros:

* ``seasonal_naive``, ``count_glm`` (medmine's forecasters, predictive mean);
* ``weekly_split_glm`` / ``weekly_split_ets``: the weekly total forecast by ``count_glm`` /
  ``ets`` on the whole weeks before the origin (52-week season), spread over the days by
  the training days' day-of-week shares (add-one smoothed);
* ``count_glm_median``: the predictive median of the ``count_glm`` fit (the point forecast
  that minimises expected absolute error, Gneiting 2011, *JASA* 106:746);
* ``zero``: 0 every day.

Writes ``bench/results/forecast_sparse_daily.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import stats

from medmine.forecast import warehouse_series
from medmine.forecast.backtest import mase_scale
from medmine.forecast.models import CountGLM, make_forecaster
from medmine.warehouse import Warehouse


def weekly_split(train: np.ndarray, horizon: int, model: str) -> np.ndarray:
    """Weekly totals forecast by `model`, spread over days by day-of-week shares."""
    nw = len(train) // 7
    weeks = train[len(train) - 7 * nw :].reshape(nw, 7).sum(axis=1)
    n_weeks = -(-horizon // 7)
    wk = make_forecaster(model).fit(weeks, season=52).predict(n_weeks)["mean"].to_numpy()
    pos = np.arange(len(train)) % 7
    share = np.array([train[pos == j].sum() + 1.0 for j in range(7)])
    share /= share.sum()
    days = np.arange(len(train), len(train) + horizon)
    return np.repeat(wk, 7)[:horizon] * share[days % 7]


def glm_median(train: np.ndarray, horizon: int) -> np.ndarray:
    """Median of count_glm's predictive count distribution (plug-in Poisson / NB2)."""
    g = CountGLM().fit(train, season=7)
    m = g.predict(horizon)["mean"].to_numpy()
    if g.alpha_ > 0:
        size = 1 / g.alpha_
        return stats.nbinom.median(size, size / (size + m))
    return stats.poisson.median(m)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--start", default="2009-01-01")
    ap.add_argument("--end", default="2018-12-31")
    ap.add_argument("--series", default="admissions")
    ap.add_argument("--horizon", type=int, default=14)
    ap.add_argument("--origins", type=int, default=12)
    ap.add_argument("--out", default="bench/results/forecast_sparse_daily.json")
    a = ap.parse_args()
    with Warehouse(a.warehouse, read_only=True) as wh:
        y = warehouse_series(wh, a.series, start=a.start, end=a.end).values.astype(float)
    h = a.horizon
    last = len(y) - h
    origins = [last - i * h for i in range(a.origins)][::-1]
    models = {
        "seasonal_naive": lambda tr: (
            make_forecaster("seasonal_naive").fit(tr, season=7).predict(h)["mean"].to_numpy()
        ),
        "count_glm": lambda tr: (
            make_forecaster("count_glm").fit(tr, season=7).predict(h)["mean"].to_numpy()
        ),
        "weekly_split_glm": lambda tr: weekly_split(tr, h, "count_glm"),
        "weekly_split_ets": lambda tr: weekly_split(tr, h, "ets"),
        "count_glm_median": lambda tr: glm_median(tr, h),
        "zero": lambda tr: np.zeros(h),
    }
    err: dict[str, list[np.ndarray]] = {m: [] for m in models}
    scaled: dict[str, list[np.ndarray]] = {m: [] for m in models}
    secs = dict.fromkeys(models, 0.0)
    for o in origins:
        train, actual = y[:o], y[o : o + h]
        scale = mase_scale(train, 7)
        for name, f in models.items():
            t = time.perf_counter()
            fc = np.maximum(np.asarray(f(train), dtype=float), 0.0)
            secs[name] += time.perf_counter() - t
            err[name].append(np.abs(actual - fc))
            scaled[name].append(np.abs(actual - fc) / scale)
    sn_mae = float(np.concatenate(err["seasonal_naive"]).mean())
    rows = []
    for name in models:
        mae = float(np.concatenate(err[name]).mean())
        rows.append(
            {
                "model": name,
                "n": int(sum(len(e) for e in err[name])),
                "mase": round(float(np.concatenate(scaled[name]).mean()), 3),
                "mae": round(mae, 4),
                "mae_vs_seasonal_naive": round(mae / sn_mae, 3),
                "seconds": round(secs[name], 2),
            }
        )
    test = np.concatenate([y[o : o + h] for o in origins])
    info = {
        "series": a.series,
        "days": len(y),
        "mean_per_day": round(float(y.mean()), 4),
        "zero_share": round(float((y == 0).mean()), 3),
        "test_mean_per_day": round(float(test.mean()), 4),
        "test_zero_share": round(float((test == 0).mean()), 3),
    }
    print(json.dumps(info))
    print(f"{'model':<18}{'MASE':>7}{'MAE':>8}{'rel.SN':>8}{'s':>7}")
    for r in rows:
        print(
            f"{r['model']:<18}{r['mase']:>7.3f}{r['mae']:>8.4f}"
            f"{r['mae_vs_seasonal_naive']:>8.3f}{r['seconds']:>7.1f}"
        )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "command": "python bench/forecast_sparse_daily.py "
                + " ".join(
                    f"--{k.replace('_', '-')} {v}"
                    for k, v in vars(a).items()
                    if k not in ("out", "warehouse")
                )
                + " --warehouse W.duckdb",
                "window": [a.start, a.end],
                **info,
                "horizon": h,
                "origins": a.origins,
                "rows": rows,
            },
            indent=1,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
