"""Quality-check run time and peak memory on the Eunomia warehouse replicated N times.

The replica is built in SQL: every clinical table is copied N times with its id columns
(``*_id`` except concept ids) moved to a disjoint range per copy (``xor(id, k << 40)``, which
keeps small ids small-offset and hashed 63-bit ids distinct; 0 stays 0), so foreign keys stay
consistent. Vocabulary tables are copied once; provenance (``mm_source_record``) is not
replicated, so example rows of copies show no provenance. Each quality run happens in a child
process so its peak RSS is its own.

Run: ``.venv/bin/python bench/quality.py [SCALE ...]`` (default 1 10 100); writes
bench/results/quality.json.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(os.environ.get("MEDMINE_BENCH_DIR", "/tmp/medmine-bench"))
RESULTS = Path(__file__).parent / "results" / "quality.json"


def _id_columns(spec) -> set[str]:
    return {
        c.name
        for c in spec.columns
        if c.type in ("bigint", "int") and c.name.endswith("_id") and "concept" not in c.name
    }


def build(base: Path, scale: int) -> Path:
    from medmine.warehouse import TABLES, Warehouse

    path = WORK / f"eunomia_x{scale}.duckdb"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.duckdb")
    tmp.unlink(missing_ok=True)
    wh = Warehouse(tmp)
    con = wh.con
    con.execute(f"ATTACH '{base}' AS src (READ_ONLY)")
    for spec in TABLES:
        n = con.execute(f'SELECT count(*) FROM src."{spec.name}"').fetchone()[0]
        if not n or spec.name.startswith("mm_"):
            continue
        cols = spec.column_names
        if spec.role == "vocabulary":
            con.execute(f'INSERT INTO "{spec.name}" SELECT * FROM src."{spec.name}"')
            continue
        ids = _id_columns(spec)
        exprs = [
            f'CASE WHEN "{c}" = 0 THEN 0 ELSE xor("{c}", CAST(k AS BIGINT) << 40) END'
            if c in ids
            else f'"{c}"'
            for c in cols
        ]
        con.execute(
            f'INSERT INTO "{spec.name}" SELECT {", ".join(exprs)} '
            f'FROM src."{spec.name}", range({scale}) r(k)'
        )
    con.execute("DETACH src")
    wh.close()
    tmp.rename(path)
    return path


def run_child(path: Path) -> dict:
    """Run in a child process: time the quality run, report peak RSS."""
    import threading

    import psutil

    from medmine.quality import run_checks
    from medmine.warehouse import Warehouse

    # ru_maxrss survives exec (it would report the parent's peak): sample RSS instead.
    proc, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    wh = Warehouse(path)
    counts = wh.counts()
    t0 = time.perf_counter()
    run = run_checks(wh, store=True)
    secs = time.perf_counter() - t0
    wh.close()
    done.set()
    sampler.join()
    peak_mb = peak[0] / 2**20
    clinical = sum(v for k, v in counts.items() if not k.startswith(("mm_", "concept")))
    return {
        "seconds": round(secs, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "persons": counts.get("person", 0),
        "clinical_rows": clinical,
        "summary": run.summary,
        "errors": [r.check_id for r in run.by_status("error")],
        "slowest_check_types_s": dict(sorted(_by_type(run).items(), key=lambda kv: -kv[1])[:8]),
        "fails": len(run.by_status("fail")),
    }


def _by_type(run) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in run.results:
        out[r.check_type] = out.get(r.check_type, 0.0) + r.seconds
    return {k: round(v, 1) for k, v in out.items()}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(run_child(Path(sys.argv[2]))))
        return
    scales = [int(a) for a in sys.argv[1:]] or [1, 10, 100]
    WORK.mkdir(parents=True, exist_ok=True)
    base = WORK / "eunomia_base.duckdb"
    if not base.exists():
        from medmine.ingest import omop
        from medmine.warehouse import Warehouse

        with Warehouse(base) as wh:
            omop.load(omop.eunomia_path(), wh)
    out = {
        "benchmark": "medmine quality on Eunomia replicated N times (one SQL per check)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "note": "2 shared cores; other work ran concurrently, so times are upper bounds",
        "runs": [],
    }
    if RESULTS.exists():
        prev = json.loads(RESULTS.read_text())
        out["runs"] = [r for r in prev.get("runs", []) if r["scale"] not in scales]
    for scale in scales:
        t0 = time.perf_counter()
        path = build(base, scale)
        build_s = time.perf_counter() - t0
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res.update(
            scale=scale,
            build_seconds=round(build_s, 1),
            file_mb=round(path.stat().st_size / 2**20, 1),
        )
        out["runs"].append(res)
        out["runs"].sort(key=lambda r: r["scale"])
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(out, indent=2) + "\n")
        print(
            f"x{scale}: {res['clinical_rows']:,} clinical rows, {res['persons']:,} persons, "
            f"{res['seconds']} s, peak RSS {res['peak_rss_mb']} MB, "
            f"{res['summary']['checks']} checks, {len(res['errors'])} errors"
        )


if __name__ == "__main__":
    main()
