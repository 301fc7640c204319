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

Every step that touches each claim or line runs as set-wise SQL in the warehouse
(`medmine.studies._claims_sql`, DuckDB dialect that SQLGlot transpiles); pandas formats the
reasons of the hit rows and scores the providers. ``docs/patterns.md`` has the costs at 10^5 to
10^7 claims (``bench/fraud_scale.py``).

Claims review is a payment-integrity operation: no consent filter is applied by default
(set ``consent_purpose`` to restrict persons).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from medmine.features.persons import select_persons
from medmine.studies import _claims_sql as q
from medmine.studies._claims_edits import (
    EDIT_SQL,
    EDIT_WEIGHTS,
    build_fl,
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
from medmine.studies._claims_schemes import (
    SCHEME_WEIGHTS,
    SCHEME_WORDS,
    build_claims,
    build_lines,
    claim_frame,
    line_frame,
    reference_table,
    scheme_hits,
)
from medmine.studies._claims_types import FraudResult, FraudStudyConfig
from medmine.studies._claims_worklists import (
    CLAIM_COLUMNS,
    COMPACT_FROM,
    add_context,
    add_profiles,
    claim_scores,
    entity_scores,
    hit_claims,
    overall_rate,
    plausibility_notes,
    ranked_claims,
    read_mue,
    read_ptp,
)
from medmine.studies.contract import FunctionStudy, MissingDataError
from medmine.warehouse.sql import ident

__all__ = [
    "EDIT_SQL",
    "EDIT_WEIGHTS",
    "FEATURES",
    "FraudResult",
    "FraudStudyConfig",
    "claim_edits",
    "claim_frame",
    "line_frame",
    "evaluate",
    "SCHEME_WEIGHTS",
    "SCHEME_WORDS",
    "read_mue",
    "read_ptp",
    "worklists",
    "provider_features",
    "reference_tables",
    "rule_violations",
    "run",
    "score_providers",
    "STUDY",
]


def rule_violations(
    wh: Any, fl: str, cfg: FraudStudyConfig, person_sql: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines whose procedure has mined supporting diagnoses, none of which is on the claim.

    `fl` is the line table of `build_fl`. Returns ``(violations, rules)``; violations have
    the columns of `claim_edits`.
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
    wh.con.register("_fraud_bad", bad)
    try:
        hit = q.run(wh.con, q.LINES_OF, fl=fl, bad="_fraud_bad")
    finally:
        wh.con.unregister("_fraud_bad")
    hit["detail"] = (
        "procedure "
        + hit["code"]
        + " billed without a supporting diagnosis (usually "
        + hit["expected"]
        + ")"
    )
    return hit[["claim_line_id", "claim_id", "provider_id", "detail"]], rules


#: Edits of the shipped SQL checks that no scheme detector covers (kept as claim findings).
_EDIT_ONLY = ("before_birth", "sex_mismatch", "age_mismatch", "rule_violation")


def _edit_hits(edits: pd.DataFrame) -> pd.DataFrame:
    e = edits[edits["edit"].isin(list(_EDIT_ONLY))].drop_duplicates(["claim_id", "edit"])
    return pd.DataFrame(
        {
            "claim_id": e["claim_id"].to_numpy(),
            "scheme": e["edit"].to_numpy(),
            "strength": 1.0,
            "reason": e["detail"].to_numpy(),
            "evidence": "",
        }
    )


def _tables(cfg: FraudStudyConfig) -> dict[str, pd.DataFrame]:
    code = {"code": str, "column1_code": str, "column2_code": str}
    ncci = (
        read_ptp(cfg.ncci_table)
        if cfg.ncci_table
        else reference_table(None, "ncci_pairs.csv", code)
    )
    mue = (
        read_mue(cfg.mue_table) if cfg.mue_table else reference_table(None, "mue_limits.csv", code)
    )
    minutes = reference_table(None, "procedure_minutes.csv", code)
    return {"ncci": ncci, "mue": mue, "minutes": minutes}


def worklists(
    wh: Any,
    cfg: FraudStudyConfig,
    edits: pd.DataFrame,
    person_sql: str | None = None,
    providers: pd.DataFrame | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Scheme hits and the three ranked lists (claims, clinicians, organisations).

    Everything per claim runs in SQL on the temporary claim table; ``claim_scores`` is the
    per-claim frame of `_claim_scores` (warehouse and source ids, score, schemes).
    `on_stage(name)` is called as each stage ends (benchmarks time them).
    """
    stage = on_stage or (lambda _name: None)
    con = wh.con
    C = build_claims(con, person_sql)
    L = build_lines(con, person_sql)
    stage("claim_table")
    hits, conc = scheme_hits(wh, C, L, _tables(cfg))
    con.execute(f"DROP TABLE IF EXISTS {ident(L)}")
    stage("detectors")
    extra = _edit_hits(edits)
    if len(extra):
        hits = pd.concat([hits, extra], ignore_index=True)
    S = claim_scores(con, C, hits)
    con.execute(f"DROP TABLE IF EXISTS {ident(C)}")  # the scored table holds every column
    # referrers are clinicians too: their concentration rows are keyed by referrer_id
    p = overall_rate(con, S)
    hc = hit_claims(con, S, hits)
    clin = entity_scores(con, S, hits, "clinician_id", conc, "referrer_id", p=p, hc=hc)
    org = entity_scores(con, S, hits, "organisation_id", conc, "organisation_id", p=p, hc=hc)
    names = con.execute(
        f"SELECT organisation_id, first(organisation_name ORDER BY ord) AS name FROM {ident(S)} "
        "WHERE organisation_id IS NOT NULL GROUP BY 1"
    ).df()
    names = names.set_index("organisation_id")["name"]
    org.insert(2, "organisation_name", org["organisation_id"].map(names))
    prov = providers if providers is not None else pd.DataFrame()
    keys = wh.df("SELECT provider_id, coalesce(npi, provider_source_value) AS k FROM provider")
    clin = add_profiles(clin, prov, keys.set_index("provider_id")["k"], cfg.profile_weight)
    add_context(con, S, clin, org, prov, cfg.provider_context, cfg.profile_context)
    notes = plausibility_notes(con, S)
    stage("scores_and_entities")
    ranked = ranked_claims(con, S)
    scores = _claim_scores(ranked, cfg.flag_score)
    src = hits.merge(
        hc[["claim_id", "source_id"]]
        if len(hc)
        else pd.DataFrame(columns=["claim_id", "source_id"]),
        on="claim_id",
    )
    src = src.rename(columns={"claim_id": "internal_id", "source_id": "claim_id"})
    q.drop_tables(con)
    if len(hits) and hits["strength"].dtype == object and len(ranked) < COMPACT_FROM:
        # The pandas implementation summed object-dtype strengths, so its score columns were
        # object (Python floats); kept so saved lists and pinned figures read as before.
        for frame in (ranked, scores, clin, org):
            frame["score"] = frame["score"].astype(object)
    stage("ranked_list")
    return {
        "notes": notes,
        "claim_scores": scores,
        "claims_ranked": ranked[CLAIM_COLUMNS],
        "clinicians_ranked": clin,
        "organisations_ranked": org,
        "scheme_hits": src[["claim_id", "scheme", "strength", "reason", "evidence", "internal_id"]],
    }


def _claim_scores(ranked: pd.DataFrame, flag_at: float) -> pd.DataFrame:
    """Per claim (highest score first, warehouse id among equals): warehouse and source ids,
    parties, score, schemes and whether it is flagged.
    """
    out = pd.DataFrame(
        {
            "claim_id": ranked["internal_id"],
            "source_id": ranked["claim_id"],
            "organisation_id": ranked["organisation_id"],
            "clinician_id": ranked["clinician_id"],
            "score": ranked["score"],
            "edits": ranked["schemes"],
        }
    )
    out["flagged"] = out["score"] >= flag_at
    order = np.lexsort((out["claim_id"].to_numpy(), -out["score"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def run(
    wh: Any,
    config: FraudStudyConfig | None = None,
    truth: Any = None,
    on_stage: Callable[[str], None] | None = None,
) -> FraudResult:
    """Run the study on warehouse `wh`; with `truth` (a `FraudTruth`), also evaluate it.

    `on_stage(name)` is called as each stage ends (``edits``, ``rule_violations``,
    ``provider_profiles``, ``claim_table``, ``detectors``, ``scores_and_entities``,
    ``ranked_list``, ``result``); benchmarks time the stages with it.
    """
    stage = on_stage or (lambda _name: None)
    STUDY.check_data(wh)
    cfg = config or FraudStudyConfig()
    person_sql = select_persons(wh, cfg.consent_purpose).person_ids_sql
    fl = build_fl(wh.con, person_sql)
    n_lines, n_claims = wh.con.execute(q.sql(q.LINE_COUNTS, fl=fl)).fetchall()[0]
    if n_lines == 0:
        q.drop_tables(wh.con)
        raise MissingDataError(
            "claims_fraud needs mm_claim_line rows (none, or none with consent); load claims "
            "with `medmine ingest claims` first"
        )
    edits = claim_edits(wh, person_sql, fl)
    stage("edits")
    viol, rules = rule_violations(wh, fl, cfg, person_sql)
    stage("rule_violations")
    if len(viol):
        edits = pd.concat([edits, viol.assign(edit="rule_violation")], ignore_index=True)
    feats, em_long = provider_features(wh, fl, edits, cfg)
    wh.con.execute(f"DROP TABLE IF EXISTS {ident(fl)}")
    prov = score_providers(feats, cfg)
    stage("provider_profiles")
    w = worklists(wh, cfg, edits, person_sql, prov, on_stage)
    claims = w["claim_scores"]
    # every output names the source's ids next to the warehouse's
    src_of = claims.set_index("claim_id")["source_id"]
    edits = edits.assign(source_claim_id=edits["claim_id"].map(src_of))
    del src_of
    keys = wh.df("SELECT provider_id, coalesce(npi, provider_source_value) AS k FROM provider")
    prov = prov.assign(clinician_id=prov["provider_id"].map(keys.set_index("provider_id")["k"]))
    # claims with a finding of their own (provider context alone is no finding)
    inv_c = w["claims_ranked"][w["claims_ranked"]["schemes"] != ""].head(cfg.top_claims)
    inv_p = w["clinicians_ranked"].head(cfg.top_providers)
    result = FraudResult(
        config=cfg,
        n_claims=int(n_claims),
        n_lines=int(n_lines),
        edits=edits,
        providers=prov,
        claim_scores=claims,
        rules=rules,
        investigate_providers=inv_p.reset_index(drop=True),
        investigate_claims=inv_c.reset_index(drop=True),
        em_distribution=em_long,
        claims_ranked=w["claims_ranked"],
        clinicians_ranked=w["clinicians_ranked"],
        organisations_ranked=w["organisations_ranked"],
        scheme_hits=w["scheme_hits"],
    )
    if prov.empty:
        result.notes.append(
            "No provider could be profiled against peers: the claim lines name no provider "
            "known to the warehouse's provider table (load providers with the claims, e.g. "
            "FHIR Practitioner/Organization). Claim edits and rule violations still ran."
        )
        result.status = "warn"
    if w["notes"]:
        result.notes.extend(w["notes"])
        result.status = "warn"
    stage("result")
    if truth is not None:
        result.evaluation = evaluate(result, truth)
        ev = result.evaluation
        claim = ev[(ev["level"] == "claim") & ev["auroc"].notna()]
        if len(claim) and (claim["auroc"] >= 0.98).any():
            result.notes.append(
                "Too good to be true: claim-level AUROC >= 0.98 for "
                + ", ".join(claim.loc[claim["auroc"] >= 0.98, "scheme"])
                + ". Injected schemes are far easier than real fraud (the published anchor on "
                "real Medicare data with exclusion labels is AUROC 0.816, Herland et al. 2018)."
            )
        few = claim[claim["positives"] < 10]
        if len(few):
            result.notes.append(
                "Few events: fewer than 10 positives for "
                + ", ".join(few["scheme"])
                + "; their figures are uncertain."
            )
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
