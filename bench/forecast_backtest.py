"""Rolling-origin backtest of every forecaster on a warehouse's admissions, ED and census.

    python bench/forecast_backtest.py --warehouse W.duckdb --start 2009-01-01 --end 2018-12-31

Daily series (horizon 14 days) and weekly sums (census: weekly mean; horizon 8 weeks), every
model refitted at each origin; prints MASE (scaled by the in-sample seasonal-naive error),
MASE relative to seasonal naive, 80%/95% coverage and seconds per model, and writes
``bench/results/forecast_backtest.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from medmine.forecast import backtest, summarize, to_weekly, warehouse_series
from medmine.warehouse import Warehouse

MODELS = ("seasonal_naive", "ets", "sarimax", "count_glm")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--start", default="2009-01-01")
    ap.add_argument("--end", default="2018-12-31")
    ap.add_argument("--series", default="admissions,ed,census")
    ap.add_argument("--daily-origins", type=int, default=12)
    ap.add_argument("--weekly-origins", type=int, default=12)
    ap.add_argument("--out", default="bench/results/forecast_backtest.json")
    a = ap.parse_args()
    rows = []
    with Warehouse(a.warehouse, read_only=True) as wh:
        daily = {k: warehouse_series(wh, k, start=a.start, end=a.end) for k in a.series.split(",")}
    for name, s in daily.items():
        for freq, ser, horizon, origins in (
            ("daily", s, 14, a.daily_origins),
            ("weekly", to_weekly(s), 8, a.weekly_origins),
        ):
            y = ser.values
            whole = bool(np.all(y == np.round(y)))
            for m in MODELS:
                if m == "count_glm" and not whole:
                    continue  # weekly census is a mean, not a count
                t = time.perf_counter()
                e = backtest(y, season=ser.season, horizon=horizon, n_origins=origins, models=(m,))
                secs = time.perf_counter() - t
                r = summarize(e).iloc[0]
                rows.append(
                    {
                        "series": name,
                        "freq": freq,
                        "model": m,
                        "periods": len(y),
                        "mean_per_period": round(float(y.mean()), 3),
                        "zero_share": round(float((y == 0).mean()), 3),
                        "horizon": horizon,
                        "origins": origins,
                        "n": int(r["n"]),
                        "mase": round(float(r["mase"]), 3),
                        "mae": round(float(r["mae"]), 4),
                        "coverage80": round(float(r["coverage80"]), 3),
                        "coverage95": round(float(r["coverage95"]), 3),
                        "seconds": round(secs, 2),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    for r in rows:
        base = next(
            b
            for b in rows
            if b["series"] == r["series"]
            and b["freq"] == r["freq"]
            and b["model"] == "seasonal_naive"
        )
        r["mae_vs_seasonal_naive"] = round(r["mae"] / base["mae"], 3) if base["mae"] else None
    print(
        f"{'series':<11}{'freq':<7}{'model':<15}{'MASE':>6}{'rel.SN':>8}{'cov80':>7}{'cov95':>7}{'s':>7}"
    )
    for r in rows:
        print(
            f"{r['series']:<11}{r['freq']:<7}{r['model']:<15}{r['mase']:>6.2f}"
            f"{r['mae_vs_seasonal_naive'] or float('nan'):>8.2f}{r['coverage80']:>7.2f}"
            f"{r['coverage95']:>7.2f}{r['seconds']:>7.1f}"
        )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "command": "python bench/forecast_backtest.py "
                + " ".join(
                    f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items() if k != "out"
                ),
                "window": [a.start, a.end],
                "rows": rows,
            },
            indent=1,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
