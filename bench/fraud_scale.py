"""Time and peak memory of the `claims_fraud` study at scale; writes bench/results/fraud_scale.json.

Claims are generated in DuckDB (no Python loop; clinician, day, code and price come from
independent parts of one hash, so a clinician's claims spread over the days): persons, 500
billing organisations, 5,000 clinicians, 200 procedure codes with their own price, one line
per claim, 95 % of claims with an encounter, 10 % referred, plus a few of each scheme so every
detector has work. Each size
runs in its own process so peak memory (``ru_maxrss``, DuckDB included) is that size's alone.

Usage: ``python bench/fraud_scale.py --sizes 100000 1000000 [--timeout 900]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import tempfile
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
"""


def _one(n: int, q: mp.Queue) -> None:
    from medmine.studies import claims_fraud
    from medmine.warehouse import Warehouse

    with tempfile.TemporaryDirectory() as d, Warehouse(Path(d) / "s.duckdb") as wh:
        t = time.perf_counter()
        for stmt in _GEN.format(n=n, persons=max(n // 20, 100)).split(";"):
            if stmt.strip():
                wh.con.execute(stmt)
        gen = time.perf_counter() - t
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        res = claims_fraud.run(wh)
        sec = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        q.put(
            {
                "claims": n,
                "generate_seconds": round(gen, 1),
                "study_seconds": round(sec, 1),
                "peak_rss_mb": round(rss / 1024),
                "rss_after_generation_mb": round(rss0 / 1024),
                "claims_with_findings": int((res.claims_ranked["score"] >= 1.5).sum()),
                "organisations": len(res.organisations_ranked),
                "clinicians": len(res.clinicians_ranked),
            }
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    runs = []
    for n in args.sizes:
        q: mp.Queue = mp.Queue()
        p = mp.get_context("fork").Process(target=_one, args=(n, q))
        p.start()
        p.join(args.timeout)
        if p.is_alive():
            p.kill()
            run = {"claims": n, "error": f"not finished within {args.timeout:.0f} s (killed)"}
        elif p.exitcode != 0:
            run = {"claims": n, "error": f"exit code {p.exitcode}"}
        else:
            run = q.get()
        print(json.dumps(run), flush=True)
        runs.append(run)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "fraud_scale",
                "goal": "10^7 claims in under 1 minute and 4 GB on 2 cores",
                "machine": "2 cores shared with other engineers' jobs",
                "runs": runs,
            },
            indent=2,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
