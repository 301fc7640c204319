"""Provider profiles of the claims fraud study: features per provider, scored against peers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from medmine.mining.anomaly import (
    ECODDetector,
    IsolationForestDetector,
    PeerScaler,
    RobustZDetector,
    rank_average,
)
from medmine.studies import _claims_sql as q

if TYPE_CHECKING:
    from medmine.studies._claims_types import FraudStudyConfig

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


def _specialties(wh: Any) -> pd.Series:
    df = wh.df(
        "SELECT provider_id, any_value(s) AS specialty FROM ("
        " SELECT provider_id, specialty_source_value AS s FROM provider"
        " WHERE specialty_source_value IS NOT NULL"
        " UNION ALL SELECT coalesce(rendering_provider_id, billing_provider_id),"
        " provider_specialty FROM mm_claim WHERE provider_specialty IS NOT NULL) GROUP BY 1"
    )
    return df.set_index("provider_id")["specialty"]


def _divergence(counts: pd.DataFrame, groups: pd.Series, kind: str) -> pd.Series:
    """KL (provider || peers) or Jensen–Shannon divergence of count rows from their group.

    Peers are the group's other providers (counts + 0.5); one matrix operation per group
    (row sums along contiguous rows are numpy's pairwise sums, as for one row at a time).
    """
    out = pd.Series(0.0, index=counts.index)
    for _g, ids in groups.groupby(groups).groups.items():
        sub = counts.loc[counts.index.intersection(ids)]
        if len(sub) < 2:
            continue
        total = sub.sum(axis=0).to_numpy(float)
        rows = sub.to_numpy(float)
        peers = np.ascontiguousarray(total[None, :] - rows) + 0.5
        q = peers / peers.sum(axis=1, keepdims=True)
        p = rows + 0.5 * (rows.sum(axis=1) > 0)[:, None]
        ps = p.sum(axis=1, keepdims=True)
        ok = ps[:, 0] != 0
        if not ok.any():
            continue
        p, q = p[ok] / ps[ok], q[ok]
        if kind == "kl":
            d = np.sum(p * np.log(p / q), axis=1)
        else:
            mix = 0.5 * (p + q)
            d = 0.5 * np.sum(p * np.log(p / mix), axis=1) + 0.5 * np.sum(
                q * np.log(q / mix), axis=1
            )
        out[sub.index[ok]] = d
    return out


def provider_features(
    wh: Any, fl: str, edits: pd.DataFrame, cfg: FraudStudyConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per provider with `FEATURES` and its specialty; also E&M counts (long).

    `fl` is the line table of `medmine.studies._claims_edits.build_fl`; the per-provider
    aggregates run in SQL (`_claims_sql.PROVIDER_COUNTS` ...), the divergences and peer
    medians on the per-provider rows.
    """
    con = wh.con
    f = q.run(con, q.PROVIDER_COUNTS, fl=fl)
    f["provider_id"] = f["provider_id"].astype(np.int64)
    f = f.set_index("provider_id")
    spec = _specialties(wh)
    f["specialty"] = spec.reindex(f.index).fillna("unknown").astype(str)
    f["log_claims"] = np.log1p(f.n_claims)
    f["log_patients"] = np.log1p(f.n_patients)
    f["claims_per_day"] = f.n_claims / f.active_days.clip(lower=1)
    f["billed_per_patient"] = f.billed / f.n_patients.clip(lower=1)
    f["billed_per_claim"] = f.billed / f.n_claims.clip(lower=1)
    single = q.run(con, q.SINGLE_VISIT_SHARE, fl=fl)
    f["single_visit_share"] = single.set_index("provider_id")["single_visit_share"].reindex(f.index)
    codes = q.run(con, q.PROVIDER_CODES, fl=fl)
    codes["provider_id"] = codes["provider_id"].astype(np.int64)
    # E&M level mix
    em = codes[codes.vocab.isin(["CPT4", "HCPCS"]) & codes.code.isin(_EM)]
    em_counts = em.groupby(["provider_id", "code"])["n"].sum().unstack(fill_value=0)
    em_counts = em_counts.reindex(columns=list(_EM), fill_value=0)
    levels = np.arange(1, 6)
    tot = em_counts.sum(axis=1)
    f["em_mean"] = (em_counts.to_numpy() @ levels / tot.clip(lower=1)).reindex(f.index)
    f["em_kl"] = _divergence(em_counts, f["specialty"], "kl").reindex(f.index)
    # procedure mix
    mix = codes.groupby(["provider_id", "code"])["n"].sum().unstack(fill_value=0)
    f["proc_js"] = _divergence(mix, f["specialty"], "js").reindex(f.index)
    # referral concentration: who sees this provider's patients next (within the window)
    ref = q.run(con, q.REFERRAL_SHARE, {"window": int(cfg.referral_window_days)}, fl=fl)
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
    """Add detector scores, the rank-averaged ensemble ``score`` and ``flagged``.

    With no provider to profile (claim lines without a provider), the columns are added empty.
    """
    if f.empty:
        cols = {c: pd.Series(dtype=float) for c in ("robust_z", "ecod", "iforest", "score")}
        flags = {f"{n}_flag": pd.Series(dtype=bool) for n in ("robust_z", "ecod", "iforest")}
        zs = {f"z_{c}": pd.Series(dtype=float) for c in FEATURES}
        return f.assign(**cols, **flags, flagged=pd.Series(dtype=bool), **zs)
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
