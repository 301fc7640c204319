"""Time each set-wise view mapping (``medmine.ingest.fhir._viewmap_*``) against the
per-resource mapper on the same resources of the bundled Synthea sample.

The sample is loaded once into a temporary warehouse (its raw store holds every resource).
Then, per mapping and for the resource types it covers:

- **sql**: ``CREATE TEMP TABLE AS`` the mapping's SQL over those raw resources (JSON parse,
  ViewDefinition, reference joins, quarantine predicates, shape predicates: everything up
  to the rows the loader would insert), the ViewDefinition compiled by `medmine.fhir.views`;
- **sql_plain**: the same with ``plain=True`` (the view's columns read from one
  ``json_transform`` of the top-level fields: what the ``*_mapping()`` give the loader);
- **per_resource**: for the same resources, ``orjson.loads`` of the stored JSON, the
  mapper of ``medmine.ingest.fhir._map`` with a `Context` holding the file's ``fullUrl``
  index and the known persons (as the loader gives it), and the loader's row checks.

Neither includes reading the files or writing the rows. Each is run ``--repeat`` times
(best of, CPU seconds of the whole process, DuckDB's threads included, and wall seconds);
the load average is recorded before and after. Results: ``bench/results/viewmap_types.json``.

With ``--scale K`` the raw store is first replicated K times (each copy under its own
``source_file``, so references still resolve inside their copy; other types keep only their
``fullUrl`` index entry), which separates the fixed cost of each SQL call from its cost per
resource. Results then go to ``bench/results/viewmap_types_x<K>.json``.

Run: ``.venv/bin/python bench/viewmap_types.py [--repeat 3] [--scale K]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import orjson

from medmine.ingest.fhir import load
from medmine.ingest.fhir._check import check_rows
from medmine.ingest.fhir._map import MAPPERS
from medmine.ingest.fhir._refs import Context
from medmine.ingest.fhir._values import Skip
from medmine.ingest.fhir._viewmap_allergy import mapped_allergies
from medmine.ingest.fhir._viewmap_drug import DRUGS, mapped_drugs
from medmine.ingest.fhir._viewmap_note import NOTES, mapped_notes
from medmine.ingest.fhir._viewmap_procedure import mapped_procedures
from medmine.warehouse import Rejected, Warehouse

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "samples" / "synthea_fhir"
OUT = ROOT / "bench" / "results" / "viewmap_types.json"

FUNCTIONS = {
    "mapped_procedures": (mapped_procedures, ("Procedure",)),
    "mapped_drugs": (mapped_drugs, tuple(DRUGS)),
    "mapped_notes": (mapped_notes, tuple(NOTES)),
    "mapped_allergies": (mapped_allergies, ("AllergyIntolerance",)),
}


def _source(types: tuple[str, ...]) -> str:
    names = ", ".join(f"'{t}'" for t in types)  # constants of this script
    return (
        "SELECT row_number() OVER (ORDER BY source_file, location) AS seq, source_file, "
        f"location, resource FROM mm_fhir_resource WHERE resource_type IN ({names})"
    )


def _cpu(timing: tuple) -> float:
    return timing[0]


def _timed(fn) -> tuple[float, float, object]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - w0, out


def time_sql(
    wh: Warehouse, fn, types: tuple[str, ...], plain: bool = False
) -> tuple[float, float, dict]:
    def run() -> dict:
        sql = fn(wh.con, _source(types), plain=plain)
        wh.con.execute(f"CREATE OR REPLACE TEMP TABLE __bench AS {sql}")
        rows = wh.con.execute(
            "SELECT count(*), count(*) FILTER (regular AND reason_code IS NULL "
            "AND skip_code IS NULL), count(*) FILTER (reason_code IS NOT NULL), "
            "count(*) FILTER (skip_code IS NOT NULL) FROM __bench"
        ).fetchone()
        return dict(zip(("rows", "regular_loaded", "quarantined", "skipped"), rows, strict=True))

    return _timed(run)


def time_per_resource(wh: Warehouse, types: tuple[str, ...]) -> tuple[float, float, dict]:
    names = list(types)
    resources = wh.con.execute(
        "SELECT source_file, resource_type, resource_id, resource FROM mm_fhir_resource "
        "WHERE resource_type IN (SELECT unnest(?::VARCHAR[])) ORDER BY source_file, location",
        [names],
    ).fetchall()
    index: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for f, url, rtype, rid in wh.con.execute(
        "SELECT source_file, full_url, resource_type, resource_id FROM mm_fhir_resource "
        "WHERE full_url IS NOT NULL AND resource_id IS NOT NULL"
    ).fetchall():
        index[f][url] = (rtype, rid)
    persons = {r[0] for r in wh.con.execute("SELECT person_id FROM person").fetchall()}

    def run() -> dict:
        ctx = Context("bench", set(persons))
        counts = {"loaded": 0, "quarantined": 0, "skipped": 0}
        current = None
        for f, rtype, rid, text in resources:
            if f != current:
                ctx.new_source(index[f])
                current = f
            obj = orjson.loads(text)
            ctx.begin(rtype)
            try:
                rows = MAPPERS[rtype](obj, rid, ctx)
                check_rows(rtype, rows)
                check_rows(rtype, ctx.extra)
            except Rejected:
                counts["quarantined"] += 1
            except Skip:
                counts["skipped"] += 1
            else:
                counts["loaded"] += 1
            ctx.concepts.clear()
        return counts

    return _timed(run)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=int, default=1)
    args = ap.parse_args()
    out_path = OUT if args.scale == 1 else OUT.with_name(f"viewmap_types_x{args.scale}.json")
    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(Path(tmp) / "w.duckdb")
        wh.con.execute("SET enable_progress_bar = false")
        load([SAMPLE], wh, memory_limit=None)
        if args.scale > 1:
            mapped = sorted({t for _, types in FUNCTIONS.values() for t in types})
            wh.con.execute(
                "INSERT INTO mm_fhir_resource (raw_id, source_file, location, checksum, "
                "load_id, resource_type, resource_id, full_url, resource) "
                "SELECT CAST(hash(r.raw_id, k) // 2 AS BIGINT), r.source_file || '#' || k, "
                "r.location, r.checksum, r.load_id, r.resource_type, r.resource_id, r.full_url, "
                "CASE WHEN r.resource_type IN (SELECT unnest(?::VARCHAR[])) THEN r.resource "
                "ELSE '{}' END FROM mm_fhir_resource r, range(1, ?) t(k) "
                "WHERE r.full_url IS NOT NULL OR r.resource_type IN (SELECT unnest(?::VARCHAR[]))",
                [mapped, args.scale, mapped],
            )
        for name, (fn, types) in FUNCTIONS.items():
            n = wh.con.execute(
                "SELECT count(*) FROM mm_fhir_resource WHERE resource_type IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [list(types)],
            ).fetchone()[0]
            sql = [time_sql(wh, fn, types) for _ in range(args.repeat)]
            plain = [time_sql(wh, fn, types, plain=True) for _ in range(args.repeat)]
            py = [time_per_resource(wh, types) for _ in range(args.repeat)]
            best_sql, best_py = min(sql, key=_cpu), min(py, key=_cpu)
            best_plain = min(plain, key=_cpu)
            results[name] = {
                "resource_types": list(types),
                "resources": n,
                "sql_cpu_s": round(best_sql[0], 3),
                "sql_wall_s": round(min(s[1] for s in sql), 3),
                "sql_plain_cpu_s": round(best_plain[0], 3),
                "sql_plain_wall_s": round(min(p[1] for p in plain), 3),
                "per_resource_cpu_s": round(best_py[0], 3),
                "per_resource_wall_s": round(min(p[1] for p in py), 3),
                "sql_resources_per_cpu_s": round(n / best_sql[0]) if best_sql[0] else None,
                "sql_plain_resources_per_cpu_s": round(n / best_plain[0])
                if best_plain[0]
                else None,
                "per_resource_resources_per_cpu_s": round(n / best_py[0]) if best_py[0] else None,
                "sql_rows": best_sql[2],
                "sql_plain_rows": best_plain[2],
                "per_resource_outcomes": best_py[2],
            }
            print(name, json.dumps(results[name]), flush=True)
        wh.close()
    out = {
        "what": "set-wise view mappings vs the per-resource mapper, same resources, "
        "bundled Synthea sample (mapping only: no file reading, no writing)",
        "command": f"bench/viewmap_types.py --repeat {args.repeat} --scale {args.scale}",
        "scale": args.scale,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "results": results,
    }
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
