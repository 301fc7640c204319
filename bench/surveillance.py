"""Benchmark: every detector over 10,000 area series of 10 years of weekly counts.

Series are drawn from the Noufaily et al. (2013) negative-binomial model (scenario mix) so
counts look like surveillance data. Each method is fitted on the baseline it needs and
monitors every later week, except Farrington flexible, which refits a GLM per series and
week: it monitors the last 52 weeks (one year of weekly runs); its cost per monitored week
is reported so a longer window can be extrapolated. The reference for Farrington's per-fit
cost is statsmodels' GLM (one series at a time), timed on a sample of fits in the same run.

Usage: ``python bench/surveillance.py [--series 10000] [--weeks 520]``; writes
``bench/results/surveillance.json``. OpenBLAS is pinned to one thread: the batched fits are
many small matrix products, which threads slow down on 2 shared cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from medmine.surveillance import make_detector  # noqa: E402
from medmine.surveillance.simulate import SCENARIOS, nb_counts  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "surveillance.json"
METHODS = ("ears-c1", "ears-c2", "ears-c3", "nbcusum", "glr-poisson", "glr", "farrington")


def make_series(n: int, weeks: int, seed: int = 0) -> np.ndarray:
    """`n` weekly series cycling through the simulation scenarios."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, weeks + 1)
    out = np.empty((n, weeks))
    for i in range(n):
        sc = SCENARIOS[i % len(SCENARIOS)]
        out[i] = nb_counts(rng, sc.mean(t), sc.phi)
    return out


def _chunk(args: tuple[str, np.ndarray]) -> tuple[float, float, float]:
    """Fit and monitor one chunk of series: (cpu seconds, alarm sum, peak MB)."""
    method, y = args
    params = {"compute_threshold": False} if method.startswith("glr") else {}
    det = make_detector(method, **params)
    start = y.shape[1] - 52 if method == "farrington" else det.min_baseline(52)
    tracemalloc.start()
    c0 = time.process_time()
    det.fit(y[:, :start], period=52)
    res = det.detect(y[:, start:])
    cpu = time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return cpu, float(res.alarm.sum()), peak


def run_parallel(method: str, y: np.ndarray, jobs: int) -> dict:
    """The same as `run_method`, with the series split over `jobs` processes."""
    from concurrent.futures import ProcessPoolExecutor

    chunks = [(method, c) for c in np.array_split(y, jobs)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(jobs) as ex:
        out = list(ex.map(_chunk, chunks))
    secs = time.perf_counter() - t0
    det = make_detector(method)
    start = y.shape[1] - 52 if method == "farrington" else det.min_baseline(52)
    monitored = y.shape[1] - start
    return {
        "method": method,
        "seconds": round(secs, 2),
        "cpu_seconds": round(sum(o[0] for o in out), 2),
        "weeks_monitored": monitored,
        "series_weeks_per_second": round(y.shape[0] * monitored / secs),
        "peak_memory_mb": round(sum(o[2] for o in out), 1),
        "alarm_rate": round(sum(o[1] for o in out) / (y.shape[0] * monitored), 5),
    }


def run_method(method: str, y: np.ndarray) -> dict:
    params = {"compute_threshold": False} if method.startswith("glr") else {}
    det = make_detector(method, **params)
    need = det.min_baseline(52)
    start = y.shape[1] - 52 if method == "farrington" else need
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    det.fit(y[:, :start], period=52)
    res = det.detect(y[:, start:])
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    monitored = y.shape[1] - start
    return {
        "method": method,
        "seconds": round(secs, 2),
        "cpu_seconds": round(cpu, 2),
        "weeks_monitored": monitored,
        "series_weeks_per_second": round(y.shape[0] * monitored / secs),
        "peak_memory_mb": round(peak / 2**20, 1),
        "alarm_rate": round(float(res.alarm.mean()), 5),
    }


def statsmodels_reference(y: np.ndarray, n_fits: int = 200) -> dict:
    """Per-fit time of one quasi-Poisson GLM in statsmodels (Farrington's inner model)."""
    import statsmodels.api as sm

    det = make_detector("farrington").fit(y[:1, : y.shape[1] - 1], period=52)
    X = det.X_trend_
    t0 = time.perf_counter()
    for i in range(n_fits):
        yy = y[i % y.shape[0], y.shape[1] - 1 - det.lags_]
        sm.GLM(yy, X, family=sm.families.Poisson()).fit()
    per_fit = (time.perf_counter() - t0) / n_fits
    return {"statsmodels_glm_seconds_per_fit": round(per_fit, 5)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--weeks", type=int, default=520)
    ap.add_argument("--jobs", type=int, default=1, help="processes (series split between them)")
    args = ap.parse_args()
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    y = make_series(args.series, args.weeks)
    gen = time.perf_counter() - t0
    rows = []
    for m in METHODS:
        r = run_method(m, y) if args.jobs == 1 else run_parallel(m, y, args.jobs)
        rows.append(r)
        print(
            f"{m:12s} {r['seconds']:8.2f} s (cpu {r['cpu_seconds']:6.2f})  "
            f"{r['weeks_monitored']:4d} weeks  "
            f"{r['series_weeks_per_second']:>10,} series-weeks/s  "
            f"peak {r['peak_memory_mb']:7.1f} MB  alarm rate {r['alarm_rate']}"
        )
    total = sum(r["seconds"] for r in rows)
    total_cpu = sum(r["cpu_seconds"] for r in rows)
    ref = statsmodels_reference(y)
    far = next(r for r in rows if r["method"] == "farrington")
    # Farrington fits 4 GLMs (2 models x 2 passes) per series and week
    fits = args.series * far["weeks_monitored"] * 4
    ref["statsmodels_extrapolated_seconds_for_farrington"] = round(
        fits * ref["statsmodels_glm_seconds_per_fit"]
    )
    ref["medmine_batched_seconds_per_fit"] = round(far["seconds"] / fits, 7)
    for r in rows:
        r["series_per_second"] = round(args.series / r["seconds"])
        r["series_per_cpu_second"] = round(args.series / max(r["cpu_seconds"], 1e-9))
    print(f"load average before {load_before}, after {os.getloadavg()}")
    print(
        f"total {total:.1f} s wall, {total_cpu:.1f} s CPU, {args.series:,} series x "
        f"{args.weeks} weeks "
        f"(simulation {gen:.1f} s)"
    )
    print(
        f"statsmodels GLM {ref['statsmodels_glm_seconds_per_fit'] * 1e3:.2f} ms per fit: "
        f"Farrington's {fits:,} fits would take "
        f"{ref['statsmodels_extrapolated_seconds_for_farrington']:,} s"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "surveillance detectors",
                "series": args.series,
                "weeks": args.weeks,
                "jobs": args.jobs,
                "methods": rows,
                "total_seconds": round(total, 1),
                "total_cpu_seconds": round(total_cpu, 1),
                "goal_seconds": 60,
                "reference": ref,
                "machine": {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    # a shared machine: wall times stretch with the load, CPU seconds less so
                    "load_average_1_5_15_before": [round(x, 2) for x in load_before],
                    "load_average_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
                },
                "note": (
                    "Farrington monitors the last 52 weeks; the others every week after their "
                    "baseline (EARS 7-9 weeks, CUSUM/GLR 104 weeks). GLR without the per-week "
                    "threshold search (alarms and statistic only)."
                ),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
