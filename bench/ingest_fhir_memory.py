"""Where the FHIR loader's memory goes, and its peak at 1M / 2M / 10M resources.

Runs ``medmine.ingest.fhir.load`` end to end (read -> raw FHIR store -> OMOP rows, provenance,
committed and reconciled) on the replicated Synthea NDJSON of ``bench/ingest_fhir.py`` (same
generator, same file in ``bench/data/``), in a child process that samples, every few seconds:
its resident set (VmRSS), DuckDB's own accounting (``duckdb_memory()`` by tag: base tables,
ART indexes, hash tables...) and DuckDB's spill files (``duckdb_temporary_files()``). It
reports wall and CPU seconds, peak RSS (``ru_maxrss``, the kernel's high-water mark), the load
average and the counts, and writes ``bench/results/ingest_fhir_memory_<N>.json``.

Run: ``.venv/bin/python bench/ingest_fhir_memory.py --min-resources 1000000
[--memory-limit 1GB] [--setwise] [--note TEXT]``.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"


def _bench_module():
    """bench/ingest_fhir.py (its generator: the same replicated input)."""
    spec = importlib.util.spec_from_file_location(
        "_ingest_fhir_bench", ROOT / "bench" / "ingest_fhir.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def generate_gz(min_resources: int) -> tuple[Path, int]:
    """The same replicated NDJSON as `generate`, written gzip-compressed (level 1): a 10M
    input is 10.3 GB as text, about a tenth of that compressed, and the loader reads
    ``.ndjson.gz`` directly.
    """
    mod = _bench_module()
    templates, per_copy = mod._templates()
    copies = -(-min_resources // per_copy)
    path = DATA / f"synthea_x{copies}.ndjson.gz"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wb", compresslevel=1) as f:
            for k in range(copies):
                tag = f"{k:02x}".encode()
                for t in templates:
                    f.write(t.replace(mod._MARK, tag))
        tmp.replace(path)
    return path, copies * per_copy


def _rss_mb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


def child(path: Path, memory_limit: str, setwise: bool, every: float) -> dict:
    """Load `path` into a fresh warehouse, sampling memory; returns the figures."""
    from medmine.ingest.fhir import load
    from medmine.warehouse import Warehouse

    db = DATA / f"bench_memory_{path.name.split('.')[0]}.duckdb"
    for suffix in ("", ".wal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    samples: list[dict] = []
    stop = threading.Event()
    wh = Warehouse(db)
    t0 = time.perf_counter()

    def watch() -> None:
        cur = wh.con.cursor()  # another connection to the same database
        while not stop.wait(every):
            s: dict = {"t": round(time.perf_counter() - t0, 1), "rss_mb": _rss_mb()}
            try:
                tags = cur.execute(
                    "SELECT tag, memory_usage_bytes, temporary_storage_bytes "
                    "FROM duckdb_memory() WHERE memory_usage_bytes > 0 "
                    "OR temporary_storage_bytes > 0"
                ).fetchall()
                s["duckdb_mb"] = {t: round(m / 2**20) for t, m, _ in tags if m}
                s["duckdb_spilled_mb"] = {t: round(x / 2**20) for t, _, x in tags if x}
            except Exception as exc:  # noqa: BLE001  (the sampler never stops the load)
                s["error"] = type(exc).__name__
            samples.append(s)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    error = None
    report = None
    try:
        report = load(path, wh, memory_limit=memory_limit, setwise=setwise)
    except Exception as exc:  # noqa: BLE001  (reported, not raised: the figures still count)
        error = f"{type(exc).__name__}: {str(exc)[:400]}"
    secs = time.perf_counter() - t0
    stop.set()
    th.join()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out: dict = {
        "seconds": round(secs, 1),
        "cpu_seconds": round(ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime, 1),
        "peak_rss_mb": round(ru.ru_maxrss / 1024),
        "memory_limit": memory_limit,
        "setwise": setwise,
        "error": error,
    }
    if report is not None:
        t = report.totals
        out.update(
            resources=t.read,
            loaded=t.loaded,
            skipped=t.skipped,
            quarantined=t.quarantined,
            warnings=t.warnings,
            reconciles=report.reconciles,
            rows_written=sum(report.rows_written.values()),
            raw_resources_kept=wh.count("mm_fhir_resource"),
            resources_per_cpu_s=round(t.read / out["cpu_seconds"]),
        )
    wh.close()
    out["warehouse_bytes"] = db.stat().st_size if db.exists() else None
    for suffix in ("", ".wal", ".audit-head"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    peak = max(samples, key=lambda s: s["rss_mb"], default=None)
    out["sample_at_peak_rss"] = peak
    step = max(1, len(samples) // 60)
    out["samples"] = samples[::step]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-resources", type=int, default=1_000_000)
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--setwise", action="store_true", help="load with setwise=True")
    ap.add_argument("--every", type=float, default=3.0, help="seconds between samples")
    ap.add_argument("--gzip", action="store_true", help="input as .ndjson.gz (less disk)")
    ap.add_argument("--note", default="")
    ap.add_argument("--out", default="", help="result file (default by size)")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(Path(a.child), a.memory_limit, a.setwise, a.every)))
        return
    path, n = generate_gz(a.min_resources) if a.gzip else _bench_module().generate(a.min_resources)
    la0 = os.getloadavg()
    if a.gzip:  # the loader's gzip-bomb cap (1 GiB decompressed by default) set above the input
        os.environ["MEDMINE_MAX_DECOMPRESSED"] = "64G"
    cmd = [sys.executable, __file__, "--child", str(path), "--memory-limit", a.memory_limit]
    cmd += ["--every", str(a.every)] + (["--setwise"] if a.setwise else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    got = json.loads(lines[-1]) if lines else {"error": proc.stderr[-2000:]}
    got["exit_code"] = proc.returncode
    result = {
        "benchmark": "ingest_fhir_memory",
        "input": {"file": path.name, "resources": n, "bytes": path.stat().st_size},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": [round(x, 2) for x in la0],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "note": a.note,
        },
        "command": " ".join(["bench/ingest_fhir_memory.py", *sys.argv[1:]]),
        "env": {"MEDMINE_MAX_DECOMPRESSED": os.environ.get("MEDMINE_MAX_DECOMPRESSED")},
        "medmine": got,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(a.out) if a.out else RESULTS / f"ingest_fhir_memory_{n}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    brief = {k: v for k, v in got.items() if k not in ("samples", "sample_at_peak_rss")}
    print(json.dumps(brief, indent=1))
    print("at peak RSS:", json.dumps(got.get("sample_at_peak_rss")))
    print("written", out)


if __name__ == "__main__":
    main()
