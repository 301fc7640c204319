"""What a primary key costs DuckDB in memory, and whether committing in parts releases it.

The FHIR loader's memory at 1M and 2M resources (``bench/ingest_fhir_memory.py``) grows with
DuckDB's ``ART_INDEX`` (the primary-key indexes) while everything else stays bounded. This
benchmark isolates that on synthetic rows shaped like the loader's: random 63-bit ids (as
``stable_id`` gives) in a table keyed by one BIGINT, and ``mm_source_record``'s composite key
``(table_name VARCHAR, row_id BIGINT)``.

1. **bytes per row** of DuckDB memory (``duckdb_memory()``) with no key, a BIGINT key and the
   composite key, in an in-memory database;
2. **rows inserted before an out-of-memory error** under a small ``memory_limit`` into a
   database file with a temp directory (so that everything that can spill does), in
   chunks of 500,000 rows: (a) one transaction, (b) a commit per chunk, (c) a commit and a
   ``CHECKPOINT`` per chunk. If committing in parts released the index memory, (b) or (c)
   would run to the end. (d) For comparison, one transaction into the same table *without* a
   primary key, each chunk inserted with a ``NOT EXISTS`` anti-join on the key (uniqueness
   kept by the insert itself, no index): its memory stays within the limit.

Run: ``.venv/bin/python bench/duckdb_art_memory.py [--limit 256MB] [--rows 8000000]``;
writes ``bench/results/duckdb_art_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "duckdb_art_memory.json"
_TYPES = "CASE r % 3 WHEN 0 THEN 'measurement' WHEN 1 THEN 'condition_occurrence' ELSE 'person' END"
_ID = "(hash(r) >> 1)::BIGINT"
CHUNK = 500_000


def bytes_per_row(key: str, n: int) -> float:
    """DuckDB memory per row after inserting `n` rows into a table with `key`."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 1")
    pk = {"none": "", "bigint": ", PRIMARY KEY (row_id)", "composite": ", PRIMARY KEY (t, row_id)"}
    con.execute(f"CREATE TABLE s (t VARCHAR, row_id BIGINT, v VARCHAR{pk[key]})")
    con.execute(f"INSERT INTO s SELECT {_TYPES}, {_ID}, 'line ' || r FROM range({n}) x(r)")
    used = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
    return round(used / n, 1)


def until_oom(mode: str, limit: str, rows: int, folder: Path) -> dict:
    """Insert chunks of composite-keyed rows under `limit` until done or out of memory."""
    import duckdb

    db = folder / f"{mode}.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET temp_directory = '{folder / 'spill'}'")
    con.execute("SET threads = 1")
    key = "" if mode == "no_key_anti_join" else ", PRIMARY KEY (t, row_id)"
    con.execute(
        "CREATE TABLE s (t VARCHAR NOT NULL, row_id BIGINT NOT NULL, load_id VARCHAR, "
        f"location VARCHAR{key})"
    )
    con.execute("CHECKPOINT")
    done, error, t0 = 0, None, time.perf_counter()
    single = mode in ("one_transaction", "no_key_anti_join")
    if single:
        con.execute("BEGIN")
    try:
        for start in range(0, rows, CHUNK):
            if not single:
                con.execute("BEGIN")
            rows_sql = (
                f"SELECT {_TYPES} AS t, {_ID} AS row_id, 'fhir-load' AS load_id, "
                f"'line ' || r AS location FROM range({start}, {start + CHUNK}) x(r)"
            )
            if mode == "no_key_anti_join":  # uniqueness kept by the insert, no index
                con.execute(
                    f"INSERT INTO s BY NAME SELECT * FROM ({rows_sql}) n WHERE NOT EXISTS ("
                    "SELECT 1 FROM s WHERE s.t = n.t AND s.row_id = n.row_id)"
                )
            else:
                con.execute(f"INSERT OR IGNORE INTO s BY NAME {rows_sql}")
            if not single:
                con.execute("COMMIT")
            if mode == "commit_and_checkpoint_per_chunk":
                con.execute("CHECKPOINT")
            done = start + CHUNK
        if single:
            con.execute("COMMIT")
    except duckdb.OutOfMemoryException as exc:
        error = str(exc).splitlines()[0][:200]
    con.close()
    return {
        "mode": mode,
        "rows_inserted": done,
        "out_of_memory": error,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", default="256MB")
    ap.add_argument("--rows", type=int, default=8_000_000)
    ap.add_argument("--sizing-rows", type=int, default=2_000_000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:  # one scenario per process: each gets a fresh allocator
        kind, arg = a.child
        if kind == "size":
            print(json.dumps({"key": arg, "bytes_per_row": bytes_per_row(arg, a.sizing_rows)}))
        else:
            folder = Path(tempfile.mkdtemp(prefix="art_", dir=ROOT / "bench" / "data"))
            try:
                print(json.dumps(until_oom(arg, a.limit, a.rows, folder)))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        return
    (ROOT / "bench" / "data").mkdir(parents=True, exist_ok=True)
    la0 = os.getloadavg()
    out: dict = {"sizing": [], "under_limit": []}
    base = [sys.executable, __file__, "--limit", a.limit, "--rows", str(a.rows)]
    base += ["--sizing-rows", str(a.sizing_rows)]
    for key in ("none", "bigint", "composite"):
        got = subprocess.run([*base, "--child", "size", key], capture_output=True, text=True)
        out["sizing"].append(json.loads(got.stdout.strip().splitlines()[-1]))
        print(out["sizing"][-1], flush=True)
    modes = ("one_transaction", "commit_per_chunk", "commit_and_checkpoint_per_chunk")
    for mode in (*modes, "no_key_anti_join"):
        got = subprocess.run([*base, "--child", "oom", mode], capture_output=True, text=True)
        out["under_limit"].append(json.loads(got.stdout.strip().splitlines()[-1]))
        print(out["under_limit"][-1], flush=True)
    import duckdb

    result = {
        "benchmark": "duckdb_art_memory",
        "duckdb": duckdb.__version__,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": [round(x, 2) for x in la0],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "memory_limit": a.limit,
        "rows_attempted": a.rows,
        "sizing_rows": a.sizing_rows,
        **out,
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print("written", RESULTS)


if __name__ == "__main__":
    main()
