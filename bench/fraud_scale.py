"""Time, CPU and peak memory of the `claims_fraud` study per stage at scale; writes
bench/results/fraud_scale.json.

Claims are generated in DuckDB (no Python loop; clinician, day, code and price come from
independent parts of one hash, so a clinician's claims spread over the days): persons, 500
billing organisations, 5,000 clinicians, 200 procedure codes with their own price, one line
per claim, 95 % of claims with an encounter, 10 % referred, plus a few of each scheme so every
detector has work. Each size's warehouse is written once to ``--data-dir`` and reused by later
runs (the generation time is kept beside it).

Each size runs in its own process. Per stage (the study's ``on_stage`` hook) it records wall
seconds, CPU seconds of the process (user + system, DuckDB's threads included: the fair
figure on a machine shared with other jobs) and the stage's peak RSS (``VmHWM``, reset at the
start of each stage through ``/proc/self/clear_refs``). DuckDB runs with ``--threads`` and
``--memory-limit`` (it spills to ``--data-dir`` beyond that).

Usage: ``python bench/fraud_scale.py --sizes 100000 1000000 10000000 [--timeout 1800]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import subprocess
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "fraud_scale.json"

_GEN = """
CREATE TEMP TABLE g AS SELECT i, (hash(i) % 1000000007)::BIGINT AS h FROM range({n}) t(i);
INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id,
                    ethnicity_concept_id)
SELECT i, CASE WHEN i % 2 = 0 THEN 8507 ELSE 8532 END, 1930 + i % 70, 0, 0
FROM range({persons}) t(i);
INSERT INTO death (person_id, death_date, death_type_concept_id)
SELECT i, DATE '2022-06-01', 32817 FROM range(0, {persons}, 997) t(i);
INSERT INTO care_site (care_site_id, care_site_name, care_site_source_value)
SELECT i, 'Org ' || i, 'org' || i FROM range(500) t(i);
INSERT INTO provider (provider_id, npi, provider_source_value)
SELECT i, (1000000000 + i)::VARCHAR, 'Practitioner/p' || i FROM range(5000) t(i);
INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id,
    visit_start_date, visit_start_datetime, visit_end_date, visit_end_datetime,
    visit_type_concept_id, provider_id, visit_source_value)
SELECT i, i % {persons}, 9202, DATE '2020-01-01' + ((h // 7919) % 1000)::INT,
       TIMESTAMP '2020-01-01 08:00' + INTERVAL ((h // 7919) % 1000) DAY,
       DATE '2020-01-01' + ((h // 7919) % 1000)::INT,
       TIMESTAMP '2020-01-01 08:20' + INTERVAL ((h // 7919) % 1000) DAY, 32817, h % 5000,
       'ActCode:AMB'
FROM g WHERE h % 20 <> 0;
INSERT INTO mm_claim (claim_id, person_id, claim_source_value, claim_start_date,
    billing_care_site_id, billing_source_value, rendering_provider_id, referring_provider_id,
    visit_occurrence_id, total_billed)
SELECT i, i % {persons}, 'Claim/c' || i, DATE '2020-01-01' + ((h // 7919) % 1000)::INT,
       (h % 5000) // 10, 'org' || ((h % 5000) // 10), h % 5000,
       CASE WHEN h % 10 = 0 THEN (h // 7) % 5000 END,
       CASE WHEN h % 20 <> 0 THEN i END, 0
FROM g;
INSERT INTO mm_claim_line (claim_line_id, claim_id, line_number, person_id, service_date,
    procedure_vocabulary_id, procedure_code, units, billed_amount)
SELECT i, i, 1, i % {persons}, DATE '2020-01-01' + ((h // 7919) % 1000)::INT, 'CPT4',
       (99000 + (h // 13) % 200)::VARCHAR,
       CASE WHEN h % 5003 = 0 THEN 12 ELSE 1 END,
       (40 + (h // 13) % 200)
         * (CASE WHEN h % 4001 = 0 THEN 3.0 ELSE 1 + ((h // 17) % 21 - 10) / 100.0 END)
FROM g;
DROP TABLE g;
"""


def _hwm_mb() -> float:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", text).group(1)) / 1024


def _reset_hwm() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _inputs(n: int, data_dir: Path) -> tuple[Path, dict]:
    """The size's warehouse, generated on first use; (path, generation figures)."""
    from medmine.warehouse import Warehouse

    path = data_dir / f"claims_{n}.duckdb"
    meta = data_dir / f"claims_{n}.json"
    if path.exists() and meta.exists():
        return path, {**json.loads(meta.read_text()), "reused": True}
    path.unlink(missing_ok=True)
    t, c = time.perf_counter(), _cpu()
    with Warehouse(path) as wh:
        for stmt in _GEN.format(n=n, persons=max(n // 20, 100)).split(";"):
            if stmt.strip():
                wh.con.execute(stmt)
        wh.con.execute("CHECKPOINT")
    gen = {
        "wall_s": round(time.perf_counter() - t, 1),
        "cpu_s": round(_cpu() - c, 1),
        "peak_rss_mb": round(_hwm_mb()),
        "file_mb": round(path.stat().st_size / 2**20),
    }
    meta.write_text(json.dumps(gen))
    return path, {**gen, "reused": False}


def _one(n: int, args: argparse.Namespace, q: mp.Queue) -> None:
    from medmine.studies import claims_fraud
    from medmine.warehouse import Warehouse

    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path, gen = _inputs(n, data_dir)
    spill = data_dir / f"spill_{os.getpid()}"
    stages: list[dict] = []
    with Warehouse(path) as wh:
        wh.con.execute(f"SET threads = {int(args.threads)}")
        wh.con.execute("SET memory_limit = ?", [args.memory_limit])
        wh.con.execute("SET temp_directory = ?", [str(spill)])
        _reset_hwm()
        t0, c0 = time.perf_counter(), _cpu()
        last = [t0, c0]

        def on_stage(name: str) -> None:
            t, c = time.perf_counter(), _cpu()
            stages.append(
                {
                    "stage": name,
                    "wall_s": round(t - last[0], 2),
                    "cpu_s": round(c - last[1], 2),
                    "peak_rss_mb": round(_hwm_mb()),
                }
            )
            last[:] = [t, c]
            _reset_hwm()

        res = claims_fraud.run(wh, on_stage=on_stage)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
    shutil.rmtree(spill, ignore_errors=True)
    group = {
        "edits": "features",
        "rule_violations": "features",
        "provider_profiles": "features",
        "claim_table": "detectors",
        "detectors": "detectors",
        "scores_and_entities": "worklists",
        "ranked_list": "worklists",
        "result": "worklists",
    }
    by_group: dict[str, dict] = {}
    for s in stages:
        g = by_group.setdefault(group.get(s["stage"], s["stage"]), {"wall_s": 0.0, "cpu_s": 0.0})
        g["wall_s"] = round(g["wall_s"] + s["wall_s"], 2)
        g["cpu_s"] = round(g["cpu_s"] + s["cpu_s"], 2)
        g["peak_rss_mb"] = max(g.get("peak_rss_mb", 0), s["peak_rss_mb"])
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h", "--", "src/medmine/studies"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout.strip()
    q.put(
        {
            "claims": n,
            "study_code": commit,
            "generate": gen,
            "study_wall_s": round(wall, 1),
            "study_cpu_s": round(cpu, 1),
            "study_peak_rss_mb": max(s["peak_rss_mb"] for s in stages),
            "by_group": by_group,
            "stages": stages,
            "load_average_1min_after": round(os.getloadavg()[0], 1),
            "claims_with_findings": int((res.claims_ranked["schemes"] != "").sum()),
            "claims_flagged": int(res.claim_scores["flagged"].sum()),
            "organisations": len(res.organisations_ranked),
            "clinicians": len(res.clinicians_ranked),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit")
    ap.add_argument("--data-dir", default="/tmp/medmine_fraud_scale")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    out = Path(args.out)
    old = json.loads(out.read_text()) if out.exists() else {}
    runs = {r["claims"]: r for r in old.get("runs", []) if "study_cpu_s" in r}
    for n in args.sizes:
        q: mp.Queue = mp.Queue()
        p = mp.get_context("fork").Process(target=_one, args=(n, args, q))
        p.start()
        t = time.perf_counter()
        run = None
        while p.is_alive() and time.perf_counter() - t < args.timeout:
            try:
                run = q.get(timeout=5)
                break
            except Exception:  # noqa: BLE001 - queue.Empty: keep waiting
                continue
        p.join(60)
        if run is None and p.is_alive():
            p.kill()
            run = {"claims": n, "error": f"not finished within {args.timeout:.0f} s (killed)"}
        elif run is None:
            run = {"claims": n, "error": f"exit code {p.exitcode}"}
        print(json.dumps(run), flush=True)
        runs[n] = run
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps(
                {
                    "benchmark": "fraud_scale",
                    "goal": "10^7 claims in under 1 minute and 4 GB on 2 cores",
                    "machine": f"{os.cpu_count()} cores shared with other engineers' jobs",
                    "settings": {
                        "duckdb_threads": args.threads,
                        "duckdb_memory_limit": args.memory_limit,
                    },
                    "runs": [runs[k] for k in sorted(runs)],
                },
                indent=2,
            )
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
