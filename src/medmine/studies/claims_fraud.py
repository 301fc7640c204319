"""Study `claims_fraud`: claim edits, provider profiling against specialty peers, violations of
mined diagnosis -> procedure rules, and a ranked investigation list with reasons and evidence.

Works on ``mm_claim`` / ``mm_claim_line`` with ``person``, ``death`` and ``provider``:

1. **Claim edits** (SQL, one query each): exact and near duplicates, services after death or
   before birth, sex- and age-inconsistent procedures, unbundled NCCI-style pairs and units
   above MUE-style limits (the tables shipped in ``medmine/studies/data``).
2. **Provider profiles** (SQL aggregates): volume, cost per patient, procedure mix
   (Jensen–Shannon divergence from the specialty), E&M level mix (mean level, KL divergence
   from the specialty), patient patterns, referral concentration and edit rates; scored by
   robust z (upper tail), ECOD and Isolation Forest within specialty peer groups; the
   ranking score averages the percentile ranks of robust z and Isolation Forest.
3. **Rule violations**: procedures billed without any diagnosis that significantly predicts
   them (rules mined per claim by FP-Growth, Fisher + BH).
4. **Investigation list**: providers and claims ranked, each with human-readable reasons and
   evidence rows (claim and line ids only, never names).

Claims review is a payment-integrity operation: no consent filter is applied by default
(set ``consent_purpose`` to restrict persons).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from medmine.features.persons import select_persons
from medmine.studies._claims_edits import (
    EDIT_SQL,
    EDIT_WEIGHTS,
    _lines,
    claim_edits,
    reference_tables,
)
from medmine.studies._claims_eval import evaluate
from medmine.studies._claims_profiles import (
    _EM,
    FEATURES,
    provider_features,
    score_providers,
)
from medmine.studies._claims_types import FraudResult, FraudStudyConfig
from medmine.studies.contract import FunctionStudy, MissingDataError

__all__ = [
    "EDIT_SQL",
    "EDIT_WEIGHTS",
    "FEATURES",
    "FraudResult",
    "FraudStudyConfig",
    "claim_edits",
    "evaluate",
    "investigation_lists",
    "provider_features",
    "reference_tables",
    "rule_violations",
    "run",
    "score_providers",
    "STUDY",
]


def rule_violations(
    wh: Any, lines: pd.DataFrame, cfg: FraudStudyConfig, person_sql: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines whose procedure has mined supporting diagnoses, none of which is on the claim.

    Returns ``(violations, rules)``; violations have the columns of `claim_edits`.
    """
    from medmine.mining.rules import claim_transactions
    from medmine.studies.comorbidity_rules import describe, mine

    tx = claim_transactions(wh, person_ids_sql=person_sql)
    empty = pd.DataFrame(columns=["claim_line_id", "claim_id", "provider_id", "detail"])
    if tx.n == 0:
        return empty, pd.DataFrame()
    dx = [i for i in tx.items if i.startswith("dx:")]
    proc = [i for i in tx.items if i.startswith("proc:") and i.rsplit(":", 1)[1] not in _EM]
    m = mine(
        tx,
        min_support=cfg.rule_min_support,
        min_confidence=cfg.rule_min_confidence,
        min_lift=1.0,
        max_len=2,
        antecedents=dx,
        consequents=proc,
        alpha=cfg.alpha,
    )
    rules = describe(m.rules_, tx.label_of())
    if rules.empty:
        return empty, rules
    col = {k: i for i, k in enumerate(tx.items)}
    X = tx.matrix.tocsc()
    bad_rows = []
    for p, g in rules.groupby(rules["consequents"].map(lambda c: next(iter(c)))):
        has_p = X[:, col[p]].toarray().ravel() > 0
        ante = sorted({next(iter(a)) for a in g["antecedents"]})
        supported = np.asarray(X[:, [col[a] for a in ante]].sum(axis=1)).ravel() > 0
        coverage = supported[has_p].mean() if has_p.any() else 0.0
        if coverage < cfg.min_rule_coverage:
            continue  # the procedure is not tied to these diagnoses often enough to judge
        idx = np.flatnonzero(has_p & ~supported)
        if len(idx):
            _, vocab, code = p.split(":", 2)
            bad_rows.append(
                pd.DataFrame(
                    {
                        "claim_id": tx.ids[idx],
                        "vocab": vocab,
                        "code": code,
                        "expected": ", ".join(a[3:] for a in ante[:4]),
                    }
                )
            )
    if not bad_rows:
        return empty, rules
    bad = pd.concat(bad_rows, ignore_index=True)
    hit = lines.merge(bad, on=["claim_id", "vocab", "code"])
    hit["detail"] = (
        "procedure "
        + hit["code"]
        + " billed without a supporting diagnosis (usually "
        + hit["expected"]
        + ")"
    )
    return hit[["claim_line_id", "claim_id", "provider_id", "detail"]], rules


def _claim_scores(lines, edits, providers) -> pd.DataFrame:
    claims = lines.groupby("claim_id").agg(provider_id=("provider_id", "first")).reset_index()
    e = edits.assign(w=edits["edit"].map(EDIT_WEIGHTS).astype(float))
    per = e.drop_duplicates(["claim_id", "edit"]).groupby("claim_id")
    agg = pd.DataFrame({"edit_score": per["w"].sum(), "edits": per["edit"].agg(", ".join)})
    claims = claims.merge(agg, left_on="claim_id", right_index=True, how="left")
    claims["edit_score"] = claims["edit_score"].fillna(0.0)
    claims["edits"] = claims["edits"].fillna("")
    pscore = providers.set_index("provider_id")["score"]
    pflag = providers.set_index("provider_id")["flagged"]
    claims["provider_score"] = claims["provider_id"].map(pscore).fillna(0.0)
    claims["score"] = claims["edit_score"] + claims["provider_score"]
    strong = claims["edit_score"] >= 2
    flag = claims["provider_id"].map(pflag).astype("boolean").fillna(False).astype(bool)
    claims["flagged"] = strong | flag
    return claims.sort_values(
        ["score", "claim_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def _provider_reasons(row: pd.Series, f: pd.DataFrame, edits: pd.DataFrame, z: float) -> str:
    peers = f[f["specialty"] == row["specialty"]]
    reasons = []
    for col, words in FEATURES.items():
        if row[f"z_{col}"] >= z:
            reasons.append(
                f"{words} {row[col]:.3g} vs {row['specialty']} median "
                f"{peers[col].median():.3g} (z={row[f'z_{col}']:.1f})"
            )
    mine = edits[edits["provider_id"] == row["provider_id"]]
    counts = mine["edit"].value_counts()
    if len(counts):
        reasons.append("edits: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "; ".join(reasons) or "unusual combination of profile features (multivariate)"


def investigation_lists(result_parts: dict[str, Any], cfg: FraudStudyConfig):
    """Ranked providers and claims with reasons and evidence ids."""
    prov, edits, claims = (result_parts[k] for k in ("providers", "edits", "claims"))
    top = prov.sort_values(["score", "provider_id"], ascending=[False, True], kind="stable").head(
        cfg.top_providers
    )
    rows = []
    for _, r in top.iterrows():
        ev = edits[edits["provider_id"] == r["provider_id"]]
        weight = ev["edit"].map(EDIT_WEIGHTS).astype(float)
        ev_claims = ev.assign(_w=weight).sort_values(
            ["_w", "claim_id"], ascending=[False, True], kind="stable"
        )["claim_id"]
        ev_claims = list(dict.fromkeys(ev_claims.tolist()))[:10]
        if not ev_claims:
            ev_claims = (
                claims[claims["provider_id"] == r["provider_id"]]["claim_id"].head(10).tolist()
            )
        rows.append(
            {
                "provider_id": int(r["provider_id"]),
                "specialty": r["specialty"],
                "score": round(float(r["score"]), 3),
                "claims": int(r["n_claims"]),
                "reasons": _provider_reasons(r, prov, edits, cfg.z_reason),
                "evidence_claim_ids": ", ".join(str(int(c)) for c in ev_claims),
            }
        )
    crow = []
    for _, c in claims[claims["edit_score"] > 0].head(cfg.top_claims).iterrows():
        ev = edits[edits["claim_id"] == c["claim_id"]]
        crow.append(
            {
                "claim_id": int(c["claim_id"]),
                "provider_id": None if pd.isna(c["provider_id"]) else int(c["provider_id"]),
                "score": round(float(c["score"]), 2),
                "reasons": "; ".join(
                    dict.fromkeys(
                        f"{e}: {d}" for e, d in zip(ev["edit"], ev["detail"], strict=True)
                    )
                ),
                "evidence_line_ids": ", ".join(
                    str(int(x))
                    for x in dict.fromkeys(
                        ev["claim_line_id"].tolist()
                        + ev["evidence_line_id"].dropna().astype(int).tolist()
                    )
                ),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(crow)


def run(wh: Any, config: FraudStudyConfig | None = None, truth: Any = None) -> FraudResult:
    """Run the study on warehouse `wh`; with `truth` (a `FraudTruth`), also evaluate it."""
    STUDY.check_data(wh)
    cfg = config or FraudStudyConfig()
    person_sql = select_persons(wh, cfg.consent_purpose).person_ids_sql
    lines = _lines(wh, person_sql)
    if lines.empty:
        raise MissingDataError(
            "claims_fraud needs mm_claim_line rows (none, or none with consent); load claims "
            "with `medmine ingest claims` first"
        )
    edits = claim_edits(wh, person_sql)
    viol, rules = rule_violations(wh, lines, cfg, person_sql)
    if len(viol):
        edits = pd.concat([edits, viol.assign(edit="rule_violation")], ignore_index=True)
    feats, em_long = provider_features(wh, lines, edits, cfg)
    prov = score_providers(feats, cfg)
    claims = _claim_scores(lines, edits, prov)
    inv_p, inv_c = investigation_lists({"providers": prov, "edits": edits, "claims": claims}, cfg)
    result = FraudResult(
        config=cfg,
        n_claims=int(lines["claim_id"].nunique()),
        n_lines=len(lines),
        edits=edits,
        providers=prov,
        claim_scores=claims,
        rules=rules,
        investigate_providers=inv_p,
        investigate_claims=inv_c,
        em_distribution=em_long,
    )
    if prov.empty:
        result.notes.append(
            "No provider could be profiled against peers: the claim lines name no provider "
            "known to the warehouse's provider table (load providers with the claims, e.g. "
            "FHIR Practitioner/Organization). Claim edits and rule violations still ran."
        )
        result.status = "warn"
    if truth is not None:
        result.evaluation = evaluate(result, truth)
    return result


#: The registered study (`run` above is the Python API, with extras where it has them).
STUDY = FunctionStudy(
    "claims_fraud",
    "Claims fraud",
    FraudStudyConfig,
    run,
    requires=(
        (
            "mm_claim_line",
            "load claims with `medmine ingest claims`, or FHIR Claim/ExplanationOfBenefit "
            "resources with `medmine ingest fhir`",
        ),
    ),
)
