"""Fraud schemes injected into simulated claims at known rates, with the ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from medmine.synth._claims_codes import FEES, SPECIALTIES
from medmine.synth._claims_sim import ClaimsData, _finish, _lab_claims, _lines_frame

SCHEMES = (
    "phantom",
    "upcoding",
    "unbundling",
    "duplicate",
    "excessive_units",
    "after_death",
    "kickback",
)

#: Unbundling pairs the simulator injects (a subset of the shipped NCCI table).
UNBUNDLE = {
    "80053": "80048",
    "85025": "85027",
    "80061": "82465",
    "93000": "93010",
    "93306": "93307",
    "73562": "73560",
    "73610": "73600",
    "73030": "73020",
}

#: MUE-style limits used when injecting excessive units (same values as the shipped table).
MUE = {"93000": 3, "20610": 2, "17003": 13, "36415": 2, "85025": 2, "97110": 6, "73562": 2}


@dataclass(frozen=True)
class FraudConfig:
    """Shares of providers (or claims) receiving each scheme, and background error rates."""

    phantom: float = 0.03
    upcoding: float = 0.05
    unbundling: float = 0.04
    duplicate: float = 0.04
    excessive_units: float = 0.04
    kickback: float = 0.05
    after_death_claims: float = 0.002  # share of all claims re-dated after a death
    background_duplicate: float = 0.001
    background_unbundling: float = 0.002
    seed: int = 0


@dataclass
class FraudTruth:
    """Ground truth: schemes per provider and per claim."""

    providers: pd.DataFrame  # provider_id, scheme
    claims: pd.DataFrame  # claim_id, scheme


def _pick(rng, ids: np.ndarray, share: float) -> np.ndarray:
    k = int(round(share * len(ids)))
    return rng.choice(ids, size=k, replace=False) if k else np.array([], dtype=ids.dtype)


def inject(data: ClaimsData, config: FraudConfig | None = None) -> tuple[ClaimsData, FraudTruth]:
    """Return a copy of `data` with every scheme injected, and the ground truth."""
    cfg = config or FraudConfig()
    rng = np.random.default_rng(cfg.seed + 7919)
    d = data.copy()
    prov = d.providers
    office = prov.loc[prov.specialty != "clinical_laboratory", "provider_id"].to_numpy()
    truth_p: list[tuple[int, str]] = []
    truth_c: list[pd.DataFrame] = []
    next_claim = int(d.claims.claim_id.max()) + 1
    next_line = int(d.lines.claim_line_id.max()) + 1

    def mark(ids, scheme):
        truth_c.append(
            pd.DataFrame({"claim_id": np.asarray(ids, dtype=np.int64), "scheme": scheme})
        )

    # Each provider gets at most one scheme (cleaner per-scheme evaluation).
    free = office.copy()

    def take(share):
        nonlocal free
        chosen = _pick(rng, free, share * len(office) / max(len(free), 1))
        free = np.setdiff1d(free, chosen)
        return chosen

    schemers = {
        s: take(getattr(cfg, s))
        for s in ("phantom", "upcoding", "unbundling", "duplicate", "excessive_units", "kickback")
    }
    for s, ids in schemers.items():
        truth_p += [(int(p), s) for p in ids]
    fee_factor = prov.set_index("provider_id")["fee_factor"]

    # ---- upcoding: shift E&M levels up ----
    em_mask = d.lines.procedure_code.str.match(r"^9921[1-5]$")
    up = em_mask & d.lines.rendering_provider_id.isin(schemers["upcoding"])
    lvl = d.lines.loc[up, "procedure_code"].str[-1].astype(int).to_numpy()
    bump = (rng.random(len(lvl)) < 0.7).astype(int) + (rng.random(len(lvl)) < 0.3).astype(int)
    new = np.minimum(lvl + bump, 5)
    changed = d.lines.index[up][new != lvl]
    codes = np.array([f"9921{v}" for v in new], dtype=object)
    d.lines.loc[up, "procedure_code"] = codes
    d.lines.loc[up, "billed_amount"] = np.round(
        [FEES[c][0] for c in codes]
        * fee_factor.loc[d.lines.loc[up, "rendering_provider_id"]].to_numpy(),
        2,
    )
    mark(d.lines.loc[changed, "claim_id"].unique(), "upcoding")

    # ---- kickback: most referred lab work goes to one partner laboratory ----
    labs = prov.loc[prov.specialty == "clinical_laboratory", "provider_id"].to_numpy()
    lab_claims = d.claims[d.claims.place_of_service == "81"]
    visits = d.claims[d.claims.place_of_service == "11"]
    kick_new = []
    for p in schemers["kickback"]:
        partner = rng.choice(labs)
        mine = visits[visits.provider_id == p]
        # redirect existing lab claims of this provider's patients and add new referrals
        extra = mine.iloc[np.flatnonzero(rng.random(len(mine)) < 0.6)]
        kick_new.append((extra, np.full(len(extra), partner)))
        pats = lab_claims.person_id.isin(mine.person_id)
        d.claims.loc[lab_claims.index[pats.to_numpy()], "provider_id"] = partner
    moved = d.claims.loc[d.claims.place_of_service == "81", ["claim_id", "provider_id"]]
    d.lines = d.lines.merge(moved.rename(columns={"provider_id": "_p"}), on="claim_id", how="left")
    d.lines["rendering_provider_id"] = (
        d.lines["_p"].fillna(d.lines.rendering_provider_id).astype(np.int64)
    )
    d.lines = d.lines.drop(columns="_p")
    new_claims, new_lines = [], []
    for extra, partner in kick_new:
        if len(extra):
            c, ln = _lab_claims(
                rng, extra, partner, prov.set_index("provider_id", drop=False), start_id=next_claim
            )
            next_claim += len(c)
            new_claims.append(c)
            new_lines.append(ln)
            mark(c.claim_id, "kickback")

    # ---- phantom billing: claims for patients never seen ----
    persons = d.persons.person_id.to_numpy()
    for p in schemers["phantom"]:
        s = prov.loc[prov.provider_id == p, "specialty"].iloc[0]
        sp_ = SPECIALTIES[s]
        k = max(5, int(0.6 * (visits.provider_id == p).sum()))
        cid = next_claim + np.arange(k)
        next_claim += k
        pat = rng.choice(persons, size=k)
        day = rng.integers(0, 365, k)
        date = (pd.to_datetime(visits.claim_start_date.min()) + pd.to_timedelta(day, "D")).date
        dx = rng.choice(list(sp_.dx), size=k)
        new_claims.append(
            pd.DataFrame(
                {
                    "claim_id": cid,
                    "person_id": pat,
                    "provider_id": p,
                    "claim_start_date": date,
                    "place_of_service": "11",
                    "dx_1": dx,
                    "dx_2": None,
                }
            )
        )
        ff = np.full(k, fee_factor.loc[p])
        em = rng.choice(["99214", "99215"], size=k, p=[0.5, 0.5]).astype(object)
        new_lines.append(_lines_frame(cid, pat, date, em, np.ones(k, int), ff, np.full(k, p)))
        all_procs = sorted({c for v in sp_.procs.values() for c in v})
        has = rng.random(k) < 0.8
        pc = rng.choice(all_procs, size=k).astype(object)
        new_lines.append(
            _lines_frame(
                cid[has],
                pat[has],
                date[has],
                pc[has],
                np.ones(int(has.sum()), int),
                ff[has],
                np.full(int(has.sum()), p),
            )
        )
        mark(cid, "phantom")

    d.claims = pd.concat([d.claims, *new_claims], ignore_index=True)
    d.lines = pd.concat([d.lines, *new_lines], ignore_index=True)
    d.lines["claim_line_id"] = d.lines["claim_line_id"].fillna(-1).astype(np.int64)
    need = d.lines.claim_line_id < 0
    d.lines.loc[need, "claim_line_id"] = next_line + np.arange(int(need.sum()))
    next_line += int(need.sum())

    # ---- unbundling: add the component code next to its comprehensive code ----
    base = d.lines[d.lines.procedure_code.isin(list(UNBUNDLE))]
    is_schemer = base.rendering_provider_id.isin(schemers["unbundling"]).to_numpy()
    p_add = np.where(is_schemer, 0.6, cfg.background_unbundling)
    add = base[rng.random(len(base)) < p_add].drop_duplicates("claim_id")
    comp = add.copy()
    comp["procedure_code"] = add.procedure_code.map(UNBUNDLE)
    comp["billed_amount"] = np.round(
        comp.procedure_code.map(lambda c: FEES[c][0]).to_numpy()
        * fee_factor.loc[comp.rendering_provider_id].to_numpy(),
        2,
    )
    comp["claim_line_id"] = next_line + np.arange(len(comp))
    next_line += len(comp)
    d.lines = pd.concat([d.lines, comp], ignore_index=True)
    mark(comp.claim_id, "unbundling")

    # ---- excessive units ----
    cand = d.lines[d.lines.procedure_code.isin(list(MUE))]
    sch = cand.rendering_provider_id.isin(schemers["excessive_units"]).to_numpy()
    hit = cand[sch & (rng.random(len(cand)) < 0.5)]
    limit = hit.procedure_code.map(MUE).to_numpy()
    units = limit + rng.integers(1, limit + 2)
    d.lines.loc[hit.index, "units"] = units.astype(float)
    d.lines.loc[hit.index, "billed_amount"] = np.round(
        hit.billed_amount.to_numpy() / hit.units.to_numpy() * units, 2
    )
    mark(hit.claim_id.unique(), "excessive_units")

    # ---- duplicates (exact: same day; near: next day) ----
    c = d.claims
    sch = c.provider_id.isin(schemers["duplicate"]).to_numpy()
    p_dup = np.where(sch, 0.12, cfg.background_duplicate)
    dup = c[rng.random(len(c)) < p_dup]
    dup_claims, dup_lines = _copy_claims(rng, d, dup, next_claim, next_line, shift_days=(0, 1))
    next_claim += len(dup_claims)
    next_line += len(dup_lines)
    mark(dup_claims.claim_id, "duplicate")

    # ---- services after death: claims re-dated after the patient's death ----
    dead = d.deaths.set_index("person_id")["death_date"]
    k = int(round(cfg.after_death_claims * len(c)))
    src = c[c.person_id.isin(dead.index)]
    src = src.sample(n=min(k, len(src)), random_state=cfg.seed) if k else src.iloc[:0]
    ad_claims, ad_lines = _copy_claims(
        rng, d, src, next_claim, next_line + len(dup_lines), after_death=dead
    )
    mark(ad_claims.claim_id, "after_death")
    d.claims = pd.concat([d.claims, dup_claims, ad_claims], ignore_index=True)
    d.lines = pd.concat([d.lines, dup_lines, ad_lines], ignore_index=True)
    _finish(d, int(data.lines.claim_line_id.min()) - 1)
    truth = FraudTruth(
        providers=pd.DataFrame(truth_p, columns=["provider_id", "scheme"]),
        claims=pd.concat(truth_c, ignore_index=True).drop_duplicates(),
    )
    return d, truth


def _copy_claims(
    rng,
    d: ClaimsData,
    src: pd.DataFrame,
    next_claim: int,
    next_line: int,
    *,
    shift_days=(0, 0),
    after_death: pd.Series | None = None,
):
    """Copies of claims `src` (new ids), shifted by 0/1 day or moved after a death."""
    k = len(src)
    new_ids = next_claim + np.arange(k)
    idmap = dict(zip(src.claim_id.to_numpy(), new_ids, strict=True))
    claims = src.copy()
    claims["claim_id"] = new_ids
    if after_death is not None:
        shift = after_death.loc[claims.person_id].to_numpy()
        newdate = (pd.to_datetime(shift) + pd.to_timedelta(rng.integers(3, 60, k), "D")).date
    else:
        lo, hi = shift_days
        newdate = (
            pd.to_datetime(claims.claim_start_date)
            + pd.to_timedelta(rng.integers(lo, hi + 1, k), "D")
        ).dt.date
    claims["claim_start_date"] = np.asarray(newdate)
    dates = dict(zip(new_ids, claims["claim_start_date"], strict=True))
    lines = d.lines[d.lines.claim_id.isin(src.claim_id)].copy()
    lines["claim_id"] = lines.claim_id.map(idmap)
    lines["service_date"] = lines.claim_id.map(dates)
    lines["claim_line_id"] = next_line + np.arange(len(lines))
    return claims, lines
