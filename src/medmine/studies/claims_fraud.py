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

import dataclasses
import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medmine.mining.anomaly import (
    ECODDetector,
    IsolationForestDetector,
    PeerScaler,
    RobustZDetector,
    rank_average,
)

#: Weight of each edit in a claim's score (severity: certain errors first).
EDIT_WEIGHTS = {
    "after_death": 5.0,
    "before_birth": 5.0,
    "exact_duplicate": 4.0,
    "near_duplicate": 3.0,
    "unbundling": 3.0,
    "excessive_units": 3.0,
    "sex_mismatch": 3.0,
    "age_mismatch": 2.0,
    "rule_violation": 1.0,
}

#: Provider features scored by the detectors (higher = more suspicious) and their wording.
FEATURES = {
    "log_claims": "claims (log)",
    "log_patients": "patients (log)",
    "claims_per_day": "claims per active day",
    "billed_per_patient": "billed per patient",
    "billed_per_claim": "billed per claim",
    "em_mean": "mean E&M level",
    "em_kl": "E&M mix divergence from peers (KL)",
    "proc_js": "procedure mix divergence from peers (JS)",
    "single_visit_share": "share of patients seen once",
    "referral_top_share": "share of referrals to one provider",
    "duplicate_rate": "duplicate lines per claim",
    "unbundling_rate": "unbundled pairs per claim",
    "units_rate": "excess-unit lines per claim",
    "violation_rate": "rule violations per claim",
}

_EM = ("99211", "99212", "99213", "99214", "99215")

_LINES = """fl AS (
    SELECT l.claim_line_id, l.claim_id, l.person_id,
           coalesce(l.rendering_provider_id, c.rendering_provider_id, c.billing_provider_id,
                    v.provider_id) AS provider_id,
           l.service_date, coalesce(l.procedure_vocabulary_id, '') AS vocab,
           l.procedure_code AS code, coalesce(l.units, 1) AS units,
           coalesce(l.billed_amount, 0) AS amount
    FROM mm_claim_line l JOIN mm_claim c USING (claim_id)
         LEFT JOIN visit_occurrence v ON v.visit_occurrence_id = c.visit_occurrence_id
    WHERE l.procedure_code IS NOT NULL {person_filter}
)"""

_BIRTH = (
    "coalesce(CAST(p.birth_datetime AS DATE), "
    "make_date(p.year_of_birth, coalesce(p.month_of_birth, 1), coalesce(p.day_of_birth, 1)))"
)

#: One query per edit: rows (claim_line_id, claim_id, provider_id, evidence_line_id, detail).
EDIT_SQL: dict[str, str] = {
    "exact_duplicate": """
        SELECT claim_line_id, claim_id, provider_id, first_line AS evidence_line_id,
               'same person, provider, code ' || code || ', date and amount as line '
               || first_line AS detail
        FROM (SELECT *, row_number() OVER w AS rn, first_value(claim_line_id) OVER w AS first_line
              FROM fl WINDOW w AS (PARTITION BY person_id, provider_id, vocab, code,
                                   service_date, amount, units
                                   ORDER BY claim_id, claim_line_id))
        WHERE rn > 1""",
    "near_duplicate": """
        SELECT b.claim_line_id, b.claim_id, b.provider_id, a.claim_line_id,
               'code ' || b.code || ' billed the day after line ' || a.claim_line_id
               || ' for the same person, provider and amount'
        FROM fl a JOIN fl b ON a.person_id = b.person_id
             AND a.provider_id IS NOT DISTINCT FROM b.provider_id
             AND a.vocab = b.vocab AND a.code = b.code AND a.amount = b.amount
             AND b.service_date = a.service_date + 1 AND a.claim_id <> b.claim_id""",
    "after_death": """
        SELECT f.claim_line_id, f.claim_id, f.provider_id, NULL,
               'service ' || date_diff('day', d.death_date, f.service_date)
               || ' days after the recorded death'
        FROM fl f JOIN (SELECT person_id, min(death_date) AS death_date FROM death
                        GROUP BY 1) d USING (person_id)
        WHERE f.service_date > d.death_date""",
    "before_birth": f"""
        SELECT f.claim_line_id, f.claim_id, f.provider_id, NULL,
               'service before the earliest possible birth date'
        FROM fl f JOIN person p USING (person_id)
        WHERE p.year_of_birth IS NOT NULL AND f.service_date < {_BIRTH}""",
    "sex_mismatch": """
        SELECT f.claim_line_id, f.claim_id, f.provider_id, NULL,
               'procedure ' || f.code || ' (' || r.display || ') is for sex ' || r.sex
        FROM fl f JOIN person p USING (person_id)
             JOIN _ref_sexage r ON r.vocabulary_id = f.vocab AND r.code = f.code
        WHERE r.sex IS NOT NULL AND p.gender_concept_id IN (8507, 8532)
          AND r.sex <> CASE p.gender_concept_id WHEN 8507 THEN 'M' ELSE 'F' END""",
    "age_mismatch": f"""
        SELECT claim_line_id, claim_id, provider_id, NULL,
               'procedure ' || code || ' (' || display || ') at age ' || age
        FROM (SELECT f.*, r.display, r.min_age, r.max_age,
                     date_sub('year', {_BIRTH}, f.service_date) AS age
              FROM fl f JOIN person p USING (person_id)
                   JOIN _ref_sexage r ON r.vocabulary_id = f.vocab AND r.code = f.code
              WHERE p.year_of_birth IS NOT NULL)
        WHERE age >= 0 AND (age < min_age OR age > max_age)""",
    "unbundling": """
        SELECT b.claim_line_id, b.claim_id, b.provider_id, a.claim_line_id,
               b.code || ' billed with ' || a.code || ' on the same day ('
               || r.column2_display || ' is included in ' || r.column1_display || ')'
        FROM _ref_ncci r
        JOIN fl a ON a.vocab = r.vocabulary_id AND a.code = r.column1_code
        JOIN fl b ON b.vocab = r.vocabulary_id AND b.code = r.column2_code
             AND a.person_id = b.person_id AND a.service_date = b.service_date
             AND a.provider_id IS NOT DISTINCT FROM b.provider_id""",
    "excessive_units": """
        SELECT f.claim_line_id, f.claim_id, f.provider_id, NULL,
               g.total || ' units of ' || f.code || ' on one claim and day (limit '
               || g.max_units_per_day || ')'
        FROM fl f JOIN (
            SELECT fl.claim_id, fl.vocab, fl.code, fl.service_date, sum(fl.units) AS total,
                   any_value(r.max_units_per_day) AS max_units_per_day
            FROM fl JOIN _ref_mue r ON r.vocabulary_id = fl.vocab AND r.code = fl.code
            GROUP BY fl.claim_id, fl.vocab, fl.code, fl.service_date
            HAVING sum(fl.units) > any_value(r.max_units_per_day)
        ) g ON f.claim_id = g.claim_id AND f.vocab = g.vocab AND f.code = g.code
           AND f.service_date = g.service_date""",
}


@dataclass(frozen=True)
class FraudStudyConfig:
    """Settings of the claims fraud study."""

    contamination: float = 0.05
    min_peer_group: int = 5
    referral_window_days: int = 30
    min_referrals: int = 5
    rule_min_support: float = 0.002
    rule_min_confidence: float = 0.15
    #: A procedure is checked only if its supporting diagnoses cover this share of its claims.
    min_rule_coverage: float = 0.9
    alpha: float = 0.05
    z_reason: float = 3.0
    top_providers: int = 25
    top_claims: int = 50
    consent_purpose: str | None = None
    random_state: int = 0


@dataclass
class FraudResult:
    """Everything the study found. Frames hold ids, codes and numbers only."""

    config: FraudStudyConfig
    n_claims: int
    n_lines: int
    edits: pd.DataFrame  # edit, claim_line_id, claim_id, provider_id, evidence_line_id, detail
    providers: pd.DataFrame  # one row per provider: specialty, features, detector scores
    claim_scores: pd.DataFrame  # claim_id, provider_id, score, edits, flagged
    rules: pd.DataFrame  # dx -> procedure rules used for violations
    investigate_providers: pd.DataFrame
    investigate_claims: pd.DataFrame
    em_distribution: pd.DataFrame  # provider_id, level, count
    evaluation: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def reference_tables() -> dict[str, pd.DataFrame]:
    """The shipped tables: NCCI-style pairs, MUE-style limits, sex/age restrictions."""
    base = importlib.resources.files("medmine.studies") / "data"
    read = {"dtype": {"code": str, "column1_code": str, "column2_code": str}}
    return {
        "_ref_ncci": pd.read_csv(base / "ncci_pairs.csv", **read),
        "_ref_mue": pd.read_csv(base / "mue_limits.csv", **read),
        "_ref_sexage": pd.read_csv(base / "procedure_sex_age.csv", **read),
    }


class _Scope:
    """Register the reference tables on a connection for the duration of a block."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def __enter__(self) -> _Scope:
        for name, df in reference_tables().items():
            self.con.register(name, df)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in reference_tables():
            self.con.unregister(name)


def _with_lines(sql: str, person_sql: str | None) -> str:
    filt = f"AND l.person_id IN ({person_sql})" if person_sql else ""
    return "WITH " + _LINES.format(person_filter=filt) + "\n" + sql


def claim_edits(wh: Any, person_sql: str | None = None) -> pd.DataFrame:
    """Run every claim edit; one row per flagged line and edit."""
    frames = []
    with _Scope(wh.con):
        for name, sql in EDIT_SQL.items():
            df = wh.con.execute(_with_lines(sql, person_sql)).df()
            df.columns = ["claim_line_id", "claim_id", "provider_id", "evidence_line_id", "detail"]
            df.insert(0, "edit", name)
            frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates(["edit", "claim_line_id"]).reset_index(drop=True)


def _lines(wh: Any, person_sql: str | None) -> pd.DataFrame:
    return wh.con.execute(
        _with_lines(
            "SELECT claim_line_id, claim_id, person_id, provider_id, service_date, vocab, code, "
            "units, amount FROM fl",
            person_sql,
        )
    ).df()


def _specialties(wh: Any) -> pd.Series:
    df = wh.df(
        "SELECT provider_id, any_value(s) AS specialty FROM ("
        " SELECT provider_id, specialty_source_value AS s FROM provider"
        " WHERE specialty_source_value IS NOT NULL"
        " UNION ALL SELECT coalesce(rendering_provider_id, billing_provider_id),"
        " provider_specialty FROM mm_claim WHERE provider_specialty IS NOT NULL) GROUP BY 1"
    )
    return df.set_index("provider_id")["specialty"]


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


def _divergence(counts: pd.DataFrame, groups: pd.Series, kind: str) -> pd.Series:
    """KL (provider || peers) or Jensen–Shannon divergence of count rows from their group."""
    out = pd.Series(0.0, index=counts.index)
    for _g, ids in groups.groupby(groups).groups.items():
        sub = counts.loc[counts.index.intersection(ids)]
        if len(sub) < 2:
            continue
        total = sub.sum(axis=0)
        for pid, row in sub.iterrows():
            peers = (total - row).to_numpy(float) + 0.5
            q = peers / peers.sum()
            p = row.to_numpy(float) + 0.5 * (row.sum() > 0)
            if p.sum() == 0:
                continue
            p = p / p.sum()
            if kind == "kl":
                out[pid] = float(np.sum(p * np.log(p / q)))
            else:
                mix = 0.5 * (p + q)
                out[pid] = float(
                    0.5 * np.sum(p * np.log(p / mix)) + 0.5 * np.sum(q * np.log(q / mix))
                )
    return out


def provider_features(
    wh: Any, lines: pd.DataFrame, edits: pd.DataFrame, cfg: FraudStudyConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per provider with `FEATURES` and its specialty; also E&M counts (long)."""
    ln = lines.dropna(subset=["provider_id"]).copy()
    ln["provider_id"] = ln["provider_id"].astype(np.int64)
    g = ln.groupby("provider_id")
    f = pd.DataFrame(
        {
            "n_claims": g["claim_id"].nunique(),
            "n_patients": g["person_id"].nunique(),
            "active_days": g["service_date"].nunique(),
            "billed": g["amount"].sum(),
        }
    )
    spec = _specialties(wh)
    f["specialty"] = spec.reindex(f.index).fillna("unknown").astype(str)
    f["log_claims"] = np.log1p(f.n_claims)
    f["log_patients"] = np.log1p(f.n_patients)
    f["claims_per_day"] = f.n_claims / f.active_days.clip(lower=1)
    f["billed_per_patient"] = f.billed / f.n_patients.clip(lower=1)
    f["billed_per_claim"] = f.billed / f.n_claims.clip(lower=1)
    visits = ln.groupby(["provider_id", "person_id"])["claim_id"].nunique()
    f["single_visit_share"] = (visits == 1).groupby(level=0).mean()
    # E&M level mix
    em = ln[ln.vocab.isin(["CPT4", "HCPCS"]) & ln.code.isin(_EM)]
    em_counts = em.groupby(["provider_id", "code"]).size().unstack(fill_value=0)
    em_counts = em_counts.reindex(columns=list(_EM), fill_value=0)
    levels = np.arange(1, 6)
    tot = em_counts.sum(axis=1)
    f["em_mean"] = (em_counts.to_numpy() @ levels / tot.clip(lower=1)).reindex(f.index)
    f["em_kl"] = _divergence(em_counts, f["specialty"], "kl").reindex(f.index)
    # procedure mix
    mix = ln.groupby(["provider_id", "code"]).size().unstack(fill_value=0)
    f["proc_js"] = _divergence(mix, f["specialty"], "js").reindex(f.index)
    # referral concentration: who sees this provider's patients next (within the window)
    ref = wh.con.execute(
        _with_lines(
            f"""
            , v AS (SELECT DISTINCT provider_id, person_id, service_date FROM fl
                    WHERE provider_id IS NOT NULL)
            , nxt AS (SELECT DISTINCT a.provider_id AS src, a.person_id, b.provider_id AS dst
                      FROM v a JOIN v b ON a.person_id = b.person_id
                       AND b.provider_id <> a.provider_id AND b.service_date > a.service_date
                       AND b.service_date <= a.service_date + {int(cfg.referral_window_days)})
            , pairs AS (SELECT src, dst, count(*) AS n FROM nxt GROUP BY 1, 2)
            SELECT src AS provider_id, max(n) AS top, count(DISTINCT person_id) AS referred
            FROM pairs JOIN (SELECT DISTINCT src, person_id FROM nxt) USING (src)
            GROUP BY 1""",
            None,
        )
    ).df()
    ref = ref.set_index("provider_id")
    share = (ref["top"] / ref["referred"]).where(ref["referred"] >= cfg.min_referrals)
    f["referral_top_share"] = share.reindex(f.index)
    f["referred_patients"] = ref["referred"].reindex(f.index).fillna(0).astype(int)
    # edit rates
    per = edits.dropna(subset=["provider_id"]).copy()
    per["provider_id"] = per["provider_id"].astype(np.int64)
    rates = per.groupby(["provider_id", "edit"]).size().unstack(fill_value=0)
    for col, names in (
        ("duplicate_rate", ["exact_duplicate", "near_duplicate"]),
        ("unbundling_rate", ["unbundling"]),
        ("units_rate", ["excessive_units"]),
        ("violation_rate", ["rule_violation"]),
    ):
        present = [n for n in names if n in rates.columns]
        num = rates[present].sum(axis=1) if present else pd.Series(0, index=rates.index)
        f[col] = (num.reindex(f.index).fillna(0) / f.n_claims).astype(float)
    # missing values (no E&M, too few referrals) take the specialty median, then 0
    for col in FEATURES:
        f[col] = f[col].astype(float)
        f[col] = f[col].fillna(f.groupby("specialty")[col].transform("median")).fillna(0.0)
    em_long = em_counts.stack().rename("count").reset_index()
    em_long["level"] = em_long["code"].str[-1].astype(int)
    return f.reset_index(), em_long


def score_providers(f: pd.DataFrame, cfg: FraudStudyConfig) -> pd.DataFrame:
    """Add detector scores, the rank-averaged ensemble ``score`` and ``flagged``."""
    X = f[list(FEATURES)].to_numpy(float)
    groups = f["specialty"].tolist()
    kw = dict(contamination=cfg.contamination, min_group_size=cfg.min_peer_group)
    rz = RobustZDetector(tail="upper", **kw).fit(X, groups=groups)
    ec = ECODDetector(**kw).fit(X, groups=groups)
    ifo = IsolationForestDetector(random_state=cfg.random_state, **kw).fit(X, groups=groups)
    out = f.copy()
    for name, det in (("robust_z", rz), ("ecod", ec), ("iforest", ifo)):
        out[name] = det.decision_scores_
        out[f"{name}_flag"] = det.labels_.astype(bool)
    # ECOD is reported but left out of the ensemble: it sums tail probabilities over all
    # features, which dilutes schemes that show in one feature (duplicates, units).
    out["score"] = rank_average(rz.decision_scores_, ifo.decision_scores_)
    out["flagged"] = out["score"] >= np.quantile(out["score"], 1 - cfg.contamination)
    Z = PeerScaler(cfg.min_peer_group).fit(X, groups).transform(X, groups)
    for j, col in enumerate(FEATURES):
        out[f"z_{col}"] = Z[:, j]
    return out


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
    claims["flagged"] = strong | claims["provider_id"].map(pflag).fillna(False).astype(bool)
    return claims.sort_values("score", ascending=False).reset_index(drop=True)


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
    top = prov.sort_values("score", ascending=False).head(cfg.top_providers)
    rows = []
    for _, r in top.iterrows():
        ev = edits[edits["provider_id"] == r["provider_id"]]
        weight = ev["edit"].map(EDIT_WEIGHTS).astype(float)
        ev_claims = ev.assign(_w=weight).sort_values("_w", ascending=False)["claim_id"]
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
    cfg = config or FraudStudyConfig()
    person_sql = None
    if cfg.consent_purpose:
        from medmine.privacy.consent import eligible_persons

        person_sql = eligible_persons(wh, cfg.consent_purpose).person_ids_sql
    lines = _lines(wh, person_sql)
    if lines.empty:
        from medmine.errors import MedmineError

        raise MedmineError("claims_fraud needs mm_claim_line rows; load claims first")
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
    if truth is not None:
        result.evaluation = evaluate(result, truth)
    return result


def _precision_at_k(y: np.ndarray, s: np.ndarray, k: int) -> float:
    if k == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")[:k]
    return float(y[order].mean())


def evaluate(result: FraudResult, truth: Any) -> pd.DataFrame:
    """Precision@k (k = number of positives), recall of flags and AUROC per scheme and level.

    Provider level: positives are the providers given the scheme, negatives providers given
    none. Claim level: positives are the claims the scheme created or changed, negatives
    claims no scheme touched.
    """
    from sklearn.metrics import roc_auc_score

    rows = []
    prov = result.providers.set_index("provider_id")
    schemed = set(truth.providers["provider_id"])
    clean = prov.index[~prov.index.isin(list(schemed))]
    for scheme, g in truth.providers.groupby("scheme"):
        pos = prov.index.intersection(g["provider_id"])
        ids = pos.append(clean)
        y = np.r_[np.ones(len(pos)), np.zeros(len(clean))]
        for det in ("score", "robust_z", "ecod", "iforest"):
            flags = prov.loc[ids, "flagged" if det == "score" else f"{det}_flag"].to_numpy()
            row = _metrics(
                "provider", scheme, y, prov.loc[ids, det].to_numpy(), flags, roc_auc_score
            )
            row["detector"] = "ensemble" if det == "score" else det
            rows.append(row)
    cs = result.claim_scores.set_index("claim_id")
    touched = set(truth.claims["claim_id"])
    clean_c = cs.index[~cs.index.isin(list(touched))]
    for scheme, g in truth.claims.groupby("scheme"):
        pos = cs.index.intersection(g["claim_id"])
        ids = pos.append(clean_c)
        y = np.r_[np.ones(len(pos)), np.zeros(len(clean_c))]
        row = _metrics(
            "claim",
            scheme,
            y,
            cs.loc[ids, "score"].to_numpy(),
            cs.loc[ids, "flagged"].to_numpy(),
            roc_auc_score,
        )
        row["detector"] = "edits + provider score"
        rows.append(row)
    cols = ["level", "scheme", "detector", "positives", "negatives", "precision_at_k", "recall"]
    return pd.DataFrame(rows)[[*cols, "auroc"]]


def _metrics(level, scheme, y, s, flagged, auc) -> dict[str, Any]:
    k = int(y.sum())
    return {
        "level": level,
        "scheme": scheme,
        "positives": k,
        "negatives": int(len(y) - k),
        "precision_at_k": round(_precision_at_k(y, s, k), 3),
        "recall": round(float(flagged[y == 1].mean()), 3) if k else float("nan"),
        "auroc": round(float(auc(y, s)), 3) if 0 < k < len(y) else float("nan"),
    }


def summary(result: FraudResult) -> str:
    """One line for the report index."""
    n_flag = int(result.providers["flagged"].sum())
    return (
        f"{result.n_claims:,} claims, {len(result.edits):,} edit hits on "
        f"{result.edits['claim_id'].nunique():,} claims, {n_flag} of {len(result.providers)} "
        "providers flagged against specialty peers"
    )


def run_page(
    wh: Any,
    out_dir: str | Path,
    config: FraudStudyConfig | None = None,
    *,
    simulate_if_empty: bool = True,
    **_: Any,
) -> Any:
    """Run the study on `wh` and write ``study_claims_fraud.html``; returns the index link.

    A warehouse without claims gets a simulated, fraud-injected claims set instead (in a
    throw-away in-memory warehouse), evaluated against its known answers.
    """
    from medmine.report import ReportLink

    sections = []
    if wh.count("mm_claim_line"):
        sections.append(("Warehouse claims", run(wh, config)))
    elif simulate_if_empty:
        sections.append(simulated_section(config))
    else:
        from medmine.errors import MedmineError

        raise MedmineError("claims_fraud: the warehouse has no mm_claim_line rows")
    page = write_page(sections, Path(out_dir) / "study_claims_fraud.html")
    return ReportLink("Claims fraud", page.name, " | ".join(summary(r) for _, r in sections))


def simulated_section(
    config: FraudStudyConfig | None = None, sim: Any = None
) -> tuple[str, FraudResult]:
    """Simulate professional claims, inject every scheme, run and evaluate the study."""
    from medmine.synth import fraud
    from medmine.warehouse import Warehouse

    sim = sim or fraud.SimConfig(n_providers=150, n_patients=3000, seed=1)
    data, truth = fraud.simulate_injected(sim)
    # Flag budget = the injected share of providers, so recall is read at a matched budget.
    share = len(truth.providers) / len(data.providers)
    cfg = dataclasses.replace(config or FraudStudyConfig(), contamination=round(share, 3))
    with Warehouse(":memory:") as scratch:
        fraud.to_warehouse(data, scratch)
        result = run(scratch, cfg, truth=truth)
    title = (
        f"Simulated professional claims ({sim.n_providers} providers, {sim.n_patients:,} "
        f"patients, seed {sim.seed}) with injected schemes; provider flag budget {share:.0%}"
    )
    return title, result


# ---------------------------------------------------------------------------- the HTML page


def _peer_figures(result: FraudResult) -> list[Any]:
    import plotly.express as px
    import plotly.graph_objects as go

    prov = result.providers.copy()
    prov["status"] = np.where(prov["flagged"], "flagged", "peers")
    figs = []
    em = prov[prov["specialty"].isin(prov.loc[prov["em_mean"] > 0, "specialty"].unique())]
    if not result.em_distribution.empty and len(em):
        fig = px.box(
            em,
            x="specialty",
            y="em_mean",
            points="all",
            color="status",
            color_discrete_map={"flagged": "#d62728", "peers": "#7f7f7f"},
            hover_data=["provider_id", "n_claims"],
            height=420,
            title="Mean E&M level (99211=1 … 99215=5) by specialty: flagged providers vs peers",
        )
        figs.append(fig)
        top = em.sort_values("z_em_kl", ascending=False).head(3)
        d = result.em_distribution
        bars = go.Figure()
        for _, r in top.iterrows():
            peers = prov[(prov.specialty == r.specialty) & (prov.provider_id != r.provider_id)]
            pe = d[d.provider_id.isin(peers.provider_id)].groupby("level")["count"].sum()
            me = d[d.provider_id == r.provider_id].groupby("level")["count"].sum()
            bars.add_bar(
                x=[f"{r.specialty} peers L{i}" for i in pe.index],
                y=(pe / pe.sum()).to_numpy(),
                name=f"peers of {int(r.provider_id)}",
            )
            bars.add_bar(
                x=[f"{r.specialty} peers L{i}" for i in me.index],
                y=(me / me.sum()).to_numpy(),
                name=f"provider {int(r.provider_id)}",
            )
        bars.update_layout(
            barmode="group",
            height=380,
            yaxis_title="share of E&M lines",
            title="E&M level mix: most divergent providers vs their peers",
        )
        figs.append(bars)
    fig = px.scatter(
        prov,
        x="claims_per_day",
        y="billed_per_patient",
        color="score",
        symbol="status",
        facet_col="specialty",
        facet_col_wrap=3,
        hover_data=["provider_id"],
        height=520,
        title="Volume and cost per patient within specialty (colour = anomaly score)",
    )
    figs.append(fig)
    fig = px.strip(
        prov,
        x="specialty",
        y="referral_top_share",
        color="status",
        color_discrete_map={"flagged": "#d62728", "peers": "#7f7f7f"},
        hover_data=["provider_id", "referred_patients"],
        height=380,
        title="Referral concentration: share of a provider's referred patients seen next by "
        "one provider",
    )
    figs.append(fig)
    return figs


def _section(title: str, result: FraudResult) -> str:
    from medmine.report import figure_html, table_html

    edit_counts = (
        result.edits.groupby("edit")
        .agg(lines=("claim_line_id", "nunique"), claims=("claim_id", "nunique"))
        .reset_index()
    )
    edit_counts["weight"] = edit_counts["edit"].map(EDIT_WEIGHTS)
    parts = [
        f"<h2>{title}</h2>",
        f"<div class='card'><span class='kpi'><b>{result.n_claims:,}</b>claims</span>"
        f"<span class='kpi'><b>{result.n_lines:,}</b>lines</span>"
        f"<span class='kpi'><b>{len(result.providers):,}</b>providers</span>"
        f"<span class='kpi'><b>{result.providers['specialty'].nunique()}</b>peer groups</span>"
        f"<span class='kpi'><b>{result.edits['claim_id'].nunique():,}</b>claims with edits"
        f"</span><span class='kpi'><b>{int(result.providers['flagged'].sum())}</b>"
        "providers flagged</span></div>",
        "<h3>Claim edits</h3>",
        table_html(edit_counts.to_dict("records")),
    ]
    if result.evaluation is not None and not result.evaluation.empty:
        ev = result.evaluation
        main = ev[ev["detector"].isin(["ensemble", "edits + provider score"])]
        parts += [
            "<h3>Evaluation against injected schemes</h3>",
            "<p>Precision@k with k = number of positives; recall = share of positives flagged "
            "(providers: top share by ensemble score; claims: an edit of weight ≥ 2 or a "
            "flagged provider); AUROC of the score. Provider negatives: providers with no "
            "scheme; claim negatives: claims no scheme touched. Published anchor: "
            "provider-level models on CMS data with LEIE labels reach AUROC ≈ 0.81.</p>",
            table_html(main.to_dict("records")),
            "<details><summary>Per detector (provider level)</summary>",
            table_html(ev[ev["level"] == "provider"].to_dict("records")),
            "</details>",
        ]
    parts += [figure_html(f) for f in _peer_figures(result)]
    parts += [
        "<h3>Investigation list: providers</h3>",
        table_html(result.investigate_providers.to_dict("records")),
        "<h3>Investigation list: claims</h3>",
        table_html(result.investigate_claims.head(30).to_dict("records")),
    ]
    if not result.rules.empty:
        rules = result.rules.head(20)[["if", "then", "support", "confidence", "lift", "q_value"]]
        parts += [
            "<details><summary>Diagnosis → procedure rules used for violations</summary>",
            table_html(rules.to_dict("records")),
            "</details>",
        ]
    return "".join(parts)


def write_page(sections: list[tuple[str, FraudResult]], path: str | Path) -> Path:
    """Write ``study_claims_fraud.html`` with one section per (title, result)."""
    from medmine.report import render_page

    body = (
        "<p>Claim edits (SQL) with shipped NCCI-style pair, MUE-style unit and sex/age tables; "
        "provider profiles scored against specialty peers by robust z, ECOD and Isolation "
        "Forest; procedures billed without a diagnosis that significantly predicts them "
        "(FP-Growth rules with Fisher/BH). Evidence is claim and line ids only.</p>"
        + "".join(_section(t, r) for t, r in sections)
    )
    sub = " | ".join(f"{t}: {summary(r)}" for t, r in sections)
    return render_page(path, "Claims fraud", body, subtitle=sub)
