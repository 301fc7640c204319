"""Scale benchmark: DuckDB and Spark local[2] on the same simulated populations.

For each size, the simulator's warehouse is written once as Parquet (``bench/data`` is not
used: a temporary folder), then every stage runs in its own subprocess per engine, so its
time and peak memory (RSS of the process and all its children, the JVM included, sampled
every 0.2 s) are its own:

- ``quality``: the check types in `CHECK_TYPES` (each check one query);
- ``covariates``: readmission cohort (built once on DuckDB) -> covariates on the engine;
- ``rules``: FP-Growth of conditions and drugs per person (medmine's numpy miner on DuckDB's
  transactions; Spark MLlib's FPGrowth on Spark).

Usage: ``python bench/spark_scale.py [--sizes 10000 100000] [--timeout 1800]``; writes
``bench/results/spark_scale.json`` with seconds, peak MB and seconds per million persons.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "spark_scale.json"
CHECK_TYPES = [
    "is_required",
    "is_primary_key",
    "is_foreign_key",
    "start_before_end",
    "after_birth",
    "within_observation_period",
]
STAGES = ("quality", "covariates", "rules")


def _stage(engine: str, stage: str, data: Path) -> dict:
    """Run one stage on one engine (inside the subprocess); returns its figures."""
    import pandas as pd

    from medmine.features.cohorts import build_cohort, readmission
    from medmine.features.covariates import CovariateSettings, extract_covariates
    from medmine.warehouse import Warehouse

    out: dict = {}
    duck = Warehouse(data / "w.duckdb", read_only=True)
    if engine == "spark":
        from medmine.spark import SparkWarehouse, spark_session

        t0 = time.perf_counter()
        session = spark_session("local[2]", driver_memory="4g")
        wh = SparkWarehouse(data / "pq", session)
        out["startup_s"] = time.perf_counter() - t0
    else:
        wh = duck
    t0 = time.perf_counter()
    if stage == "quality":
        from medmine.quality.checks import run_checks

        run = run_checks(wh, types=CHECK_TYPES, store=False, compare=False)
        out["checks"] = len(run.results)
        out["applied"] = sum(r.status != "not_applicable" for r in run.results)
        out["errors"] = sum(r.status == "error" for r in run.results)
    elif stage == "covariates":
        cohort_file = data / "cohort.parquet"
        cohort = type("C", (), {"frame": pd.read_parquet(cohort_file)})()
        t0 = time.perf_counter()
        m = extract_covariates(wh, cohort, CovariateSettings(include_labs=False))
        out["rows"], out["columns"] = m.X.shape
        out["nnz"] = int(m.X.nnz)
        del build_cohort, readmission
    elif stage == "rules":
        if engine == "spark":
            from medmine.spark.rules import spark_fpgrowth

            res = spark_fpgrowth(wh, min_support=0.02, min_confidence=0.5, max_len=3)
            out["itemsets"] = len(res.itemsets)
        else:
            from medmine.mining.rules import clinical_transactions, fpgrowth

            tr = clinical_transactions(wh)
            out["itemsets"] = len(fpgrowth(tr.matrix, min_support=0.02, max_len=3))
    out["seconds"] = time.perf_counter() - t0
    return out


def _measure(cmd: list[str], timeout: float) -> tuple[dict, float]:
    """Run `cmd`; return its JSON output and the peak RSS (MB) of it and its children."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        p = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                rss = p.memory_info().rss + sum(
                    c.memory_info().rss for c in p.children(recursive=True)
                )
                peak = max(peak, rss / 1e6)
            except psutil.Error:
                pass
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        done.set()
        return {"error": f"timeout after {timeout:.0f} s"}, peak
    done.set()
    th.join()
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit code {proc.returncode}"}, peak
    return json.loads(lines[-1]), peak


def _prepare(n: int, folder: Path) -> dict:
    """Simulate `n` persons into DuckDB, export Parquet, build the readmission cohort once."""
    from medmine.features.cohorts import build_cohort, readmission
    from medmine.synth.population import simulate
    from medmine.warehouse import Warehouse

    t0 = time.perf_counter()
    with Warehouse(folder / "w.duckdb") as wh:
        simulate(n, seed=7).write_to(wh, provenance=False)
        wh.export_parquet(folder / "pq")
        cohort = build_cohort(wh, readmission())
        cohort.frame[["row_id", "person_id", "index_date"]].to_parquet(folder / "cohort.parquet")
        counts = wh.counts()
    return {
        "simulate_and_export_s": time.perf_counter() - t0,
        "rows": {k: v for k, v in counts.items() if v and not k.startswith("mm_")},
        "cohort_rows": len(cohort.frame),
    }


def main() -> None:
    """Run every size and engine; print and write the results."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--stage", nargs=3, help=argparse.SUPPRESS)  # engine stage folder
    args = ap.parse_args()
    if args.stage:
        engine, stage, folder = args.stage
        print(json.dumps(_stage(engine, stage, Path(folder))))
        return
    results = {
        "machine": {
            "cpus": psutil.cpu_count(),
            "ram_gb": round(psutil.virtual_memory().total / 1e9),
        },
        "load_average_at_start": list(psutil.getloadavg()),
        "check_types": CHECK_TYPES,
        "sizes": {},
    }
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="medmine-spark-scale-") as tmp:
            folder = Path(tmp)
            prep = _prepare(n, folder)
            print(
                f"{n:>10,} persons: prepared in {prep['simulate_and_export_s']:.0f} s", flush=True
            )
            entry: dict = {"prepare": prep, "stages": {}}
            for stage in STAGES:
                for engine in args.engines:
                    cmd = [sys.executable, __file__, "--stage", engine, stage, str(folder)]
                    t0 = time.perf_counter()
                    got, peak = _measure(cmd, args.timeout)
                    got["wall_s"] = time.perf_counter() - t0
                    got["peak_mb"] = round(peak)
                    if "seconds" in got:
                        got["seconds_per_million_persons"] = got["seconds"] / n * 1e6
                    entry["stages"].setdefault(stage, {})[engine] = got
                    print(f"  {stage:<11}{engine:<7}{json.dumps(got)}", flush=True)
                    results["sizes"][str(n)] = entry  # written after every stage
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    args.out.write_text(json.dumps(results, indent=1) + "\n")
    results["load_average_at_end"] = list(psutil.getloadavg())
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
