"""Evaluate the claims fraud study against injected schemes; writes bench/results/fraud_eval.json.

Two settings, both with known answers:

* simulated professional claims (`medmine.synth.fraud`), every scheme injected, on seeds not
  used while developing the study (development used seeds 0, 1 and 3);
* the Synthea FHIR sample's Claim/EOB rows (loaded with `medmine.ingest.fhir`), with
  claim-level schemes injected into a scratch copy.

Per scheme: precision@k (k = number of positives), recall (share of positives flagged) and
AUROC; provider level for provider schemes, claim level for claims the schemes created or
changed. Published anchor: provider-level fraud models on CMS data with LEIE exclusion labels
reach AUROC about 0.81 (a harder, real problem; not directly comparable).

Usage: ``python bench/fraud_eval.py [--seeds 11 12 13] [--providers 300 --patients 8000]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from medmine.studies import claims_fraud
from medmine.synth import fraud

RESULTS = Path(__file__).resolve().parent / "results" / "fraud_eval.json"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples" / "synthea_fhir"


def simulated(seed: int, providers: int, patients: int) -> tuple[pd.DataFrame, dict]:
    t = time.perf_counter()
    sim = fraud.SimConfig(n_providers=providers, n_patients=patients, seed=seed)
    _, result = claims_fraud.simulated_section(sim=sim)
    ev = result.evaluation.assign(setting="simulated", seed=seed)
    meta = {
        "seed": seed,
        "claims": result.n_claims,
        "lines": result.n_lines,
        "providers": len(result.providers),
        "seconds": round(time.perf_counter() - t, 1),
    }
    return ev, meta


def fhir_sample() -> tuple[pd.DataFrame, dict]:
    from medmine.ingest import fhir
    from medmine.warehouse import Warehouse

    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as d, Warehouse(Path(d) / "f.duckdb") as wh:
        fhir.load([SAMPLES], wh)
        truth = fraud.inject_warehouse(wh, fraud.LoadedFraudConfig(seed=11))
        result = claims_fraud.run(wh, truth=truth)
    ev = result.evaluation.assign(setting="fhir_sample_injected", seed=11)
    meta = {"claims": result.n_claims, "seconds": round(time.perf_counter() - t, 1)}
    return ev, meta


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    ap.add_argument("--providers", type=int, default=300)
    ap.add_argument("--patients", type=int, default=8000)
    ap.add_argument("--no-fhir", action="store_true")
    args = ap.parse_args()
    frames, runs = [], []
    for seed in args.seeds:
        ev, meta = simulated(seed, args.providers, args.patients)
        frames.append(ev)
        runs.append(meta)
        print(json.dumps(meta), flush=True)
    fhir_meta = None
    if not args.no_fhir and SAMPLES.exists():
        ev, fhir_meta = fhir_sample()
        frames.append(ev)
        print(json.dumps(fhir_meta), flush=True)
    allev = pd.concat(frames, ignore_index=True)
    main_rows = allev[allev["detector"].isin(["ensemble", "edits + provider score"])]
    summary = (
        main_rows.groupby(["setting", "level", "scheme"])[["precision_at_k", "recall", "auroc"]]
        .mean()
        .round(3)
        .reset_index()
    )
    per_detector = (
        allev[allev["level"] == "provider"]
        .groupby(["detector", "scheme"])["auroc"]
        .mean()
        .round(3)
        .unstack()
    )
    print(summary.to_string(index=False))
    print(per_detector.to_string())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "fraud_eval",
                "anchor": "provider-level models on CMS data with LEIE labels: AUROC ~0.81",
                "simulation": {
                    "providers": args.providers,
                    "patients": args.patients,
                    "seeds": args.seeds,
                    "runs": runs,
                    "provider_flag_budget": "injected share of providers",
                },
                "fhir_sample": fhir_meta,
                "summary_mean_over_seeds": summary.to_dict("records"),
                "provider_auroc_by_detector": {
                    det: {k: v for k, v in row.items() if pd.notna(v)}
                    for det, row in per_detector.iterrows()
                },
                "all": allev.to_dict("records"),
            },
            indent=2,
            default=float,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
