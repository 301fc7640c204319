"""Benchmark cohort building and covariate extraction on simulated populations.

For each size (10^4, 10^5, 10^6 persons) a fresh subprocess simulates the population
(`medmine.synth.simulate`), loads it into a DuckDB warehouse file, builds the 30-day
readmission cohort and extracts the default covariates; it reports the seconds of each stage
and the process's peak RSS. Growth is checked against linear (seconds per 10^4 persons).
There is no reference implementation to compare with in Python (OHDSI FeatureExtraction is R).
Writes ``bench/results/covariates.json`` and prints a table.

Other benchmarks reuse the pipeline with `build`:

>>> wh_path, cohort, matrix = build(10_000)  # doctest: +SKIP

Usage: ``python bench/covariates.py [--sizes 10000 100000 1000000]``
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "covariates.json"
SIZES = (10_000, 100_000, 1_000_000)


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def prepare(n: int, directory: str | Path, *, seed: int = 0, timings: dict | None = None) -> Path:
    """Simulate `n` persons and load them into ``<directory>/sim_<n>.duckdb``; return the path."""
    from medmine.synth import simulate
    from medmine.warehouse import Warehouse

    t = timings if timings is not None else {}
    path = Path(directory) / f"sim_{n}.duckdb"
    path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    pop = simulate(n, seed=seed)
    t["simulate_s"] = time.perf_counter() - t0
    t["warehouse_rows"] = sum(tbl.num_rows for tbl in pop.tables.values())
    with Warehouse(path) as wh:
        t0 = time.perf_counter()
        pop.write_to(wh, provenance=False)
        t["load_s"] = time.perf_counter() - t0
    return path


def features(path: str | Path, *, timings: dict | None = None) -> tuple[Any, Any]:
    """Build the readmission cohort and its default covariates from warehouse `path`."""
    from medmine.features import CovariateSettings, build_cohort, extract_covariates, readmission
    from medmine.warehouse import Warehouse

    t = timings if timings is not None else {}
    with Warehouse(path, read_only=True) as wh:
        t0 = time.perf_counter()
        cohort = build_cohort(wh, readmission())
        t["cohort_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        matrix = extract_covariates(wh, cohort, CovariateSettings())
        t["covariates_s"] = time.perf_counter() - t0
    t["rows"] = len(cohort.frame)
    t["covariates"] = len(matrix.columns)
    t["nnz"] = int(matrix.X.nnz)
    t["outcome_rate"] = round(cohort.outcome_rate, 4)
    return cohort, matrix


def build(
    n: int, directory: str | Path | None = None, *, seed: int = 0, timings: dict | None = None
) -> tuple[Path, Any, Any]:
    """Simulate `n` persons into ``<directory>/sim_<n>.duckdb``; build readmission + covariates.

    Returns ``(warehouse_path, cohort, covariate_matrix)``; the warehouse is closed (reopen it
    with ``Warehouse(path, read_only=True)``). `timings`, when given, receives seconds per stage.
    """
    folder = Path(directory or tempfile.mkdtemp(prefix="mm_bench_cov_"))
    path = prepare(n, folder, seed=seed, timings=timings)
    cohort, matrix = features(path, timings=timings)
    return path, cohort, matrix


def _stage(argv: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *argv], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rounded(t: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if k.endswith("_s") else v for k, v in t.items()}


def _one(n: int) -> dict[str, Any]:
    """Both stages of size `n`, each in its own subprocess (clean peak RSS per stage)."""
    with tempfile.TemporaryDirectory(prefix="mm_bench_cov_") as d:
        prep = _stage(["--prepare", str(n), d])
        feat = _stage(["--features", str(Path(d) / f"sim_{n}.duckdb")])
    return {
        "n_persons": n,
        **{k: v for k, v in prep.items() if k != "peak_rss_mb"},
        "prepare_peak_rss_mb": prep["peak_rss_mb"],
        **{k: v for k, v in feat.items() if k != "peak_rss_mb"},
        "features_peak_rss_mb": feat["peak_rss_mb"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--prepare", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--features", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.prepare or args.features:
        t: dict[str, Any] = {}
        if args.prepare:
            prepare(int(args.prepare[0]), args.prepare[1], timings=t)
        else:
            features(args.features, timings=t)
        t["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        print(json.dumps(_rounded(t)))
        return
    runs = []
    for n in args.sizes:
        runs.append(_one(n))
        print(f"done {n:>9,} persons", file=sys.stderr)
    prev = None
    for r in runs:
        work = r["cohort_s"] + r["covariates_s"]
        r["feature_seconds_per_10k_persons"] = round(work / r["n_persons"] * 1e4, 3)
        if prev is not None:
            # 1.0 = linear; time ratio divided by size ratio, against the previous size.
            scale = r["n_persons"] / prev["n_persons"]
            r["growth_vs_linear"] = round(
                work / (prev["cohort_s"] + prev["covariates_s"]) / scale, 2
            )
        else:
            r["growth_vs_linear"] = None
        prev = r
    growth = [r["growth_vs_linear"] for r in runs if r["growth_vs_linear"] is not None]
    linear = "about linear (<= 1.5x per 10x)" if all(g <= 1.5 for g in growth) else "superlinear"
    result = {
        "benchmark": "cohort build (readmission) + covariate extraction on simulated persons",
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "notes": "per size two subprocesses: prepare (simulate + load, provenance off) and "
        "features (readmission cohort + default covariates from the DuckDB file); peak RSS = "
        "VmHWM of each process; growth_vs_linear = ratio of (cohort + covariate) seconds to the "
        "previous size, divided by the size ratio (1.0 = linear)",
        "growth": linear,
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    head = (
        f"{'persons':>10} {'rows':>9} {'covs':>5} {'nnz':>11} {'sim s':>6} {'load s':>7} "
        f"{'prep MB':>8} {'cohort s':>8} {'covar s':>8} {'feat MB':>8} {'x linear':>8}"
    )
    print(head)
    for r in runs:
        print(
            f"{r['n_persons']:>10,} {r['rows']:>9,} {r['covariates']:>5} {r['nnz']:>11,} "
            f"{r['simulate_s']:>6} {r['load_s']:>7} {r['prepare_peak_rss_mb']:>8} "
            f"{r['cohort_s']:>8} {r['covariates_s']:>8} {r['features_peak_rss_mb']:>8} "
            f"{str(r['growth_vs_linear']):>8}"
        )
    print(f"cohort + covariate time growth: {linear}; wrote {RESULTS}")


if __name__ == "__main__":
    main()
