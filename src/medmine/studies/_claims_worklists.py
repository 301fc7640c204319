"""Worklists of the claims fraud study: claim, clinician and organisation scores, each ranked
with reasons in plain words and the source ids of the claims behind each reason.

Scales: a claim's score is the sum over its schemes of weight x strength (0 = nothing found;
5 = billed after death; two schemes add up). A clinician's or organisation's score is the
excess of suspicious claims over what the overall rate predicts, in standard deviations
(``(k - n p) / sqrt(n p + 1)``, k = suspicious claims counted by their strength, n = claims,
p = the overall rate), plus 5 x the strength of a referral concentration; 0 = no excess.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medmine.studies import _claims_sql as q
from medmine.studies._claims_schemes import SCHEME_WEIGHTS, SCHEME_WORDS
from medmine.warehouse.sql import ident

#: A claim counts fully as suspicious from this score on (one certain scheme).
FULL_CLAIM = 3.0


def read_ptp(path: str | Path) -> pd.DataFrame:
    """An NCCI procedure-to-procedure edit table: the CMS layout (``Column 1``, ``Column 2``,
    ``Deletion Date`` with ``*`` = active) or medmine's (``column1_code``, ``column2_code``).
    """
    df = pd.read_csv(path, dtype=str)
    cols = {c.strip().lower().replace(" ", "").replace("_", ""): c for c in df.columns}
    c1, c2 = (
        cols.get("column1") or cols.get("column1code"),
        cols.get("column2") or cols.get("column2code"),
    )
    if c1 is None or c2 is None:
        raise ValueError(
            f"{path}: an NCCI PTP table needs 'Column 1' and 'Column 2' columns; "
            f"got {list(df.columns)}"
        )
    out = pd.DataFrame({"column1_code": df[c1].str.strip(), "column2_code": df[c2].str.strip()})
    dele = cols.get("deletiondate")
    if dele is not None:  # CMS: '*' = no deletion date (active)
        out = out[df[dele].fillna("*").str.strip().isin(["*", ""])]
    vocab = df[cols["vocabularyid"]] if "vocabularyid" in cols else "CPT4"
    return out.assign(vocabulary_id=vocab).dropna()


def read_mue(path: str | Path) -> pd.DataFrame:
    """An MUE table: the CMS layout (``HCPCS/CPT Code``, ``... MUE Values``) or medmine's
    (``code``, ``max_units_per_day``).
    """
    df = pd.read_csv(path, dtype=str)
    low = {c.strip().lower(): c for c in df.columns}
    code = low.get("code") or next((c for k, c in low.items() if "hcpcs" in k or "cpt" in k), None)
    val = low.get("max_units_per_day") or next(
        (c for k, c in low.items() if "mue value" in k), None
    )
    if code is None or val is None:
        raise ValueError(
            f"{path}: an MUE table needs a HCPCS/CPT code column and an MUE values column"
        )
    out = pd.DataFrame(
        {"code": df[code].str.strip(), "max_units_per_day": pd.to_numeric(df[val], errors="coerce")}
    )
    vocab = df[low["vocabulary_id"]] if "vocabulary_id" in low else "CPT4"
    return out.assign(vocabulary_id=vocab).dropna()


def claim_scores(con: Any, C: str, hits: pd.DataFrame, table: str = q.SCORES_TABLE) -> str:
    """Write every claim of `C` with its score, schemes, reasons and evidence (0 / "" = nothing
    found) to temporary table `table`; its name. Runs in SQL (`_claims_sql.CLAIM_SCORES`).
    """
    h = pd.DataFrame(
        {
            "claim_id": hits["claim_id"].to_numpy(dtype=np.int64),
            "scheme": hits["scheme"].astype(str).to_numpy(),
            "points": (hits["scheme"].map(SCHEME_WEIGHTS).fillna(1.0) * hits["strength"])
            .astype(float)
            .to_numpy(),
            "reason": hits["reason"].astype(str).to_numpy(),
            "evidence": hits["evidence"].fillna("").astype(str).to_numpy(),
            "seq": np.arange(len(hits), dtype=np.int64),
        }
    )
    con.register("_fraud_hits", h)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS "
            + q.sql(q.CLAIM_SCORES, claims=C, hits="_fraud_hits")
        )
    finally:
        con.unregister("_fraud_hits")
    return table


def _excess(n: pd.Series, k: pd.Series, p: float) -> pd.Series:
    return ((k - n * p) / np.sqrt(n * p + 1.0)).clip(lower=0.0)


def overall_rate(con: Any, scores: str) -> float:
    """Mean of min(score / FULL_CLAIM, 1) over every claim (the rate entities are held to)."""
    got = con.execute(q.sql(q.OVERALL_RATE, scores=scores), {"full": FULL_CLAIM}).fetchall()[0][0]
    return float(got) if got is not None else 0.0


def hit_claims(con: Any, scores: str, hits: pd.DataFrame) -> pd.DataFrame:
    """The scored claims that have a hit (ids, parties, source id, score)."""
    con.register("_fraud_hits", hits[["claim_id"]])
    try:
        return q.run(con, q.HIT_CLAIMS, scores=scores, hits="_fraud_hits")
    finally:
        con.unregister("_fraud_hits")


def entity_scores(
    con: Any,
    scores: str,
    hits: pd.DataFrame,
    key: str,
    conc: pd.DataFrame,
    conc_key: str,
    evidence: int = 10,
    p: float | None = None,
    hc: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Ranked entities (clinicians or organisations) with reasons and evidence claim ids.

    Counts per entity come from the scored claim table `scores` (SQL); the reasons from the
    hits and the claims that have one (`hc`, `hit_claims`).
    """
    counts = q.run(con, q.ENTITY_COUNTS, {"full": FULL_CLAIM}, scores=scores, key=key)
    if counts.empty:
        return pd.DataFrame(
            columns=[
                key,
                "claims",
                "suspicious_claims",
                "score",
                "schemes",
                "reasons",
                "evidence_claim_ids",
            ]
        )
    p = overall_rate(con, scores) if p is None else p
    ent = counts.set_index("id")[["claims", "weighted", "suspicious_claims"]]
    ent.index.name = None
    ent["score"] = _excess(ent["claims"], ent["weighted"], p)
    # reasons: per scheme, how many of its claims and which ones
    hc = hit_claims(con, scores, hits) if hc is None else hc
    k = hc.dropna(subset=[key])
    hk = hits.merge(k[["claim_id", key, "source_id", "score"]], on="claim_id")
    # Object dtype, as the pandas implementation had it: numpy sorts object arrays with
    # another (unstable) algorithm than float64, and the order of equal scores decides which
    # claims a reason names first; this keeps the published lists unchanged.
    hk["score"] = hk["score"].astype(object)
    reasons: dict[Any, list[str]] = {}
    ev: dict[Any, list[str]] = {}
    schemes: dict[Any, list[str]] = {}
    for (eid, scheme), grp in hk.sort_values("score", ascending=False).groupby(
        [key, "scheme"], sort=False
    ):
        ids = list(dict.fromkeys(grp["source_id"]))
        reasons.setdefault(eid, []).append(
            f"{len(ids)} claim(s) {SCHEME_WORDS.get(scheme, scheme)} (e.g. {', '.join(ids[:3])})"
        )
        ev.setdefault(eid, []).extend(ids[:evidence])
        schemes.setdefault(eid, []).append(scheme)
    if len(conc):
        pair_claims = conc.attrs.get("claims")
        for _, r in conc.iterrows():
            eid = r[conc_key]
            if conc_key == "referrer_id":
                text = (
                    f"sends {r['share']:.0%} of the {int(r['referred'])} referred claims of "
                    f"organisation {r['organisation_id']} (practises elsewhere)"
                )
            else:
                text = (
                    f"{r['share']:.0%} of its {int(r['referred'])} referred claims come from one "
                    f"referrer, {r['referrer_id']}, who practises elsewhere"
                )
            if eid not in ent.index:
                ent.loc[eid, ["claims", "weighted", "suspicious_claims", "score"]] = 0
            ent.loc[eid, "score"] += 5.0 * float(r["strength"])
            reasons.setdefault(eid, []).insert(0, text)
            schemes.setdefault(eid, []).insert(0, "kickback_referral")
            ids = pd.Series([], dtype=object)
            if pair_claims is not None:
                ids = pair_claims.loc[
                    (pair_claims["organisation_id"] == r["organisation_id"])
                    & (pair_claims["referrer_id"] == r["referrer_id"]),
                    "source_id",
                ]
            ev.setdefault(eid, [])[:0] = list(ids.head(evidence))
    ent["score"] = ent["score"].round(2)
    ent["schemes"] = [", ".join(dict.fromkeys(schemes.get(i, []))) for i in ent.index]
    tail = [
        f"{int(s)} of {int(n)} claims suspicious (overall rate {p:.1%})"
        for s, n in zip(ent["suspicious_claims"], ent["claims"], strict=True)
    ]
    ent["reasons"] = [
        "; ".join([*reasons.get(i, [])[:6], t]) for i, t in zip(ent.index, tail, strict=True)
    ]
    ent["evidence_claim_ids"] = [
        ", ".join(list(dict.fromkeys(ev.get(i, [])))[: 3 * evidence]) for i in ent.index
    ]
    ent = ent.drop(columns="weighted").rename_axis(key).reset_index()
    ent[["claims", "suspicious_claims"]] = ent[["claims", "suspicious_claims"]].astype(int)
    ent = ent.sort_values(
        ["score", "suspicious_claims", key], ascending=[False, False, True], kind="stable"
    )
    ent.insert(0, "rank", np.arange(1, len(ent) + 1))
    return ent.reset_index(drop=True)


def add_profiles(
    clin: pd.DataFrame, prov: pd.DataFrame, keys: pd.Series, weight: float = 3.0
) -> pd.DataFrame:
    """Add the peer-profile ensemble (robust z + Isolation Forest within specialty, see
    `score_providers`) to the clinicians: `weight` x its score for a flagged profile, with a
    reason. `keys` maps warehouse provider ids to the clinician ids of the lists.
    """
    if prov.empty or "flagged" not in prov:
        return clin
    p = prov.assign(key=prov["provider_id"].map(keys)).dropna(subset=["key"])
    p = p[p["flagged"].astype(bool)].groupby("key")["score"].max()
    out = clin.set_index("clinician_id")
    for key, score in p.items():
        if key not in out.index:
            continue
        out.loc[key, "score"] = round(float(out.loc[key, "score"]) + weight * float(score), 2)
        text = f"provider profile unusual against specialty peers (ensemble score {score:.2f})"
        out.loc[key, "reasons"] = text + "; " + out.loc[key, "reasons"]
    out = (
        out.rename_axis("clinician_id")
        .reset_index()
        .sort_values(
            ["score", "suspicious_claims", "clinician_id"],
            ascending=[False, False, True],
            kind="stable",
        )
    )
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def add_context(
    con: Any,
    scores: str,
    clin: pd.DataFrame,
    org: pd.DataFrame,
    prov: pd.DataFrame,
    weight: float = 0.5,
    profile_weight: float = 0.5,
) -> str:
    """Claim score + `weight` x the larger percentile of its clinician's and organisation's
    scores + `profile_weight` x its provider's peer-profile score (0-1, rank average of
    robust z and Isolation Forest within specialty): ranks claims of
    suspicious providers above those of clean ones (the context adds at most 1.5 with the
    default weights; one full finding is worth 2 to 5). Rewrites table `scores` (SQL) with
    the new score and ``provider_context``; returns its name.
    """

    def pct(df: pd.DataFrame, key: str) -> pd.DataFrame:
        s = df.set_index(key)["score"]
        r = s.rank(pct=True).where(s > 0, 0.0)
        return pd.DataFrame({"id": r.index.astype(str), "pct": r.to_numpy(dtype=float)})

    ps = pd.DataFrame({"provider_id": pd.Series(dtype=np.int64), "score": pd.Series(dtype=float)})
    if len(prov) and "score" in prov:
        ps = pd.DataFrame(
            {
                "provider_id": prov["provider_id"].to_numpy(dtype=np.int64),
                "score": prov["score"].to_numpy(dtype=float),
            }
        )
    views = {
        "_fraud_clin_pct": pct(clin, "clinician_id")
        if len(clin)
        else pd.DataFrame({"id": pd.Series(dtype=str), "pct": pd.Series(dtype=float)}),
        "_fraud_org_pct": pct(org, "organisation_id")
        if len(org)
        else pd.DataFrame({"id": pd.Series(dtype=str), "pct": pd.Series(dtype=float)}),
        "_fraud_prov": ps,
    }
    for name, df in views.items():
        con.register(name, df)
    try:
        tmp = scores + "_ctx"
        con.execute(
            q.sql(
                q.CONTEXT,
                out=tmp,
                scores=scores,
                clin_pct="_fraud_clin_pct",
                org_pct="_fraud_org_pct",
                prov="_fraud_prov",
            ),
            {"weight": float(weight), "profile_weight": float(profile_weight)},
        )
    finally:
        for name in views:
            con.unregister(name)
    con.execute(f"DROP TABLE IF EXISTS {ident(scores)}")
    con.execute(f"ALTER TABLE {ident(tmp)} RENAME TO {ident(scores)}")
    return scores


CLAIM_COLUMNS = [
    "rank",
    "claim_id",
    "claim_source",
    "organisation_id",
    "organisation_name",
    "clinician_id",
    "referrer_id",
    "code",
    "units",
    "amount",
    "score",
    "schemes",
    "reasons",
    "evidence_claim_ids",
]


#: From this many claims on, the ranked list's text columns are pandas' Arrow-backed ``str``
#: (missing = NaN, about 10 bytes a value) instead of Python objects (about 60 bytes): 10^7
#: claims then fit in memory. Smaller lists keep object columns (None for missing).
COMPACT_FROM = 500_000


def ranked_claims(con: Any, scores: str) -> pd.DataFrame:
    """Every claim, highest score first (reading order among equals), with source ids only;
    the warehouse id is kept as ``internal_id`` (dropped from the downloadable list).
    """
    n = con.execute(f"SELECT count(*) FROM {ident(scores)}").fetchall()[0][0]
    if n >= COMPACT_FROM:
        out = con.sql(q.sql(q.RANKED, scores=scores)).to_arrow_table().to_pandas()
    else:
        out = q.run(con, q.RANKED, scores=scores)
    out["amount"] = out["amount"].round(2)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def plausibility_notes(con: Any, scores: str) -> list[str]:
    """Warnings the page shows when the figures cannot be taken at face value."""
    notes = []
    summ = con.execute(q.sql(q.CLAIM_SUMMARY, scores=scores), {"half": FULL_CLAIM / 2}).df()
    n, with_org, with_finding = (int(summ[c].iloc[0]) for c in ("n", "with_org", "with_finding"))
    if n and with_org == 0:
        notes.append(
            "Organisations not scored: no claim names a billing organisation (FHIR "
            "Claim.provider, billing NPI, TAX_NUM or PRVDR_NUM)."
        )
    per_code = q.run(con, q.PRICE_SPREAD, claims=scores).set_index("code")
    if len(per_code):
        big = per_code[per_code["n"] >= 20]
        fixed = big[big["at_median"] >= 0.9]
        if len(big) and fixed["n"].sum() >= 0.5 * big["n"].sum():
            ex = fixed.sort_values("n", ascending=False).index[0]
            notes.append(
                f"Implausible prices: {fixed['n'].sum() / big['n'].sum():.0%} of claims are of "
                f"codes with one fixed price (code {ex}: {fixed.loc[ex, 'median']:.2f} on "
                f"{fixed.loc[ex, 'at_median']:.0%} of its claims). Any changed amount stands out "
                "on price alone, so upcharging findings look better here than on real fee "
                "schedules."
            )
    share = with_finding / n if n else 0.0
    if share > 0.2:
        notes.append(
            f"{share:.0%} of claims have a finding: too many for a worklist; check the "
            "thresholds and the data's coding before acting on the list."
        )
    if 0 < n < 1000:
        notes.append(
            f"Only {n:,} claims: per-code price and unit distributions are thin and "
            "peer comparisons uncertain."
        )
    return notes
