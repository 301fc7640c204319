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

from medmine.studies._claims_schemes import SCHEME_WEIGHTS, SCHEME_WORDS

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


def claim_scores(c: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """Score, schemes and reasons per claim (every claim; 0 = nothing found)."""
    h = hits.assign(points=hits["scheme"].map(SCHEME_WEIGHTS).fillna(1.0) * hits["strength"])
    per = h.groupby("claim_id")
    agg = pd.DataFrame(
        {
            "score": per["points"].sum(),
            "schemes": per["scheme"].agg(lambda s: ", ".join(sorted(set(s)))),
            "reasons": per["reason"].agg(lambda s: "; ".join(dict.fromkeys(s))),
            "evidence_claim_ids": per["evidence"].agg(
                lambda s: ", ".join(dict.fromkeys(x for v in s for x in str(v).split(", ") if x))
            ),
        }
    )
    out = c.merge(agg, left_on="claim_id", right_index=True, how="left")
    out["score"] = out["score"].fillna(0.0).round(3)
    for col in ("schemes", "reasons", "evidence_claim_ids"):
        out[col] = out[col].fillna("")
    return out


def _excess(n: pd.Series, k: pd.Series, p: float) -> pd.Series:
    return ((k - n * p) / np.sqrt(n * p + 1.0)).clip(lower=0.0)


def entity_scores(
    cs: pd.DataFrame,
    hits: pd.DataFrame,
    key: str,
    conc: pd.DataFrame,
    conc_key: str,
    evidence: int = 10,
) -> pd.DataFrame:
    """Ranked entities (clinicians or organisations) with reasons and evidence claim ids."""
    k = cs.dropna(subset=[key])
    if k.empty:
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
    w = np.minimum(k["score"] / FULL_CLAIM, 1.0)
    p = float(np.minimum(cs["score"] / FULL_CLAIM, 1.0).mean())
    g = pd.DataFrame({"id": k[key], "w": w, "flag": k["score"] > 0}).groupby("id")
    ent = pd.DataFrame(
        {"claims": g.size(), "weighted": g["w"].sum(), "suspicious_claims": g["flag"].sum()}
    )
    ent["score"] = _excess(ent["claims"], ent["weighted"], p)
    # reasons: per scheme, how many of its claims and which ones
    hk = hits.merge(k[["claim_id", key, "source_id", "score"]], on="claim_id")
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
            ids = cs.loc[
                (cs["organisation_id"] == r["organisation_id"])
                & (cs["referrer_id"] == r["referrer_id"]),
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
    cs: pd.DataFrame,
    clin: pd.DataFrame,
    org: pd.DataFrame,
    prov: pd.DataFrame,
    weight: float = 0.5,
    profile_weight: float = 0.5,
) -> pd.DataFrame:
    """Claim score + `weight` x the larger percentile of its clinician's and organisation's
    scores + `profile_weight` x its provider's peer-profile score (0-1, rank average of
    robust z and Isolation Forest within specialty): ranks claims of
    suspicious providers above those of clean ones (the context adds at most 1.5 with the
    default weights; one full finding is worth 2 to 5).
    """

    def pct(df: pd.DataFrame, key: str) -> pd.Series:
        s = df.set_index(key)["score"]
        return s.rank(pct=True).where(s > 0, 0.0)

    ctx = weight * np.maximum(
        cs["clinician_id"].map(pct(clin, "clinician_id")).fillna(0.0),
        cs["organisation_id"].map(pct(org, "organisation_id")).fillna(0.0),
    )
    if len(prov) and "score" in prov:
        ps = prov.set_index("provider_id")["score"]
        ctx = ctx + profile_weight * cs["profile_provider_id"].map(ps).fillna(0.0)
    out = cs.copy()
    out["provider_context"] = ctx.round(3)
    out["score"] = (out["score"] + out["provider_context"]).round(3)
    return out


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


def ranked_claims(cs: pd.DataFrame) -> pd.DataFrame:
    """Every claim, highest score first, with source ids only."""
    out = cs.sort_values(["score", "order"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )
    out = out.rename(
        columns={
            "claim_id": "internal_id",
            "source_id": "claim_id",
            "claim_source_value": "claim_source",
        }
    )
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["amount"] = out["amount"].round(2)
    return out[CLAIM_COLUMNS]


def plausibility_notes(c: pd.DataFrame, cs: pd.DataFrame) -> list[str]:
    """Warnings the page shows when the figures cannot be taken at face value."""
    notes = []
    if len(c) and c["organisation_id"].isna().all():
        notes.append(
            "Organisations not scored: no claim names a billing organisation (FHIR "
            "Claim.provider, billing NPI, TAX_NUM or PRVDR_NUM)."
        )
    k = c[c["code"].notna() & (c["amount"] > 0)]
    if len(k):
        per_code = k.groupby("code")["amount"].agg(
            ["size", "median", lambda a: (a == a.median()).mean()]
        )
        per_code.columns = ["n", "median", "at_median"]
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
    share = float((cs["score"] >= FULL_CLAIM / 2).mean()) if len(cs) else 0.0
    if share > 0.2:
        notes.append(
            f"{share:.0%} of claims have a finding: too many for a worklist; check the "
            "thresholds and the data's coding before acting on the list."
        )
    if 0 < len(c) < 1000:
        notes.append(
            f"Only {len(c):,} claims: per-code price and unit distributions are thin and "
            "peer comparisons uncertain."
        )
    return notes
