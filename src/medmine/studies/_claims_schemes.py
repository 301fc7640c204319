"""Scheme detectors of the claims fraud study: one function per scheme over a claim table.

`build_claims` writes one row per claim (source ids, billing organisation, rendering and
referring clinicians, encounter link, code, units, amount, dates, reading order) to a
temporary table and `build_lines` one row per line; `claim_frame` / `line_frame` read them
as pandas frames. Each detector runs one set-wise SQL statement of `_claims_sql` in the
warehouse and formats the plain words of the few rows it returns. Each returns hits
``(claim_id, scheme, strength, reason, evidence)``: ``strength`` in (0, 1], ``reason`` in
plain words (codes and counts only, never names or dates), ``evidence`` the source ids of
the other claims behind the reason. The schemes are explained in ``docs/patterns.md``.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medmine.studies import _claims_sql as q
from medmine.warehouse.sql import ident

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


def source_claim_id(source_value: pd.Series) -> pd.Series:
    """The claim id as the source gave it: ``Claim/abc`` or ``fhir:Claim/abc`` -> ``abc``,
    ``carrier:123`` -> ``123`` (DE-SynPUF kind prefix), a claims-file id as is.
    """
    s = source_value.fillna("").astype(str)
    slash = s.str.contains("/", regex=False)
    return s.str.rsplit("/", n=1).str[-1].where(slash, s.str.split(":", n=1).str[-1])


def build_claims(con: Any, person_sql: str | None = None, table: str = q.CLAIMS_TABLE) -> str:
    """Write the claim table (one row per claim, with its reading order ``ord``); its name."""
    filt = f"AND c.person_id IN ({person_sql})" if person_sql else ""
    body = q.CLAIMS.format(person_filter=filt)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS "
        + q.CLAIMS_ORDERED.format(claims_sql=body)
    )
    return table


def build_lines(con: Any, person_sql: str | None = None, table: str = q.LINES_TABLE) -> str:
    """Write the line table (claim, line, vocabulary, code, units, amount); its name."""
    filt = f"WHERE person_id IN ({person_sql})" if person_sql else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS " + q.LINES.format(person_filter=filt)
    )
    return table


def claim_frame(wh: Any, person_sql: str | None = None) -> pd.DataFrame:
    """One row per claim with source ids, parties, encounter link, code, units and amount."""
    t = build_claims(wh.con, person_sql)
    df = wh.con.execute(f"SELECT * FROM {ident(t)} ORDER BY ord").df()
    # source_id (in SQL, as `source_claim_id` does it): a source without claim ids
    # (simulated data) falls back to the warehouse id, marked ``mm:``
    df["service_date"] = pd.to_datetime(df["service_date"])
    # Reading order: file, then entry / line number, then id (the copy comes after the original).
    return df.rename(columns={"ord": "order"}).reset_index(drop=True)


def line_frame(wh: Any, person_sql: str | None = None) -> pd.DataFrame:
    """One row per claim line: claim, code, units, amount."""
    t = build_lines(wh.con, person_sql)
    return wh.con.execute(f"SELECT * FROM {ident(t)} ORDER BY claim_line_id").df()


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


def _empty(scheme: str) -> pd.DataFrame:
    return _hits(pd.DataFrame(columns=["claim_id"]), scheme, 1, "")


# ---------------------------------------------------------------------------- schemes
# Each detector takes the connection and the names of the claim table (`C`) and the line
# table (`L`) written by `build_claims` / `build_lines` (or views of frames, `scheme_hits`).
def post_death(con: Any, C: str) -> pd.DataFrame:
    """Services dated after the person's recorded death."""
    m = q.run(con, q.POST_DEATH, claims=C)
    return _hits(
        m, "post_death", 1.0, "service " + m["days"].astype(str) + " days after the recorded death"
    )


def exact_duplicates(con: Any, C: str) -> pd.DataFrame:
    """Same person, organisation, clinician, code, date, units and amount as an earlier claim;
    the later copy (in reading order) is flagged, not the original.
    """
    d = q.run(con, q.EXACT_DUPLICATES, claims=C)
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


def duplicate_lines(con: Any, C: str, L: str) -> pd.DataFrame:
    """A line repeated on a later claim: same person, organisation, clinician, code, date,
    units and amount as a line of an earlier claim (in reading order).
    """
    d = q.run(con, q.DUPLICATE_LINES, claims=C, lines=L)
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
    con: Any, C: str, window_days: int = 4, amount_tolerance: float = 0.15
) -> pd.DataFrame:
    """Claims that repeat an earlier one with the date or amount slightly changed.

    Three signs: (1) same person, organisation and code within `window_days`, amount within
    `amount_tolerance` (not an exact copy); (2) an encounter already billed by an earlier
    claim of the same code billed again; (3) a claim dated more than a day away from its own
    encounter. The later claim is flagged.
    """
    hit = q.run(
        con,
        q.NEAR_DUPLICATE_PAIRS,
        {"window": int(window_days), "tolerance": float(amount_tolerance)},
        claims=C,
    )
    same = hit["same_visit"].astype(bool)
    reason = np.where(
        same,
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
        same | ((hit["gap"] <= 1) & (hit["rel"] <= 0.02)),
        1.0,
        np.where(hit["gap"] <= 1, 0.8, 0.6),
    )
    out = [_hits(hit, "near_duplicate", strength, reason, hit["source_id_a"])]
    off = q.run(con, q.OFF_ENCOUNTER, claims=C)
    out.append(
        _hits(
            off,
            "near_duplicate",
            0.6,
            "claim dated " + off["shift"].astype(str) + " days away from its own encounter",
        )
    )
    return pd.concat(out, ignore_index=True)


def phantom(con: Any, C: str, min_link_share: float = 0.5) -> pd.DataFrame:
    """Claims with no encounter behind them where the source normally links one, and no
    encounter of the person within a day of the service (services never rendered).
    """
    cand = q.run(con, q.PHANTOM, {"min_share": float(min_link_share)}, claims=C)
    if cand.empty:
        return _empty("phantom")
    share = q.run(con, q.LINK_SHARE, claims=C)["share"].max()
    near = cand["near"].astype(bool)
    return pd.concat(
        [
            _hits(
                cand[~near],
                "phantom",
                1.0,
                f"no encounter behind the claim (this source links one on up to {share:.0%} of "
                "claims) and none for the person within a day",
            ),
            _hits(
                cand[near],
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


def upcoding(con: Any, L: str, z_min: float = 3.0, min_ratio: float = 1.5) -> pd.DataFrame:
    """Line amount per unit far above the code's peer distribution (upcharging): robust z at
    least `z_min` (`robust_z`, in SQL) and at least `min_ratio` times the code's median (the
    claim's worst line).
    """
    hit = q.run(
        con,
        q.UPCODING,
        {"min_n": 5, "z_min": float(z_min), "min_ratio": float(min_ratio)},
        lines=L,
    )
    hit["ratio"] = (hit["per_unit"] / hit["med"]).round(1)
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
    con: Any, C: str, max_share: float = 0.02, min_code_claims: int = 20
) -> pd.DataFrame:
    """Codes billed on a kind of encounter they almost never go with (an ambulatory visit
    billed as an admission), learned from the data's own code x encounter-kind table.
    """
    hit = q.run(
        con,
        q.CODE_MISMATCH,
        {"max_share": float(max_share), "min_code_claims": int(min_code_claims)},
        claims=C,
    )
    s = hit["share"]
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


def _register(con: Any, name: str, df: pd.DataFrame | None, columns: list[str]) -> str:
    """Register `df` (or an empty frame with `columns`) as view `name`; its name."""
    frame = (
        df
        if df is not None and len(df)
        else pd.DataFrame({c: pd.Series(dtype=str) for c in columns})
    )
    con.register(name, frame)
    return name


def unbundling(
    con: Any,
    C: str,
    L: str,
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
    out = []
    m = q.run(
        con,
        q.UNBUNDLING,
        {
            "min_baskets": int(min_baskets),
            "min_lift": float(min_lift),
            "min_claims": int(min_claims),
        },
        claims=C,
    )
    if len(m):
        reason = (
            m["n_claims"].astype(str) + " claims for one person and organisation on one day with "
            "codes that recur together as separate claims ("
            + m["k"].astype(str)
            + " linked codes; mined pairs, top support "
            + str(int(m["top_n"].iloc[0]))
            + " person-days)"
        )
        out.append(
            _hits(
                m, "unbundling", np.minimum(1.0, 0.5 + 0.1 * m["n_claims"]), reason, m["evidence"]
            )
        )
    if ptp is not None and len(ptp):
        name = _register(
            con, "_fraud_ptp", ptp[["vocabulary_id", "column1_code", "column2_code"]], []
        )
        try:
            b = q.run(con, q.UNBUNDLING_PTP, claims=C, lines=L, ptp=name)
        finally:
            con.unregister(name)
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
    return pd.concat(out, ignore_index=True) if out else _empty("unbundling")


def excessive_units(con: Any, L: str, mue: pd.DataFrame | None = None) -> pd.DataFrame:
    """Units of one code on one claim above a per-code limit: the data's own (median + 4
    robust SD, at least twice the median) or a user table in the CMS MUE layout, whichever
    is lower when both exist.
    """
    cols = ["vocabulary_id", "code", "max_units_per_day"]
    tab = mue[cols] if mue is not None and len(mue) else pd.DataFrame(
        {"vocabulary_id": pd.Series(dtype=str), "code": pd.Series(dtype=str),
         "max_units_per_day": pd.Series(dtype=float)}
    )  # fmt: skip
    con.register("_fraud_mue", tab)
    try:
        hit = q.run(con, q.EXCESSIVE_UNITS, lines=L, mue="_fraud_mue")
    finally:
        con.unregister("_fraud_mue")
    source = np.where(
        hit["from_table"].astype(bool), "the MUE table", "this data's own distribution"
    )
    reason = (
        hit["units"].round(1).astype(str)
        + " units of "
        + hit["code"].astype(str)
        + " on one claim (limit "
        + hit["lim"].round(1).astype(str)
        + " from "
        + source
        + ")"
    )
    ratio = hit["units"] / hit["lim"]
    return _hits(hit, "excessive_units", np.minimum(1.0, 0.5 + (ratio - 1) / 4), reason)


def impossible_volume(
    con: Any, C: str, minutes: pd.DataFrame | None = None, day_minutes: float = 1440
) -> pd.DataFrame:
    """Clinician-days with more service time than a day has: encounter durations (encounters
    shorter than a day) or, without them, the code's typical minutes (``procedure_minutes``).
    """
    tab = pd.DataFrame(
        {"vocabulary_id": pd.Series(dtype=str), "code": pd.Series(dtype=str),
         "minutes": pd.Series(dtype=float)}
    )  # fmt: skip
    if minutes is not None and len(minutes):
        tab = minutes[["vocabulary_id", "code", "minutes"]]
    con.register("_fraud_minutes", tab)
    try:
        hit = q.run(
            con,
            q.IMPOSSIBLE_VOLUME,
            {"day_minutes": float(day_minutes)},
            claims=C,
            minutes="_fraud_minutes",
        )
    finally:
        con.unregister("_fraud_minutes")
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
    con: Any, C: str, min_referred: int = 5, min_share: float = 0.25, peer_factor: float = 2.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Organisations whose referred claims come mostly from one referrer who practises
    elsewhere (kickback-like).

    An organisation with at least `min_referred` referred claims is concentrated when its top
    referrer's share is at least `min_share` and at least `peer_factor` times the median top
    share of the organisations (its peers in this data), and that referrer's own claims are
    mostly billed by another organisation. Returns (claim hits, one row per concentrated
    organisation). The counts come from SQL; the rule runs on those few rows.
    """
    per = q.run(con, q.REFERRALS, claims=C)
    empty = pd.DataFrame(
        columns=["organisation_id", "referrer_id", "share", "referred", "home", "strength"]
    )
    if per.empty:
        return _empty("kickback_referral"), empty
    tot = per.groupby("organisation_id")["n"].transform("sum")
    per["share"] = per["n"] / tot
    per["referred"] = tot
    top = per.sort_values(["organisation_id", "n"], ascending=[True, False])
    top = top.drop_duplicates("organisation_id")
    top = top[top["referred"] >= min_referred]
    if top.empty:
        return _empty("kickback_referral"), empty
    threshold = max(min_share, peer_factor * float(top["share"].median()))
    # the referrer's home: the organisation billing most of the claims it renders
    home = q.run(con, q.HOMES, claims=C)
    home = home.sort_values("n", ascending=False).drop_duplicates("clinician_id")
    top["home"] = top["referrer_id"].map(home.set_index("clinician_id")["organisation_id"])
    conc = top[(top["share"] >= threshold) & (top["home"] != top["organisation_id"])].copy()
    conc["strength"] = np.minimum(1.0, 0.5 + (conc["share"] - threshold) / threshold) * np.minimum(
        1.0, conc["n"] / 10
    )
    conc["threshold"] = threshold
    if conc.empty:
        return _empty("kickback_referral"), conc
    con.register("_fraud_conc", conc[["organisation_id", "referrer_id"]])
    try:
        r = q.run(con, q.CONCENTRATED_CLAIMS, claims=C, conc="_fraud_conc")
    finally:
        con.unregister("_fraud_conc")
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
    conc = conc.copy()
    conc.attrs["claims"] = r  # the pairs' claims in reading order (evidence for the lists)
    return _hits(hit, "kickback_referral", hit["strength"], reason), conc


def reference_table(path: str | Path | None, name: str, dtype: dict[str, Any]) -> pd.DataFrame:
    """A user-supplied CSV (`path`) or the shipped table ``medmine/studies/data/<name>``."""
    src = Path(path) if path else importlib.resources.files("medmine.studies") / "data" / name
    return pd.read_csv(src, dtype=dtype)  # type: ignore[arg-type]


_FRAME_CLAIMS = "_fraud_claims_frame"
_FRAME_LINES = "_fraud_lines_frame"


def _as_tables(con: Any, c: Any, lines: Any) -> tuple[str, str, list[str]]:
    """Table names for `c` / `lines`: as given when names, else views of the frames."""
    made = []
    if isinstance(c, str):
        C = c
    else:
        con.register(_FRAME_CLAIMS + "_df", c)
        con.execute(
            f'CREATE OR REPLACE TEMP VIEW {ident(_FRAME_CLAIMS)} AS SELECT * EXCLUDE ("order") '
            "REPLACE (CAST(service_date AS DATE) AS service_date, "
            'CAST(visit_start_date AS DATE) AS visit_start_date), "order" AS ord '
            f"FROM {ident(_FRAME_CLAIMS + '_df')}"
        )
        C = _FRAME_CLAIMS
        made.append(C)
    if isinstance(lines, str):
        L = lines
    else:
        con.register(_FRAME_LINES, lines)
        L = _FRAME_LINES
        made.append(L)
    return C, L, made


def scheme_hits(
    wh: Any, c: Any, lines: Any, tables: dict[str, pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every detector on claims `c` and `lines` (table names from `build_claims` /
    `build_lines`, or the frames of `claim_frame` / `line_frame`); returns (hits,
    concentrated referral pairs).
    """
    con = wh.con
    C, L, made = _as_tables(con, c, lines)
    try:
        kick, conc = referral_concentration(con, C)
        frames = [
            post_death(con, C),
            exact_duplicates(con, C),
            duplicate_lines(con, C, L),
            near_duplicates(con, C),
            phantom(con, C),
            upcoding(con, L),
            code_mismatch(con, C),
            unbundling(con, C, L, tables.get("ncci")),
            excessive_units(con, L, tables.get("mue")),
            impossible_volume(con, C, tables.get("minutes")),
            kick,
        ]
    finally:
        for name in made:
            if name == _FRAME_CLAIMS:
                con.execute(f"DROP VIEW IF EXISTS {ident(name)}")
                con.unregister(name + "_df")
            else:
                con.unregister(name)
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
