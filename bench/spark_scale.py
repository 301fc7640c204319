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

Above `CHUNK` persons the population is simulated in chunks of `CHUNK` (seeds 7, 8, ...; each
chunk's row ids moved up by ``chunk * 10**9``), because one `simulate` call holds every table in
numpy/Arrow at once. Chunked DuckDB tables are plain tables without the warehouse's primary-key
indexes (the load path is not what is measured here; the ``is_primary_key`` checks still look
for duplicates). ``--data DIR`` keeps the prepared inputs in DIR and reuses them on the next run
(so DuckDB and Spark can run in separate invocations on the same files). Memory is capped for a
shared machine: DuckDB ``memory_limit`` `DUCKDB_MEMORY`, Spark driver heap `SPARK_MEMORY`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
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
CHUNK = 1_000_000
ID_STRIDE = 10**9
DUCKDB_MEMORY = "6GB"
SPARK_MEMORY = "6g"
# Row-id columns moved up per chunk (person_id is moved by simulate's own id_base).
_OWN_IDS = (
    "observation_period_id",
    "visit_occurrence_id",
    "condition_occurrence_id",
    "drug_exposure_id",
    "measurement_id",
    "procedure_occurrence_id",
)


def _stage(engine: str, stage: str, data: Path) -> dict:
    """Run one stage on one engine (inside the subprocess); returns its figures."""
    import pandas as pd

    from medmine.features.cohorts import build_cohort, readmission
    from medmine.features.covariates import CovariateSettings, extract_covariates
    from medmine.warehouse import Warehouse

    out: dict = {}
    duck = Warehouse(data / "w.duckdb", read_only=True)
    duck.con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
    if engine == "spark":
        from medmine.spark import SparkWarehouse, spark_session

        t0 = time.perf_counter()
        session = spark_session("local[2]", driver_memory=SPARK_MEMORY)
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
    """Run `cmd`; return its JSON output and the peak RSS (MB) of it and its children.

    The output gets ``cpu_s``: user + system CPU seconds of the process and every child it
    waited for, which a busy shared machine does not inflate as it does wall time. For Spark
    stages this is the Python driver only: PySpark's JVM is not waited for by it, so its CPU
    is not counted (measured: 2.7 s for a 500 s MLlib run).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: a timeout ends the JVM too
    )
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
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        done.set()
        return {"error": f"timeout after {timeout:.0f} s", "cpu_s": _cpu(before)}, peak
    done.set()
    th.join()
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit code {proc.returncode}", "cpu_s": _cpu(before)}, peak
    got = json.loads(lines[-1])
    got["cpu_s"] = _cpu(before)
    return got, peak


def _cpu(before: resource.struct_rusage) -> float:
    """CPU seconds of the children waited for since `before`."""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _prepare(n: int, folder: Path) -> dict:
    """Simulate `n` persons into DuckDB, export Parquet, build the readmission cohort once."""
    from medmine.features.cohorts import build_cohort, readmission
    from medmine.synth.population import simulate
    from medmine.warehouse import Warehouse

    t0 = time.perf_counter()
    with Warehouse(folder / "w.duckdb") as wh:
        wh.con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        if n <= CHUNK:
            simulate(n, seed=7).write_to(wh, provenance=False)
        else:
            _write_chunks(wh, n)
        wh.export_parquet(folder / "pq")
        cohort = build_cohort(wh, readmission())
        cohort.frame[["row_id", "person_id", "index_date"]].to_parquet(folder / "cohort.parquet")
        counts = wh.counts()
    return {
        "simulate_and_export_s": time.perf_counter() - t0,
        "chunks": max(1, -(-n // CHUNK)),
        "rows": {k: v for k, v in counts.items() if v and not k.startswith("mm_")},
        "cohort_rows": len(cohort.frame),
    }


def _write_chunks(wh: object, n: int) -> None:
    """Simulate `n` persons `CHUNK` at a time into constraint-free copies of the tables."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from medmine.synth.population import simulate

    con = wh.con  # type: ignore[attr-defined]
    made: set[str] = set()
    for i in range(-(-n // CHUNK)):
        size = min(CHUNK, n - i * CHUNK)
        pop = simulate(size, seed=7 + i, id_base=i * ID_STRIDE)
        for name, tbl in pop.tables.items():
            if name not in made:  # same columns and types as the schema, no PK index
                con.execute(f'CREATE TABLE "{name}__plain" AS SELECT * FROM "{name}" LIMIT 0')
                con.execute(f'DROP TABLE "{name}"')
                con.execute(f'ALTER TABLE "{name}__plain" RENAME TO "{name}"')
                made.add(name)
            elif name in ("care_site", "concept", "concept_ancestor"):
                continue  # shared reference rows: the same in every chunk
            for col in _OWN_IDS:
                if col in tbl.column_names and i:
                    j = tbl.column_names.index(col)
                    moved = pc.add(
                        tbl.column(j), pa.scalar(i * ID_STRIDE, tbl.schema.field(j).type)
                    )
                    tbl = tbl.set_column(j, col, moved)
            con.register("chunk_rows", tbl)
            con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM chunk_rows')
            con.unregister("chunk_rows")
        del pop
        print(f"    chunk {i + 1}: {size:,} persons written", flush=True)


def main() -> None:
    """Run every size and engine; print and write the results."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--data", type=Path, help="keep and reuse prepared inputs in this folder")
    ap.add_argument("--chunk", type=int, default=1_000_000, help="persons per simulate call")
    ap.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    ap.add_argument("--stage", nargs=3, help=argparse.SUPPRESS)  # engine stage folder
    args = ap.parse_args()
    globals()["CHUNK"] = args.chunk
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
        "memory_caps": {"duckdb": DUCKDB_MEMORY, "spark_driver": SPARK_MEMORY},
        "sizes": {},
    }
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="medmine-spark-scale-") as tmp:
            folder = args.data / str(n) if args.data else Path(tmp)
            prep_file = folder / "prepare.json"
            if prep_file.exists():
                prep = json.loads(prep_file.read_text())
                print(f"{n:>10,} persons: reusing {folder}", flush=True)
            else:
                folder.mkdir(parents=True, exist_ok=True)
                prep = _prepare(n, folder)
                prep_file.write_text(json.dumps(prep, indent=1) + "\n")
                print(
                    f"{n:>10,} persons: prepared in {prep['simulate_and_export_s']:.0f} s",
                    flush=True,
                )
            entry: dict = {"prepare": prep, "stages": {}}
            for stage in args.stages:
                for engine in args.engines:
                    cmd = [sys.executable, __file__, "--stage", engine, stage, str(folder)]
                    t0 = time.perf_counter()
                    got, peak = _measure(cmd, args.timeout)
                    got["wall_s"] = time.perf_counter() - t0
                    got["peak_mb"] = round(peak)
                    if "seconds" in got:
                        got["seconds_per_million_persons"] = got["seconds"] / n * 1e6
                    got["load_average"] = list(psutil.getloadavg())
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
