"""Score the `claims_fraud` study on the independent (blind) fraud injector's outputs.

The injector in ``tests/data/fraud_injector_blind/`` was written by someone who never read the
detector; its README and ``truth.json`` are the only things this harness relies on. Seeds: 101
first score (taken before any detector change), 202 development (the only seed tuned on), 303
locked (scored once at the end).

For each output (FHIR bundles and the DE-SynPUF-layout carrier file) the harness loads the files
into a scratch warehouse with medmine's readers, runs the study, and compares, side by side in
the same run, with two naive baselines computed from the *source files* (never from the
warehouse, so a loader gap cannot help them):

* ``random``: a seeded uniform score per claim;
* ``amount_vs_code_median``: ``|amount - median amount of the claim's code|`` (the one-line
  baseline named in issue 16); clinician and organisation scores are the mean over their claims.

Claim level, per scheme and overall: AUROC, average precision, precision@k and recall@k with
k = number of positives (positives = truth claims of the scheme, negatives = claims no scheme
touched), and recall within the top K of the whole list (K = number of truth claims: the
worklist an investigator would read). Provider levels: AUROC of the bad clinicians (rendering
and referring NPIs) and bad organisations against every other scored one, and each bad one's
rank (1 = first); a bad one the method does not score at all gets no rank and counts as last.

Usage::

    python bench/fraud_blind_eval.py --seed 101 --out bench/results/fraud_blind_first.json

Outputs are generated with the injector (system ``python3``) into ``--work`` when missing.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
INJECTOR = ROOT / "tests" / "data" / "fraud_injector_blind"
SAMPLES = ROOT / "data" / "samples" / "synthea_fhir"
CARRIER = "DE1_0_2008_to_2010_Carrier_Claims_Sample_1.csv"
ANCHOR = (
    "Herland et al. 2018, Medicare Part B with LEIE exclusion labels: provider AUROC 0.816. "
    "Injected schemes are far easier than real fraud (and every sample claim costs $125, so any "
    "altered amount stands out on price alone): these figures do not transfer to real data."
)


# ---------------------------------------------------------------------------- inputs
def generate(work: Path, seed: int) -> tuple[Path, Path]:
    """Run the injector for `seed` (FHIR and DE-SynPUF) unless its outputs exist."""
    fhir_out, syn_out = work / f"out_{seed}", work / f"out_synpuf_{seed}"
    syn_in = work / "synpuf_input"
    py = "python3"
    if not (syn_in / CARRIER).exists():
        subprocess.run([py, str(INJECTOR / "synpuf.py"), "gen", str(syn_in), "--seed", "7"],
                       check=True)  # fmt: skip
    if not (fhir_out / "truth.json").exists():
        subprocess.run([py, str(INJECTOR / "inject.py"), str(SAMPLES), str(fhir_out),
                        "--seed", str(seed)], check=True)  # fmt: skip
    if not (syn_out / "truth.json").exists():
        subprocess.run([py, str(INJECTOR / "inject.py"), str(syn_in), str(syn_out),
                        "--seed", str(seed), "--format", "synpuf"], check=True)  # fmt: skip
    return fhir_out, syn_out


def fhir_source_claims(folder: Path) -> pd.DataFrame:
    """One row per FHIR Claim read from the bundles: id, code, amount, clinician NPI, org id."""
    rows = []
    for f in sorted(folder.glob("*.json*")):
        if f.name == "truth.json":
            continue
        opener = gzip.open if f.suffix == ".gz" else open
        with opener(f, "rt") as fh:
            bundle = json.load(fh)
        by_url = {e.get("fullUrl"): e["resource"] for e in bundle.get("entry", [])}
        for res in by_url.values():
            if res.get("resourceType") != "Claim":
                continue
            item = (res.get("item") or [{}])[0]
            code = ((item.get("productOrService") or {}).get("coding") or [{}])[0].get("code")
            amount = (item.get("net") or res.get("total") or {}).get("value")
            org = by_url.get((res.get("provider") or {}).get("reference"), {})
            npi = None
            for ct in res.get("careTeam") or []:
                roles = json.dumps(ct.get("role", {}))
                if "rendering" in roles or npi is None:
                    prac = by_url.get((ct.get("provider") or {}).get("reference"), {})
                    for ident in prac.get("identifier") or []:
                        if "us-npi" in ident.get("system", ""):
                            npi = ident.get("value")
                    if "rendering" in roles:
                        break
            rows.append(
                {
                    "claim": res["id"],
                    "code": code,
                    "amount": float(amount) if amount is not None else np.nan,
                    "clinician": npi,
                    "organisation": org.get("id"),
                }
            )
    return pd.DataFrame(rows)


def synpuf_source_claims(folder: Path) -> pd.DataFrame:
    """One row per carrier claim: CLM_ID, first line's HCPCS, claim allowed total, NPI, TAX_NUM."""
    rows = []
    with open(folder / CARRIER, newline="") as fh:
        for r in csv.DictReader(fh):
            amount = sum(float(r.get(f"LINE_ALOWD_CHRG_AMT_{i}") or 0) for i in range(1, 14))
            rows.append(
                {
                    "claim": r["CLM_ID"],
                    "code": r["HCPCS_CD_1"],
                    "amount": amount,
                    "clinician": r["PRF_PHYSN_NPI_1"] or None,
                    "organisation": r["TAX_NUM_1"] or None,
                }
            )
    return pd.DataFrame(rows)


def baselines(src: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The two naive baselines per claim (from the source files only)."""
    med = src.groupby("code")["amount"].transform("median")
    out = src[["claim", "clinician", "organisation"]].copy()
    out["amount_vs_code_median"] = (src["amount"] - med).abs().fillna(0.0)
    out["random"] = np.random.default_rng(seed).random(len(src))
    return out


# ---------------------------------------------------------------------------- study
def run_study(kind: str, folder: Path) -> dict[str, Any]:
    """Load `folder` into a scratch warehouse, run claims_fraud, return source-keyed scores."""
    from medmine.studies import claims_fraud
    from medmine.studies.contract import MissingDataError
    from medmine.warehouse import Warehouse

    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as d, Warehouse(Path(d) / "w.duckdb") as wh:
        if kind == "fhir":
            from medmine.ingest import fhir

            report = fhir.load([folder], wh)
        else:
            from medmine.ingest import claims

            report = claims.load([folder], wh)
        t_load = time.perf_counter() - t
        out: dict[str, Any] = {
            "load_seconds": round(t_load, 1),
            "load_report": {
                k: getattr(report.totals, k) for k in ("read", "loaded", "quarantined")
            },
            "quarantine_reasons": wh.df(
                "SELECT resource_type, reason_code, message, count(*) AS n FROM mm_quarantine "
                "GROUP BY ALL ORDER BY n DESC LIMIT 5"
            ).to_dict("records"),
        }
        try:
            result = claims_fraud.run(wh)
        except MissingDataError as err:  # the study could not run: it scores nothing
            out["study_error"] = str(err).replace(d, "<scratch>")
            out["claims"] = pd.DataFrame(columns=["claim", "score"], dtype=float)
            out["clinicians"] = pd.DataFrame(columns=["key", "score"])
            out["organisations"] = pd.DataFrame(columns=["key", "score"])
            out["study_seconds"] = round(time.perf_counter() - t - t_load, 1)
            return out
        tables = result.output_tables()
        if "claims_ranked" in tables:  # the worklists carry source ids
            c = tables["claims_ranked"]
            out["claims"] = pd.DataFrame({"claim": c["claim_id"].astype(str), "score": c["score"]})
            cl = tables["clinicians_ranked"]
            out["clinicians"] = pd.DataFrame(
                {"key": cl["clinician_id"].astype(str), "score": cl["score"]}
            )
            og = tables["organisations_ranked"]
            out["organisations"] = pd.DataFrame(
                {"key": og["organisation_id"].astype(str), "score": og["score"]}
            )
        else:  # the study before issue 16: internal ids, mapped back through the warehouse
            src = wh.df("SELECT claim_id, claim_source_value FROM mm_claim")
            src["claim"] = src["claim_source_value"].str.split(r"[/:]", regex=True).str[-1]
            cs = result.claim_scores.merge(src, on="claim_id")
            out["claims"] = cs[["claim", "score"]]
            npi = wh.df("SELECT provider_id, npi FROM provider")
            pv = result.providers.merge(npi, on="provider_id", how="left")
            pv = pv[pv["npi"].notna()]
            out["clinicians"] = pd.DataFrame({"key": pv["npi"].astype(str), "score": pv["score"]})
            out["organisations"] = pd.DataFrame(columns=["key", "score"])  # never scored
        out["study_seconds"] = round(time.perf_counter() - t - t_load, 1)
    return out


# ---------------------------------------------------------------------------- metrics
def hits_at_k(y: np.ndarray, v: np.ndarray, k: int) -> float:
    """Expected positives among the top `k` scores, ties in random order (no tie favours y)."""
    if k <= 0:
        return 0.0
    order = np.sort(v)[::-1]
    t = order[min(k, len(v)) - 1]
    above = v > t
    tied = v == t
    return float(y[above].sum() + (k - above.sum()) * y[tied].mean())


def claim_metrics(scores: pd.Series, truth: pd.DataFrame, claims: pd.Index) -> list[dict]:
    """Per scheme and overall claim-level figures for one score per claim (index = claim)."""
    s = scores.astype(float).reindex(claims)
    s = s.fillna(s.min() - 1 if s.notna().any() else 0.0)
    touched = set(truth["claim"])
    clean = claims[~claims.isin(list(touched))]
    K = len(touched)
    rows = []
    groups = [("overall", truth["claim"].unique())]
    groups += [(k, g["claim"].unique()) for k, g in truth.groupby("scheme")]
    for scheme, pos in groups:
        pos = pd.Index(pos).intersection(claims)
        ids = pos.append(clean)
        y = np.r_[np.ones(len(pos)), np.zeros(len(clean))]
        v = s.loc[ids].to_numpy()
        k = len(pos)
        hits = hits_at_k(y, v, k)
        in_top_all = hits_at_k(s.index.isin(list(pos)).astype(float), s.to_numpy(), K)
        rows.append(
            {
                "scheme": scheme,
                "positives": k,
                "negatives": len(clean),
                "auroc": round(float(roc_auc_score(y, v)), 3),
                "average_precision": round(float(average_precision_score(y, v)), 3),
                "precision_at_k": round(hits / k, 3),
                "recall_at_k": round(hits / k, 3),
                "precision_at_100": round(hits_at_k(y, v, 100) / 100, 3),
                "recall_in_top_K_of_all": round(in_top_all / k, 3),
            }
        )
    return rows


def entity_metrics(scores: pd.DataFrame, bad: list[str], universe: set[str]) -> dict:
    """AUROC and ranks of the bad entities among every entity of the universe."""
    s = scores.dropna().groupby("key")["score"].max()
    keys = sorted(universe | set(s.index))
    v = s.reindex(keys).fillna(s.min() - 1 if len(s) else 0.0)
    y = np.array([k in bad for k in keys], dtype=float)
    order = v.rank(ascending=False, method="max")  # ties rank a bad one last among them
    ranks = {b: (int(order[b]) if b in s.index else None) for b in bad}
    return {
        "n_entities": len(keys),
        "n_scored": int(len(s)),
        "auroc": round(float(roc_auc_score(y, v.to_numpy())), 3) if 0 < y.sum() < len(y) else None,
        "ranks_of_bad": ranks,
        "all_bad_in_top5": all(r is not None and r <= 5 for r in ranks.values()),
    }


def evaluate(kind: str, folder: Path, seed: int) -> dict[str, Any]:
    """Every figure for one injector output."""
    truth_doc = json.loads((folder / "truth.json").read_text())
    tr = pd.DataFrame(
        [(str(c["claim_id"]), s) for c in truth_doc["claims"] for s in c["schemes"]],
        columns=["claim", "scheme"],
    )
    src = fhir_source_claims(folder) if kind == "fhir" else synpuf_source_claims(folder)
    src["claim"] = src["claim"].astype(str)
    base = baselines(src, seed)
    study = run_study(kind, folder)
    claims = pd.Index(src["claim"])
    methods = {"study": study["claims"].groupby("claim")["score"].max()}
    for b in ("amount_vs_code_median", "random"):
        methods[b] = base.set_index("claim")[b]
    if kind == "fhir":
        bad_orgs = [o["id"] for o in truth_doc["bad_organizations"]]
    else:
        bad_orgs = [o["tax_num"] for o in truth_doc["bad_organizations"]]
    bad_clin = [str(c["npi"]) for c in truth_doc["bad_clinicians"]]
    bad_rendering = [str(c["npi"]) for c in truth_doc["bad_clinicians"] if c["role"] == "rendering"]
    clin_universe = set(src["clinician"].dropna().astype(str))
    org_universe = set(src["organisation"].dropna().astype(str))
    out: dict[str, Any] = {
        "input": kind,
        "claims": len(src),
        "truth_claims": int(tr["claim"].nunique()),
        "load_seconds": study["load_seconds"],
        "study_seconds": study["study_seconds"],
        "load_report": study["load_report"],
        "quarantine_reasons": study["quarantine_reasons"],
        "study_error": study.get("study_error"),
        "claim_level": {m: claim_metrics(s, tr, claims) for m, s in methods.items()},
        "clinician_level": {},
        "organisation_level": {},
    }
    ent = {
        "study": (study["clinicians"], study["organisations"]),
    }
    for b in ("amount_vs_code_median", "random"):
        cl = base.groupby("clinician")[b].mean().rename("score").rename_axis("key").reset_index()
        og = base.groupby("organisation")[b].mean().rename("score").rename_axis("key")
        ent[b] = (cl, og.reset_index())
    for m, (cl, og) in ent.items():
        cl = cl.assign(key=cl["key"].astype(str))
        og = og.assign(key=og["key"].astype(str))
        out["clinician_level"][m] = {
            "all_bad": entity_metrics(cl, bad_clin, clin_universe),
            "rendering_only": entity_metrics(cl, bad_rendering, clin_universe),
        }
        out["organisation_level"][m] = entity_metrics(og, bad_orgs, org_universe)
    return out


def _print(res: dict[str, Any]) -> None:
    print(f"\n== {res['input']}: {res['claims']} claims, {res['truth_claims']} truth claims")
    rows = []
    for m, lst in res["claim_level"].items():
        for r in lst:
            rows.append({"method": m, **r})
    df = pd.DataFrame(rows)
    piv = df.pivot(index="scheme", columns="method", values=["auroc", "precision_at_k"])
    print(piv.to_string())
    for lvl in ("clinician_level", "organisation_level"):
        for m, v in res[lvl].items():
            print(lvl, m, json.dumps(v))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "fraud_blind")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--label", default="", help="what this run is (first / development / locked)")
    ap.add_argument("--inputs", nargs="+", default=["fhir", "synpuf"])
    args = ap.parse_args(argv)
    fhir_out, syn_out = generate(args.work, args.seed)
    results = []
    for kind in args.inputs:
        res = evaluate(kind, fhir_out if kind == "fhir" else syn_out, args.seed)
        _print(res)
        results.append(res)
    import medmine

    code = Path(medmine.__file__).resolve().parents[1]
    commit_file = code.parent / "COMMIT"  # a `git archive` export of one commit
    git = (
        commit_file.read_text().strip()
        if commit_file.exists()
        else subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip() + " (+ working tree)"
    )  # fmt: skip
    doc = {
        "benchmark": "fraud_blind_eval",
        "label": args.label,
        "seed": args.seed,
        "code": git,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "anchor": ANCHOR,
        "goal": "claim AUROC >= 0.90 overall and >= 0.80 per scheme; every bad organisation "
        "and clinician in the top 5; above both baselines",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=float))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
