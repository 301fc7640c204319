"""Scheme detectors of the claims fraud study: one function per scheme over a claim frame.

`claim_frame` reads one row per claim (source ids, billing organisation, rendering and
referring clinicians, encounter link, code, units, amount, dates) and `line_frame` one row
per line. Each detector returns hits ``(claim_id, scheme, strength, reason, evidence)``:
``strength`` in (0, 1], ``reason`` in plain words (codes and counts only, never names or
dates), ``evidence`` the source ids of the other claims behind the reason. The schemes are
explained in ``docs/patterns.md``.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Columns of a hit frame.
HIT_COLUMNS = ["claim_id", "scheme", "strength", "reason", "evidence"]

#: Severity of each scheme in a claim's score (strength x weight; certain errors first).
SCHEME_WEIGHTS = {
    "post_death": 5.0,
    "exact_duplicate": 4.0,
    "near_duplicate": 3.0,
    "phantom": 3.0,
    "upcoding": 3.0,
    "code_mismatch": 2.0,
    "unbundling": 3.0,
    "excessive_units": 3.0,
    "impossible_volume": 3.0,
    "kickback_referral": 2.0,
}

#: Plain words for each scheme (column headers, filters).
SCHEME_WORDS = {
    "post_death": "billed after death",
    "exact_duplicate": "exact duplicate",
    "near_duplicate": "near-duplicate",
    "phantom": "no encounter behind the claim",
    "upcoding": "amount far above the code's peers",
    "code_mismatch": "code inconsistent with the encounter",
    "unbundling": "unbundled components",
    "excessive_units": "excessive units",
    "impossible_volume": "impossible daily volume",
    "kickback_referral": "referral concentration",
}

_CLAIMS = """
WITH lines AS (
    SELECT claim_id,
           min(service_date) AS line_date,
           arg_min(procedure_code, line_number) AS code,
           arg_min(coalesce(procedure_vocabulary_id, ''), line_number) AS vocab,
           count(*) AS n_lines,
           sum(coalesce(units, 1)) AS units,
           sum(coalesce(billed_amount, allowed_amount, paid_amount)) AS line_amount,
           any_value(rendering_provider_id) AS line_rendering_id,
           any_value(rendering_npi) AS line_rendering_npi
    FROM mm_claim_line GROUP BY claim_id
), src AS (
    SELECT row_id AS claim_id, source_file,
           TRY_CAST(regexp_extract(location, '(\\d+)', 1) AS BIGINT) AS loc
    FROM mm_source_record WHERE table_name = 'mm_claim'
)
SELECT c.claim_id, c.claim_source_value, c.person_id,
       CASE WHEN c.claim_source_value IS NULL THEN 'mm:' || c.claim_id
            WHEN contains(c.claim_source_value, '/')
                THEN regexp_extract(c.claim_source_value, '[^/]*$')
            ELSE regexp_replace(c.claim_source_value, '^[^:]*:', '') END AS source_id,
       coalesce(l.line_date, c.claim_start_date) AS service_date,
       l.code, l.vocab, coalesce(l.n_lines, 0) AS n_lines, coalesce(l.units, 1) AS units,
       coalesce(l.line_amount, c.total_billed, c.total_allowed, c.total_paid, 0) AS amount,
       c.visit_occurrence_id, v.visit_start_date, v.visit_start_datetime,
       v.visit_end_datetime, v.visit_source_value AS visit_kind,
       coalesce(c.billing_source_value, c.billing_npi, bp.npi, cs.care_site_source_value,
                bp.provider_source_value) AS organisation_id,
       cs.care_site_name AS organisation_name,
       coalesce(c.rendering_npi, l.line_rendering_npi, rp.npi, rp.provider_source_value)
           AS clinician_id,
       coalesce(c.referring_npi, fp.npi, fp.provider_source_value) AS referrer_id,
       coalesce(l.line_rendering_id, c.rendering_provider_id, c.billing_provider_id,
                v.provider_id) AS profile_provider_id,
       s.source_file, s.loc
FROM mm_claim c
     LEFT JOIN lines l USING (claim_id)
     LEFT JOIN visit_occurrence v ON v.visit_occurrence_id = c.visit_occurrence_id
     LEFT JOIN care_site cs ON cs.care_site_id = c.billing_care_site_id
     LEFT JOIN provider bp ON bp.provider_id = c.billing_provider_id
     LEFT JOIN provider rp ON rp.provider_id = coalesce(c.rendering_provider_id,
                                                         l.line_rendering_id, v.provider_id)
     LEFT JOIN provider fp ON fp.provider_id = c.referring_provider_id
     LEFT JOIN src s ON s.claim_id = c.claim_id
WHERE TRUE {person_filter}
"""


def source_claim_id(source_value: pd.Series) -> pd.Series:
    """The claim id as the source gave it: ``Claim/abc`` or ``fhir:Claim/abc`` -> ``abc``,
    ``carrier:123`` -> ``123`` (DE-SynPUF kind prefix), a claims-file id as is.
    """
    s = source_value.fillna("").astype(str)
    slash = s.str.contains("/", regex=False)
    return s.str.rsplit("/", n=1).str[-1].where(slash, s.str.split(":", n=1).str[-1])


def claim_frame(wh: Any, person_sql: str | None = None) -> pd.DataFrame:
    """One row per claim with source ids, parties, encounter link, code, units and amount."""
    filt = f"AND c.person_id IN ({person_sql})" if person_sql else ""
    df = wh.con.execute(_CLAIMS.format(person_filter=filt)).df()
    # source_id (in SQL, as `source_claim_id` does it): a source without claim ids
    # (simulated data) falls back to the warehouse id, marked ``mm:``
    df["service_date"] = pd.to_datetime(df["service_date"])
    # Reading order: file, then entry / line number, then id (the copy comes after the original).
    df = df.sort_values(
        ["source_file", "loc", "claim_source_value", "claim_id"], kind="stable", na_position="last"
    )
    df["order"] = np.arange(len(df))
    return df.reset_index(drop=True)


def line_frame(wh: Any, person_sql: str | None = None) -> pd.DataFrame:
    """One row per claim line: claim, code, units, amount."""
    filt = f"WHERE person_id IN ({person_sql})" if person_sql else ""
    return wh.con.execute(
        "SELECT claim_id, claim_line_id, coalesce(procedure_vocabulary_id, '') AS vocab, "
        "procedure_code AS code, coalesce(units, 1) AS units, "
        f"coalesce(billed_amount, allowed_amount, paid_amount) AS amount FROM mm_claim_line {filt}"
    ).df()


def _hits(
    df: pd.DataFrame, scheme: str, strength: Any, reason: Any, evidence: Any = ""
) -> pd.DataFrame:
    if df.empty:
        return pd.DataFrame(columns=HIT_COLUMNS)
    out = pd.DataFrame(
        {
            "claim_id": df["claim_id"].to_numpy(),
            "scheme": scheme,
            "strength": np.clip(np.broadcast_to(np.asarray(strength, dtype=float), len(df)), 0, 1),
            "reason": reason if isinstance(reason, str) else np.asarray(reason, dtype=object),
            "evidence": evidence
            if isinstance(evidence, str)
            else np.asarray(evidence, dtype=object),
        }
    )
    return out[out["strength"] > 0]


# ---------------------------------------------------------------------------- schemes
def post_death(c: pd.DataFrame, wh: Any) -> pd.DataFrame:
    """Services dated after the person's recorded death."""
    death = wh.df("SELECT person_id, min(death_date) AS death_date FROM death GROUP BY 1")
    if death.empty:
        return _hits(c.iloc[:0], "post_death", 1, "")
    m = c.merge(death, on="person_id")
    m = m[m["service_date"] > pd.to_datetime(m["death_date"])]
    days = (m["service_date"] - pd.to_datetime(m["death_date"])).dt.days
    return _hits(
        m, "post_death", 1.0, "service " + days.astype(str) + " days after the recorded death"
    )


_DUP_KEY = [
    "person_id",
    "organisation_id",
    "clinician_id",
    "code",
    "service_date",
    "amount",
    "units",
]


def exact_duplicates(c: pd.DataFrame) -> pd.DataFrame:
    """Same person, organisation, clinician, code, date, units and amount as an earlier claim;
    the later copy (in reading order) is flagged, not the original.
    """
    k = c.sort_values("order").copy()
    for col in _DUP_KEY:
        k[col] = k[col].astype(object).where(k[col].notna(), "")
    g = k.groupby(_DUP_KEY, sort=False, dropna=False)
    k["first"] = g["source_id"].transform("first")
    k["rank"] = g.cumcount()
    d = k[k["rank"] > 0]
    return _hits(
        d,
        "exact_duplicate",
        1.0,
        "same person, organisation, clinician, code "
        + d["code"].astype(str)
        + ", date, units and amount as claim "
        + d["first"],
        d["first"],
    )


def duplicate_lines(c: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """A line repeated on a later claim: same person, organisation, clinician, code, date,
    units and amount as a line of an earlier claim (in reading order).
    """
    key = [
        "person_id",
        "organisation_id",
        "clinician_id",
        "vocab",
        "code",
        "service_date",
        "units",
        "amount",
    ]
    li = (
        lines.dropna(subset=["code"])
        .merge(
            c[
                [
                    "claim_id",
                    "source_id",
                    "person_id",
                    "organisation_id",
                    "clinician_id",
                    "service_date",
                    "order",
                ]
            ],
            on="claim_id",
        )
        .sort_values("order", kind="stable")
    )
    for col in key:
        li[col] = li[col].astype(object).where(li[col].notna(), "")
    g = li.groupby(key, sort=False)
    li["first_claim"] = g["claim_id"].transform("first")
    li["first"] = g["source_id"].transform("first")
    d = li[li["claim_id"] != li["first_claim"]].drop_duplicates("claim_id")
    return _hits(
        d,
        "exact_duplicate",
        0.8,
        "line of code "
        + d["code"].astype(str)
        + " repeats a line of claim "
        + d["first"]
        + " (same person, organisation, clinician, date, units and amount)",
        d["first"],
    )


def near_duplicates(
    c: pd.DataFrame, window_days: int = 4, amount_tolerance: float = 0.15
) -> pd.DataFrame:
    """Claims that repeat an earlier one with the date or amount slightly changed.

    Three signs: (1) same person, organisation and code within `window_days`, amount within
    `amount_tolerance` (not an exact copy); (2) an encounter already billed by an earlier
    claim of the same code billed again; (3) a claim dated more than a day away from its own
    encounter. The later claim is flagged.
    """
    cols = [
        "claim_id",
        "source_id",
        "person_id",
        "organisation_id",
        "code",
        "service_date",
        "amount",
        "order",
        "visit_occurrence_id",
        "visit_start_date",
        "units",
        "clinician_id",
    ]
    k = c[cols].dropna(subset=["code"])
    a = k.merge(k, on=["person_id", "organisation_id", "code"], suffixes=("_a", ""))
    a = a[a["order_a"] < a["order"]]
    gap = (a["service_date"] - a["service_date_a"]).dt.days.abs()
    rel = (a["amount"] - a["amount_a"]).abs() / a[["amount", "amount_a"]].abs().max(axis=1).clip(
        lower=1e-9
    )
    # nullable columns give NA in comparisons: a missing value never matches
    exact = (
        (gap == 0)
        & (rel == 0)
        & (a["units"] == a["units_a"]).fillna(False)
        & (a["clinician_id"].fillna("") == a["clinician_id_a"].fillna(""))
    ).astype(bool)
    near = ((gap <= window_days) & (rel <= amount_tolerance)).fillna(False).astype(bool) & ~exact
    same_visit = (
        (a["visit_occurrence_id"] == a["visit_occurrence_id_a"]).fillna(False).astype(bool)
        & a["visit_occurrence_id"].notna().to_numpy()
        & ~exact
    )
    hit = a[near | same_visit].copy()
    hit["gap"] = gap[near | same_visit]
    hit["rel"] = rel[near | same_visit]
    hit["same_visit"] = same_visit[near | same_visit]
    hit = hit.sort_values(
        ["claim_id", "same_visit", "gap"], ascending=[True, False, True]
    ).drop_duplicates("claim_id")
    reason = np.where(
        hit["same_visit"],
        "bills the encounter of earlier claim "
        + hit["source_id_a"]
        + " (code "
        + hit["code"].astype(str)
        + ") again",
        "code "
        + hit["code"].astype(str)
        + " for the same person and organisation "
        + hit["gap"].astype(str)
        + " days after claim "
        + hit["source_id_a"]
        + ", amount "
        + (hit["rel"] * 100).round(0).astype(int).astype(str)
        + "% different",
    )
    strength = np.where(
        hit["same_visit"] | ((hit["gap"] <= 1) & (hit["rel"] <= 0.02)),
        1.0,
        np.where(hit["gap"] <= 1, 0.8, 0.6),
    )
    out = [_hits(hit, "near_duplicate", strength, reason, hit["source_id_a"])]
    off = c[c["visit_start_date"].notna()]
    shift = (off["service_date"] - pd.to_datetime(off["visit_start_date"])).dt.days
    off = off[shift.abs() > 1]
    out.append(
        _hits(
            off,
            "near_duplicate",
            0.6,
            "claim dated "
            + shift[shift.abs() > 1].abs().astype(str)
            + " days away from its own encounter",
        )
    )
    return pd.concat(out, ignore_index=True)


def phantom(c: pd.DataFrame, wh: Any, min_link_share: float = 0.5) -> pd.DataFrame:
    """Claims with no encounter behind them where the source normally links one, and no
    encounter of the person within a day of the service (services never rendered).
    """
    kind = c["claim_source_value"].fillna("").str.split(r"[:/]", regex=True).str[0]
    share = c["visit_occurrence_id"].notna().groupby(kind).transform("mean")
    cand = c[c["visit_occurrence_id"].isna() & (share >= min_link_share)]
    if cand.empty:
        return _hits(cand, "phantom", 1, "")
    visits = wh.df("SELECT DISTINCT person_id, visit_start_date FROM visit_occurrence")
    visits["visit_start_date"] = pd.to_datetime(visits["visit_start_date"])
    near = cand[["claim_id", "person_id", "service_date"]].merge(visits, on="person_id")
    near = near[(near["service_date"] - near["visit_start_date"]).dt.days.abs() <= 1]
    lone = cand[~cand["claim_id"].isin(near["claim_id"])]
    some = cand[cand["claim_id"].isin(near["claim_id"])]
    pct = f"{share.max():.0%}"
    return pd.concat(
        [
            _hits(
                lone,
                "phantom",
                1.0,
                f"no encounter behind the claim (this source links one on up to {pct} of claims) "
                "and none for the person within a day",
            ),
            _hits(
                some,
                "phantom",
                0.4,
                "no encounter linked to the claim (the person had one within a day)",
            ),
        ],
        ignore_index=True,
    )


def robust_z(
    values: pd.Series, groups: pd.Series, floor_share: float = 0.1, min_n: int = 5
) -> tuple[pd.Series, pd.Series]:
    """Robust z of each value within its group: (x - median) / (1.4826 * MAD), the MAD floored
    at `floor_share` of the median (and at 1 unit) so a constant price cannot give z = 6,000.
    Groups smaller than `min_n` get z = 0. Returns (z, group median).
    """
    g = values.groupby(groups)
    med = g.transform("median")
    mad = (values - med).abs().groupby(groups).transform("median")
    n = g.transform("size")
    scale = 1.4826 * np.maximum(mad, np.maximum(floor_share * med.abs(), 1.0))
    z = ((values - med) / scale).where(n >= min_n, 0.0)
    return z.fillna(0.0), med


def upcoding(
    c: pd.DataFrame, lines: pd.DataFrame, z_min: float = 3.0, min_ratio: float = 1.5
) -> pd.DataFrame:
    """Line amount per unit far above the code's peer distribution (upcharging): robust z at
    least `z_min` and at least `min_ratio` times the code's median (the claim's worst line).
    """
    k = lines[lines["code"].notna() & (lines["amount"] > 0)].copy()
    if k.empty:
        return _hits(k, "upcoding", 1, "")
    per_unit = k["amount"] / k["units"].clip(lower=1)
    z, med = robust_z(per_unit, k["vocab"].astype(str) + ":" + k["code"].astype(str))
    k["per_unit"], k["z"], k["med"] = per_unit, z.clip(upper=50), med
    hit = k[(k["z"] >= z_min) & (k["per_unit"] >= min_ratio * k["med"])].copy()
    hit["ratio"] = (hit["per_unit"] / hit["med"]).round(1)
    hit = hit.sort_values("z", ascending=False).drop_duplicates("claim_id")
    reason = (
        "amount per unit " + hit["per_unit"].round(2).astype(str) + " is "
        + hit["ratio"].astype(str) + "x the median " + hit["med"].round(2).astype(str)
        + " of code " + hit["code"].astype(str) + " (robust z " + hit["z"].round(1).astype(str)
        + ")"
    )  # fmt: skip
    # strength grows with both the robust z and the price ratio: a heavy-tailed fee schedule
    # gives modest findings, a price several times the code's median a full one
    strength = ((hit["z"] - z_min) / 7 + 0.4).clip(upper=1.0) * ((hit["ratio"] - 1) / 1.5).clip(
        upper=1.0
    )
    return _hits(hit, "upcoding", strength, reason)


def code_mismatch(
    c: pd.DataFrame, max_share: float = 0.02, min_code_claims: int = 20
) -> pd.DataFrame:
    """Codes billed on a kind of encounter they almost never go with (an ambulatory visit
    billed as an admission), learned from the data's own code x encounter-kind table.
    """
    k = c[c["code"].notna() & c["visit_kind"].notna()]
    if k.empty:
        return _hits(k, "code_mismatch", 1, "")
    n_code = k.groupby("code")["claim_id"].transform("size")
    n_pair = k.groupby(["code", "visit_kind"])["claim_id"].transform("size")
    share = n_pair / n_code
    hit = k[(share <= max_share) & (n_code >= min_code_claims)]
    s = share[hit.index]
    reason = (
        "code "
        + hit["code"].astype(str)
        + " billed on a "
        + hit["visit_kind"].astype(str).str.split(":").str[-1]
        + " encounter; only "
        + (s * 100).round(1).astype(str)
        + "% of its claims are"
    )
    return _hits(hit, "code_mismatch", 1.0 - s / max_share * 0.5, reason)


def unbundling(
    c: pd.DataFrame,
    lines: pd.DataFrame,
    ptp: pd.DataFrame | None = None,
    min_baskets: int = 2,
    min_lift: float = 2.0,
    min_claims: int = 3,
) -> pd.DataFrame:
    """Components billed separately on the same day for one person and organisation.

    Baskets are the codes of a person at one organisation on one day, split over several
    claims. Code pairs that recur in such baskets (at least `min_baskets`, lift at least
    `min_lift`: association rules mined from the data) mark a group of components; a basket
    of at least `min_claims` claims whose codes are joined by such pairs is unbundled. With a
    user edit table (`ptp`, CMS NCCI procedure-to-procedure layout: column1 = the
    comprehensive code, column2 = the component), a column-2 code billed the same day as its
    column-1 code is flagged too.
    """
    k = c[c["code"].notna()][
        ["claim_id", "source_id", "person_id", "organisation_id", "service_date", "code", "amount"]
    ]
    key = ["person_id", "organisation_id", "service_date"]
    size = k.groupby(key, dropna=False)["claim_id"].transform("size")
    multi = k[size >= 2].copy()
    out = []
    if len(multi):
        multi["basket"] = multi.groupby(key, dropna=False).ngroup()
        items = multi.drop_duplicates(["basket", "code"])[["basket", "code"]]
        # lift against every person-organisation-day (a code billed alone counts too)
        n_b = int(k.groupby(key, dropna=False).ngroups)
        pairs = items.merge(items, on="basket")
        pairs = pairs[pairs["code_x"] < pairs["code_y"]]
        sup = pairs.groupby(["code_x", "code_y"]).size().rename("n").reset_index()
        single = k.drop_duplicates([*key, "code"]).groupby("code").size()
        sup["lift"] = sup["n"] * n_b / (sup["code_x"].map(single) * sup["code_y"].map(single))
        rules = sup[(sup["n"] >= min_baskets) & (sup["lift"] >= min_lift)]
        if len(rules):
            hits = pairs.merge(rules, on=["code_x", "code_y"])
            linked = pd.concat(
                [
                    hits[["basket", "code_x"]].rename(columns={"code_x": "code"}),
                    hits[["basket", "code_y"]].rename(columns={"code_y": "code"}),
                ]
            ).drop_duplicates()
            linked["k"] = linked.groupby("basket")["code"].transform("size")
            m = multi.merge(linked, on=["basket", "code"])
            m["n_claims"] = m.groupby("basket")["claim_id"].transform("size")
            m = m[(m["k"] >= 2) & (m["n_claims"] >= min_claims)]
            if len(m):
                others = m.groupby("basket")["source_id"].agg(lambda s: ", ".join(s.head(8)))
                top = rules.sort_values("n", ascending=False)
                reason = (
                    m["n_claims"].astype(str)
                    + " claims for one person and organisation on one day with "
                    "codes that recur together as separate claims ("
                    + m["k"].astype(str)
                    + " linked codes; mined pairs, top support "
                    + str(int(top["n"].iloc[0]))
                    + " person-days)"
                )
                out.append(
                    _hits(
                        m,
                        "unbundling",
                        np.minimum(1.0, 0.5 + 0.1 * m["n_claims"]),
                        reason,
                        m["basket"].map(others),
                    )
                )
    if ptp is not None and len(ptp):
        li = lines.merge(
            c[["claim_id", "source_id", "person_id", "organisation_id", "service_date"]],
            on="claim_id",
        )
        a = li.merge(ptp, left_on=["vocab", "code"], right_on=["vocabulary_id", "column1_code"])
        b = li.merge(
            a[
                [
                    "person_id",
                    "organisation_id",
                    "service_date",
                    "column2_code",
                    "source_id",
                    "code",
                ]
            ],
            left_on=["person_id", "organisation_id", "service_date", "code"],
            right_on=["person_id", "organisation_id", "service_date", "column2_code"],
            suffixes=("", "_c1"),
        )
        b = b[b["claim_id"].notna()].drop_duplicates("claim_id")
        out.append(
            _hits(
                b,
                "unbundling",
                1.0,
                b["code"].astype(str)
                + " billed on the day of "
                + b["code_c1"].astype(str)
                + " (claim "
                + b["source_id_c1"]
                + "), which includes it (edit table)",
                b["source_id_c1"],
            )
        )
    return pd.concat(out, ignore_index=True) if out else _hits(k.iloc[:0], "unbundling", 1, "")


def excessive_units(
    c: pd.DataFrame, lines: pd.DataFrame, mue: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Units of one code on one claim above a per-code limit: the data's own (median + 4
    robust SD, at least twice the median) or a user table in the CMS MUE layout, whichever
    is lower when both exist.
    """
    u = (
        lines.dropna(subset=["code"])
        .groupby(["claim_id", "vocab", "code"], as_index=False)["units"]
        .sum()
    )
    if u.empty:
        return _hits(u, "excessive_units", 1, "")
    g = u.groupby(["vocab", "code"])["units"]
    med = g.transform("median")
    mad = (u["units"] - med).abs().groupby([u["vocab"], u["code"]]).transform("median")
    limit = np.maximum(np.ceil(med + 4 * 1.4826 * mad), 2 * med)
    source = pd.Series("this data's own distribution", index=u.index)
    if mue is not None and len(mue):
        ref = u.merge(
            mue, left_on=["vocab", "code"], right_on=["vocabulary_id", "code"], how="left"
        )["max_units_per_day"].to_numpy()
        has = ~np.isnan(ref.astype(float))
        limit = np.where(has, np.minimum(limit, ref.astype(float)), limit)
        source = source.where(~has, "the MUE table")
    limit = pd.Series(limit, index=u.index)
    hit = u[u["units"] > limit]
    lim = limit[hit.index]
    reason = (
        hit["units"].round(1).astype(str)
        + " units of "
        + hit["code"].astype(str)
        + " on one claim (limit "
        + lim.round(1).astype(str)
        + " from "
        + source[hit.index]
        + ")"
    )
    hit = hit.assign(ratio=hit["units"] / lim)
    return _hits(
        hit, "excessive_units", np.minimum(1.0, 0.5 + (hit["ratio"] - 1) / 4), reason
    ).drop_duplicates("claim_id")


def impossible_volume(
    c: pd.DataFrame, minutes: pd.DataFrame | None = None, day_minutes: float = 1440
) -> pd.DataFrame:
    """Clinician-days with more service time than a day has: encounter durations (encounters
    shorter than a day) or, without them, the code's typical minutes (``procedure_minutes``).
    """
    k = c[c["clinician_id"].notna()].copy()
    dur = (k["visit_end_datetime"] - k["visit_start_datetime"]).dt.total_seconds() / 60
    dur = dur.where((dur > 0) & (dur < day_minutes))
    if minutes is not None and len(minutes):
        typ = k.merge(
            minutes, left_on=["vocab", "code"], right_on=["vocabulary_id", "code"], how="left"
        )["minutes"]
        dur = dur.fillna(pd.Series(typ.to_numpy(), index=k.index))
    k["minutes"] = dur.fillna(0.0)
    k["day"] = k["service_date"].dt.normalize()
    # one encounter billed twice counts once
    per_visit = (
        k.drop_duplicates(subset=["clinician_id", "day", "visit_occurrence_id"])
        .where(k["visit_occurrence_id"].notna())
        .dropna(subset=["claim_id"])
    )
    no_visit = k[k["visit_occurrence_id"].isna()]
    day = (
        pd.concat([per_visit, no_visit])
        .groupby(["clinician_id", "day"])["minutes"]
        .sum()
        .rename("total")
        .reset_index()
    )
    bad = day[day["total"] > day_minutes]
    hit = k.merge(bad, on=["clinician_id", "day"])
    hit = hit[hit["minutes"] > 0]
    hours = (hit["total"] / 60).round(1)
    reason = (
        "clinician "
        + hit["clinician_id"].astype(str)
        + " billed "
        + hours.astype(str)
        + " hours of services on one day"
    )
    return _hits(
        hit, "impossible_volume", np.minimum(1.0, hit["total"] / day_minutes - 0.5), reason
    )


def referral_concentration(
    c: pd.DataFrame, min_referred: int = 5, min_share: float = 0.25, peer_factor: float = 2.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Organisations whose referred claims come mostly from one referrer who practises
    elsewhere (kickback-like).

    An organisation with at least `min_referred` referred claims is concentrated when its top
    referrer's share is at least `min_share` and at least `peer_factor` times the median top
    share of the organisations (its peers in this data), and that referrer's own claims are
    mostly billed by another organisation. Returns (claim hits, one row per concentrated
    organisation).
    """
    r = c[c["referrer_id"].notna() & c["organisation_id"].notna()]
    empty = pd.DataFrame(
        columns=["organisation_id", "referrer_id", "share", "referred", "home", "strength"]
    )
    if r.empty:
        return _hits(r, "kickback_referral", 1, ""), empty
    per = r.groupby(["organisation_id", "referrer_id"]).size().rename("n").reset_index()
    tot = per.groupby("organisation_id")["n"].transform("sum")
    per["share"] = per["n"] / tot
    per["referred"] = tot
    top = per.sort_values(["organisation_id", "n"], ascending=[True, False])
    top = top.drop_duplicates("organisation_id")
    top = top[top["referred"] >= min_referred]
    if top.empty:
        return _hits(r.iloc[:0], "kickback_referral", 1, ""), empty
    threshold = max(min_share, peer_factor * float(top["share"].median()))
    # the referrer's home: the organisation billing most of the claims it renders
    home = c.dropna(subset=["clinician_id", "organisation_id"])
    home = home.groupby(["clinician_id", "organisation_id"]).size().rename("n").reset_index()
    home = home.sort_values("n", ascending=False).drop_duplicates("clinician_id")
    top["home"] = top["referrer_id"].map(home.set_index("clinician_id")["organisation_id"])
    conc = top[(top["share"] >= threshold) & (top["home"] != top["organisation_id"])].copy()
    conc["strength"] = np.minimum(1.0, 0.5 + (conc["share"] - threshold) / threshold) * np.minimum(
        1.0, conc["n"] / 10
    )
    conc["threshold"] = threshold
    hit = r.merge(
        conc[["organisation_id", "referrer_id", "share", "referred", "strength"]],
        on=["organisation_id", "referrer_id"],
    )
    reason = (
        "referred by "
        + hit["referrer_id"].astype(str)
        + ", who sends "
        + (hit["share"] * 100).round(0).astype(int).astype(str)
        + "% of this organisation's "
        + hit["referred"].astype(str)
        + f" referred claims (peers' top referrer: median {top['share'].median():.0%}) "
        "and practises elsewhere"
    )
    return _hits(hit, "kickback_referral", hit["strength"], reason), conc


def reference_table(path: str | Path | None, name: str, dtype: dict[str, Any]) -> pd.DataFrame:
    """A user-supplied CSV (`path`) or the shipped table ``medmine/studies/data/<name>``."""
    src = Path(path) if path else importlib.resources.files("medmine.studies") / "data" / name
    return pd.read_csv(src, dtype=dtype)  # type: ignore[arg-type]


def scheme_hits(
    wh: Any, c: pd.DataFrame, lines: pd.DataFrame, tables: dict[str, pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every detector; returns (hits, concentrated referral pairs)."""
    kick, conc = referral_concentration(c)
    runs: list[Callable[[], pd.DataFrame]] = [
        lambda: post_death(c, wh),
        lambda: exact_duplicates(c),
        lambda: duplicate_lines(c, lines),
        lambda: near_duplicates(c),
        lambda: phantom(c, wh),
        lambda: upcoding(c, lines),
        lambda: code_mismatch(c),
        lambda: unbundling(c, lines, tables.get("ncci")),
        lambda: excessive_units(c, lines, tables.get("mue")),
        lambda: impossible_volume(c, tables.get("minutes")),
    ]
    frames = [f() for f in runs] + [kick]
    hits = (
        pd.concat([f for f in frames if len(f)], ignore_index=True)
        if any(len(f) for f in frames)
        else pd.DataFrame(columns=HIT_COLUMNS)
    )
    if len(hits):
        # an exact copy is not also a near-duplicate of its original
        dup = set(hits.loc[hits["scheme"] == "exact_duplicate", "claim_id"])
        hits = hits[~((hits["scheme"] == "near_duplicate") & hits["claim_id"].isin(dup))]
        hits = hits.sort_values(
            ["claim_id", "scheme", "strength"], ascending=[True, True, False], kind="stable"
        )
        hits = hits.drop_duplicates(["claim_id", "scheme"]).reset_index(drop=True)
    return hits, conc
