"""Simulated professional claims with fraud schemes injected at known rates (vectorised numpy).

`simulate` draws providers in specialties, patients, office visits with E&M levels
(CPT 99211–99215), ICD-10-CM diagnoses and the CPT procedures those diagnoses call for,
laboratory claims referred from office visits, and deaths. `inject` then adds each scheme to
a known share of providers (or claims) and returns the ground truth:

===================  =======  ==============================================================
scheme               level    what changes
===================  =======  ==============================================================
phantom              both     extra claims for patients the provider never saw: high E&M,
                              procedures drawn without regard to the diagnosis
upcoding             both     E&M levels shifted up by one or two
unbundling           both     a component code (NCCI column 2) billed next to its
                              comprehensive code on the same day
duplicate            both     claims re-billed, same day (exact) or the next day (near)
excessive_units      both     units above the medically unlikely limit
after_death          claim    claims dated after the patient's death
kickback             provider most patients referred to one partner laboratory
===================  =======  ==============================================================

Honest mistakes happen too: a small background rate of duplicates and unbundling is added to
all providers and labelled with the scheme (they are real improper payments).

>>> claims = simulate(SimConfig(n_providers=30, n_patients=300, seed=1))
>>> injected, truth = inject(claims, FraudConfig(seed=1))
>>> set(truth.claims["scheme"]) <= set(SCHEMES)
True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

SCHEMES = (
    "phantom",
    "upcoding",
    "unbundling",
    "duplicate",
    "excessive_units",
    "after_death",
    "kickback",
)

#: CPT fee schedule (dollars billed per unit) and display names.
FEES: dict[str, tuple[float, str]] = {
    "99211": (25, "Office visit est. level 1"),
    "99212": (55, "Office visit est. level 2"),
    "99213": (90, "Office visit est. level 3"),
    "99214": (130, "Office visit est. level 4"),
    "99215": (180, "Office visit est. level 5"),
    "93000": (20, "Electrocardiogram complete"),
    "93306": (210, "Echocardiography TTE complete"),
    "93015": (75, "Cardiovascular stress test"),
    "80053": (15, "Comprehensive metabolic panel"),
    "80048": (12, "Basic metabolic panel"),
    "80061": (18, "Lipid panel"),
    "83036": (13, "Hemoglobin A1c"),
    "85025": (10, "CBC with differential"),
    "85027": (8, "CBC without differential"),
    "36415": (3, "Venipuncture"),
    "87880": (17, "Strep test rapid"),
    "87086": (11, "Urine culture"),
    "82465": (6, "Cholesterol total"),
    "93010": (9, "ECG interpretation only"),
    "93307": (150, "TTE without Doppler"),
    "20610": (65, "Arthrocentesis major joint"),
    "73562": (40, "X-ray knee 3 views"),
    "73560": (32, "X-ray knee 1-2 views"),
    "73610": (38, "X-ray ankle complete"),
    "73600": (30, "X-ray ankle 2 views"),
    "73030": (35, "X-ray shoulder complete"),
    "73020": (28, "X-ray shoulder 1 view"),
    "17000": (70, "Destruction premalignant lesion first"),
    "17003": (8, "Destruction premalignant lesions each additional"),
    "11102": (110, "Tangential biopsy skin single lesion"),
    "17110": (120, "Destruction benign lesions up to 14"),
    "97110": (30, "Therapeutic exercise 15 min"),
}

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
class Specialty:
    """A specialty: E&M level mix, diagnoses with probabilities, procedures per diagnosis."""

    em: tuple[float, ...]  # probabilities of 99211..99215 (empty: no E&M, e.g. laboratory)
    dx: dict[str, float]
    procs: dict[str, dict[str, float]]  # dx -> {cpt: probability}
    units: dict[str, tuple[int, int]] = field(default_factory=dict)  # cpt -> units range


SPECIALTIES: dict[str, Specialty] = {
    "family_practice": Specialty(
        (0.03, 0.17, 0.50, 0.27, 0.03),
        {"I10": 0.25, "E11.9": 0.15, "J06.9": 0.25, "Z00.00": 0.2, "M54.50": 0.15},
        {
            "I10": {"93000": 0.3, "80061": 0.3},
            "E11.9": {"83036": 0.7, "80053": 0.3},
            "J06.9": {"87880": 0.4},
            "Z00.00": {"36415": 0.5, "85025": 0.4, "80053": 0.3},
            "M54.50": {"97110": 0.3},
        },
        {"97110": (1, 3)},
    ),
    "internal_medicine": Specialty(
        (0.02, 0.10, 0.45, 0.36, 0.07),
        {"I10": 0.3, "E11.9": 0.2, "E78.5": 0.2, "N18.30": 0.15, "Z00.00": 0.15},
        {
            "I10": {"93000": 0.35, "80053": 0.2},
            "E11.9": {"83036": 0.75, "80053": 0.35},
            "E78.5": {"80061": 0.7},
            "N18.30": {"80053": 0.7, "85025": 0.4},
            "Z00.00": {"36415": 0.5, "85025": 0.5},
        },
    ),
    "cardiology": Specialty(
        (0.01, 0.05, 0.35, 0.45, 0.14),
        {"I48.91": 0.3, "I25.10": 0.3, "R07.9": 0.25, "I50.9": 0.15},
        {
            "I48.91": {"93000": 0.8, "93306": 0.25},
            "I25.10": {"93015": 0.35, "93000": 0.5},
            "R07.9": {"93000": 0.75, "93015": 0.2},
            "I50.9": {"93306": 0.6},
        },
        {"93000": (1, 2)},
    ),
    "orthopedics": Specialty(
        (0.02, 0.15, 0.50, 0.28, 0.05),
        {"M17.11": 0.35, "S93.401A": 0.3, "M75.100": 0.35},
        {
            "M17.11": {"20610": 0.45, "73562": 0.5},
            "S93.401A": {"73610": 0.65},
            "M75.100": {"20610": 0.3, "73030": 0.55},
        },
    ),
    "dermatology": Specialty(
        (0.05, 0.30, 0.45, 0.17, 0.03),
        {"L57.0": 0.45, "D48.5": 0.25, "L82.1": 0.3},
        {"L57.0": {"17000": 0.85, "17003": 0.55}, "D48.5": {"11102": 0.7}, "L82.1": {"17110": 0.6}},
        {"17003": (1, 6)},
    ),
    "clinical_laboratory": Specialty(
        (),
        {},
        {
            "I10": {"80053": 0.6, "80061": 0.4},
            "E11.9": {"83036": 0.9, "80053": 0.4},
            "E78.5": {"80061": 0.9},
            "N18.30": {"80053": 0.9, "85025": 0.5},
            "Z00.00": {"85025": 0.7, "80053": 0.5},
            "*": {"85025": 0.4, "87086": 0.15},
        },
    ),
}

SPECIALTY_SHARES = {
    "family_practice": 0.32,
    "internal_medicine": 0.2,
    "cardiology": 0.12,
    "orthopedics": 0.1,
    "dermatology": 0.1,
    "clinical_laboratory": 0.16,
}
_OFFICE = [s for s in SPECIALTY_SHARES if s != "clinical_laboratory"]
_PRIMARY = ("family_practice", "internal_medicine")


@dataclass(frozen=True)
class SimConfig:
    """Size and shape of the simulated claims."""

    n_providers: int = 200
    n_patients: int = 5000
    visits_per_patient: float = 5.0
    specialist_share: float = 0.35
    lab_referral_rate: float = 0.35
    labs_per_provider: int = 3
    death_rate: float = 0.04
    start: dt.date = dt.date(2024, 1, 1)
    days: int = 365
    id_offset: int = 0
    seed: int = 0


@dataclass
class ClaimsData:
    """Simulated warehouse rows: persons, deaths, providers, claim headers and lines."""

    persons: pd.DataFrame
    deaths: pd.DataFrame
    providers: pd.DataFrame
    claims: pd.DataFrame
    lines: pd.DataFrame

    def copy(self) -> ClaimsData:
        """Deep copy."""
        return ClaimsData(*(getattr(self, f).copy() for f in self.__dataclass_fields__))


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


def _lines_frame(claim_id, person, date, code, units, fee_factor, provider) -> pd.DataFrame:
    fee = np.array([FEES[c][0] for c in code], dtype=float) if len(code) else np.zeros(0)
    billed = np.round(fee * fee_factor * units, 2)
    return pd.DataFrame(
        {
            "claim_id": claim_id,
            "person_id": person,
            "service_date": date,
            "procedure_code": code,
            "units": units.astype(float),
            "billed_amount": billed,
            "rendering_provider_id": provider,
        }
    )


def simulate(config: SimConfig | None = None) -> ClaimsData:
    """Draw clean simulated professional claims."""
    cfg = config or SimConfig()
    rng = np.random.default_rng(cfg.seed)
    off = cfg.id_offset
    # ---- providers ----
    names = list(SPECIALTY_SHARES)
    spec = rng.choice(names, size=cfg.n_providers, p=list(SPECIALTY_SHARES.values()))
    for i, s in enumerate(names):  # every specialty present
        spec[i] = s
    prov_id = off + 1 + np.arange(cfg.n_providers)
    markup = np.exp(rng.normal(0, 0.12, cfg.n_providers))
    providers = pd.DataFrame(
        {"provider_id": prov_id, "specialty": spec, "fee_factor": markup}
    ).set_index("provider_id", drop=False)
    labs = prov_id[spec == "clinical_laboratory"]
    by_spec = {s: prov_id[spec == s] for s in names}
    # each office provider sends lab work to a few nearby laboratories
    near_labs = {
        int(p): rng.choice(labs, size=min(cfg.labs_per_provider, len(labs)), replace=False)
        for p in prov_id[spec != "clinical_laboratory"]
    }
    # ---- patients ----
    n = cfg.n_patients
    pid = off + 1 + np.arange(n)
    sex = rng.choice(np.array([8507, 8532]), size=n)
    age = np.clip(rng.normal(52, 20, n), 0, 95).astype(int)
    birth = pd.to_datetime(cfg.start) - pd.to_timedelta(
        age * 365 + rng.integers(0, 365, n), unit="D"
    )
    primaries = np.concatenate([by_spec[s] for s in _PRIMARY])
    pcp = rng.choice(primaries, size=n)
    persons = pd.DataFrame({"person_id": pid, "gender_concept_id": sex, "birth_date": birth.date})
    dies = rng.random(n) < cfg.death_rate
    death_day = rng.integers(30, cfg.days, n)
    deaths = pd.DataFrame(
        {
            "person_id": pid[dies],
            "death_date": (pd.to_datetime(cfg.start) + pd.to_timedelta(death_day[dies], "D")).date,
        }
    )
    # ---- office visits ----
    n_vis = rng.poisson(cfg.visits_per_patient, n)
    v_person = np.repeat(np.arange(n), n_vis)
    horizon = np.where(dies, death_day, cfg.days)[v_person]
    v_day = (rng.random(len(v_person)) * horizon).astype(int)
    specialist = rng.random(len(v_person)) < cfg.specialist_share
    v_prov = pcp[v_person].copy()
    spec_pool = np.concatenate([by_spec[s] for s in _OFFICE if s not in _PRIMARY])
    v_prov[specialist] = rng.choice(spec_pool, size=int(specialist.sum()))
    v_spec = providers.loc[v_prov, "specialty"].to_numpy()
    nv = len(v_person)
    dx1 = np.empty(nv, dtype=object)
    em = np.full(nv, "", dtype=object)
    line_parts = []
    for s in _OFFICE:
        idx = np.flatnonzero(v_spec == s)
        sp_ = SPECIALTIES[s]
        dx1[idx] = rng.choice(list(sp_.dx), size=len(idx), p=list(sp_.dx.values()))
        em[idx] = rng.choice(["99211", "99212", "99213", "99214", "99215"], size=len(idx), p=sp_.em)
        for d, procs in sp_.procs.items():
            has = idx[dx1[idx] == d]
            for code, p in procs.items():
                sel = has[rng.random(len(has)) < p]
                lo, hi = sp_.units.get(code, (1, 1))
                line_parts.append(
                    (sel, np.full(len(sel), code, dtype=object), rng.integers(lo, hi + 1, len(sel)))
                )
    # secondary diagnosis: a chronic condition for a third of visits
    dx2 = np.where(
        rng.random(nv) < 0.33, rng.choice(["I10", "E78.5", "E11.9", "Z79.899"], nv), None
    )
    claim_id = off + 1 + np.arange(nv)
    v_date = (pd.to_datetime(cfg.start) + pd.to_timedelta(v_day, "D")).date
    claims = pd.DataFrame(
        {
            "claim_id": claim_id,
            "person_id": pid[v_person],
            "provider_id": v_prov,
            "claim_start_date": v_date,
            "place_of_service": "11",
            "dx_1": dx1,
            "dx_2": dx2,
        }
    )
    fee_v = providers.loc[v_prov, "fee_factor"].to_numpy()
    em_lines = _lines_frame(claim_id, pid[v_person], v_date, em, np.ones(nv, int), fee_v, v_prov)
    proc_lines = [
        _lines_frame(claim_id[i], pid[v_person][i], v_date[i], c, u, fee_v[i], v_prov[i])
        for i, c, u in line_parts
        if len(i)
    ]
    # ---- laboratory claims referred from office visits ----
    # (no referral can land after a death: lab work follows within 14 days)
    refer = np.flatnonzero((rng.random(nv) < cfg.lab_referral_rate) & (v_day + 15 <= horizon))
    lab_choice = np.array(
        [near_labs[int(p)][rng.integers(len(near_labs[int(p)]))] for p in v_prov[refer]]
    )
    lab_claims, lab_lines = _lab_claims(
        rng, claims.iloc[refer], lab_choice, providers, start_id=off + nv + 1
    )
    claims = pd.concat([claims, lab_claims], ignore_index=True)
    lines = pd.concat([em_lines, *proc_lines, lab_lines], ignore_index=True)
    out = ClaimsData(persons, deaths, providers.reset_index(drop=True), claims, lines)
    _finish(out, off)
    return out


def _lab_claims(rng, visits: pd.DataFrame, lab: np.ndarray, providers, start_id: int):
    """Laboratory claims 1–14 days after the referring visits, for the visit's diagnosis."""
    k = len(visits)
    cid = start_id + np.arange(k)
    date = (
        pd.to_datetime(visits["claim_start_date"]) + pd.to_timedelta(rng.integers(1, 15, k), "D")
    ).dt.date.to_numpy()
    claims = pd.DataFrame(
        {
            "claim_id": cid,
            "person_id": visits["person_id"].to_numpy(),
            "provider_id": lab,
            "claim_start_date": date,
            "place_of_service": "81",
            "dx_1": visits["dx_1"].to_numpy(),
            "dx_2": visits["dx_2"].to_numpy(),
        }
    )
    spec = SPECIALTIES["clinical_laboratory"]
    fee = providers.loc[lab, "fee_factor"].to_numpy()
    parts = [
        _lines_frame(
            cid,
            claims.person_id,
            date,
            np.full(k, "36415", dtype=object),
            np.ones(k, int),
            fee,
            lab,
        )
    ]
    dx = claims["dx_1"].to_numpy()
    for d, procs in spec.procs.items():
        rows = np.flatnonzero((dx == d) if d != "*" else np.ones(k, bool))
        for code, p in procs.items():
            sel = rows[rng.random(len(rows)) < p]
            parts.append(
                _lines_frame(
                    cid[sel],
                    claims.person_id.to_numpy()[sel],
                    date[sel],
                    np.full(len(sel), code, dtype=object),
                    np.ones(len(sel), int),
                    fee[sel],
                    lab[sel],
                )
            )
    lines = pd.concat(parts, ignore_index=True)
    lines = lines.drop_duplicates(["claim_id", "procedure_code"])
    return claims, lines


def _finish(data: ClaimsData, off: int) -> None:
    """Number lines, fill amounts/totals and derived columns in place."""
    lines = data.lines.sort_values(["claim_id", "procedure_code"], kind="stable")
    lines = lines.reset_index(drop=True)
    lines["claim_line_id"] = off + 1 + np.arange(len(lines))
    lines["line_number"] = lines.groupby("claim_id").cumcount() + 1
    data.lines = lines
    totals = lines.groupby("claim_id")["billed_amount"].sum()
    data.claims["total_billed"] = data.claims["claim_id"].map(totals).fillna(0.0)
    spec = data.providers.set_index("provider_id")["specialty"]
    data.claims["provider_specialty"] = data.claims["provider_id"].map(spec)


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


def to_warehouse(data: ClaimsData, wh: Any) -> dict[str, int]:
    """Insert the simulated rows into a warehouse (person, death, provider, mm_claim/_line)."""
    con = wh.con
    p = data.persons
    birth = pd.to_datetime(p.birth_date)
    person = pd.DataFrame(
        {
            "person_id": p.person_id,
            "gender_concept_id": p.gender_concept_id,
            "year_of_birth": birth.dt.year,
            "month_of_birth": birth.dt.month,
            "day_of_birth": birth.dt.day,
            "race_concept_id": 0,
            "ethnicity_concept_id": 0,
            "person_source_value": "sim-fraud",
        }
    )
    death = data.deaths.assign(death_type_concept_id=0)
    provider = pd.DataFrame(
        {
            "provider_id": data.providers.provider_id,
            "specialty_source_value": data.providers.specialty,
            "provider_source_value": "sim-" + data.providers.provider_id.astype(str),
        }
    )
    c = data.claims
    claim = pd.DataFrame(
        {
            "claim_id": c.claim_id,
            "person_id": c.person_id,
            "claim_type": "professional",
            "billing_provider_id": c.provider_id,
            "rendering_provider_id": c.provider_id,
            "provider_specialty": c.provider_specialty,
            "place_of_service": c.place_of_service,
            "claim_start_date": pd.to_datetime(c.claim_start_date),
            "claim_end_date": pd.to_datetime(c.claim_start_date),
            "dx_vocabulary_id": "ICD10CM",
            "dx_1": c.dx_1,
            "dx_2": c.dx_2,
            "total_billed": c.total_billed,
        }
    )
    ln = data.lines
    line = pd.DataFrame(
        {
            "claim_line_id": ln.claim_line_id,
            "claim_id": ln.claim_id,
            "line_number": ln.line_number,
            "person_id": ln.person_id,
            "service_date": pd.to_datetime(ln.service_date),
            "procedure_vocabulary_id": "CPT4",
            "procedure_code": ln.procedure_code,
            "procedure_display": ln.procedure_code.map(lambda x: FEES[x][1]),
            "units": ln.units,
            "billed_amount": ln.billed_amount,
            "rendering_provider_id": ln.rendering_provider_id,
        }
    )
    tables = {
        "person": person,
        "death": death,
        "provider": provider,
        "mm_claim": claim,
        "mm_claim_line": line,
    }
    counts = {}
    with wh.transaction():
        for table, df in tables.items():
            cols = ", ".join(f'"{x}"' for x in df.columns)
            con.register("_sim_rows", df)
            con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _sim_rows')
            con.unregister("_sim_rows")
            counts[table] = len(df)
    return counts


def simulate_injected(
    sim: SimConfig | None = None, fraud: FraudConfig | None = None
) -> tuple[ClaimsData, FraudTruth]:
    """`simulate` then `inject` (the fraud seed follows the simulation seed by default)."""
    sim = sim or SimConfig()
    fraud = fraud or replace(FraudConfig(), seed=sim.seed)
    return inject(simulate(sim), fraud)


#: SNOMED pairs and limits used when injecting into the Synthea FHIR sample's claims.
SNOMED_UNBUNDLE = {"185349003": "162673000", "424441002": "424619006", "185347001": "185345009"}
SNOMED_MUE = {"162673000": 1, "185349003": 1, "424619006": 1}


@dataclass(frozen=True)
class LoadedFraudConfig:
    """Claim-level injection rates for claims already in a warehouse (e.g. FHIR Claim/EOB)."""

    duplicate: float = 0.02
    after_death: float = 0.5  # share of deceased persons given claims after death
    unbundling: float = 0.05  # share of lines with a column-1 code given its component
    excessive_units: float = 0.05  # share of lines with a limited code given excess units
    seed: int = 0


def inject_warehouse(wh: Any, config: LoadedFraudConfig | None = None) -> FraudTruth:
    """Inject claim-level schemes into the claims of `wh` in place (use a scratch copy).

    Works on any loaded claims (the FHIR sample's SNOMED-coded Claim/EOB rows, say):
    duplicates (same or next day, new claim ids), claims re-dated after a recorded death,
    unbundled SNOMED component lines, and units above the SNOMED limits.
    """
    cfg = config or LoadedFraudConfig()
    rng = np.random.default_rng(cfg.seed)
    con = wh.con
    claims = con.execute("SELECT * FROM mm_claim").df()
    lines = con.execute("SELECT * FROM mm_claim_line").df()
    deaths = con.execute("SELECT person_id, min(death_date) AS d FROM death GROUP BY 1").df()
    next_claim = int(claims.claim_id.max()) + 1
    next_line = int(lines.claim_line_id.max()) + 1
    new_c, new_l, truth = [], [], []

    def copy(src: pd.DataFrame, new_dates: np.ndarray, scheme: str) -> None:
        nonlocal next_claim, next_line
        ids = next_claim + np.arange(len(src))
        next_claim += len(src)
        idmap = dict(zip(src.claim_id, ids, strict=True))
        dmap = dict(zip(ids, pd.to_datetime(new_dates), strict=True))
        c = src.copy()
        c["claim_id"] = ids
        c["claim_start_date"] = c["claim_id"].map(dmap)
        c["claim_source_value"] = "injected:" + scheme
        ln = lines[lines.claim_id.isin(src.claim_id)].copy()
        ln["claim_id"] = ln.claim_id.map(idmap)
        ln["service_date"] = ln.claim_id.map(dmap)
        ln["claim_line_id"] = next_line + np.arange(len(ln))
        next_line += len(ln)
        new_c.append(c)
        new_l.append(ln)
        truth.append(pd.DataFrame({"claim_id": ids, "scheme": scheme}))

    dup = claims[rng.random(len(claims)) < cfg.duplicate]
    shift = pd.to_timedelta(rng.integers(0, 2, len(dup)), "D")
    copy(dup, (pd.to_datetime(dup.claim_start_date) + shift).to_numpy(), "duplicate")
    dead = deaths[rng.random(len(deaths)) < cfg.after_death]
    src = claims[claims.person_id.isin(dead.person_id)].groupby("person_id").head(2)
    dd = pd.to_datetime(src[["person_id"]].merge(dead, on="person_id", how="left")["d"])
    later = dd + pd.to_timedelta(rng.integers(3, 90, len(src)), "D")
    copy(src, later.to_numpy(), "after_death")
    # unbundling: a component line next to its comprehensive code, same claim and day
    base = lines[lines.procedure_code.isin(list(SNOMED_UNBUNDLE))]
    base = base[rng.random(len(base)) < cfg.unbundling]
    comp = base.copy()
    comp["procedure_code"] = base.procedure_code.map(SNOMED_UNBUNDLE)
    comp["procedure_display"] = None
    comp["line_number"] = base.line_number + 100
    comp["claim_line_id"] = next_line + np.arange(len(comp))
    next_line += len(comp)
    new_l.append(comp)
    truth.append(pd.DataFrame({"claim_id": comp.claim_id.to_numpy(), "scheme": "unbundling"}))
    # excessive units
    lim = lines[lines.procedure_code.isin(list(SNOMED_MUE))]
    hit = lim[rng.random(len(lim)) < cfg.excessive_units]
    limit = hit.procedure_code.map(SNOMED_MUE).to_numpy()
    units = (limit + rng.integers(1, 4, len(hit))).astype(float)
    with wh.transaction():
        for lid, u in zip(hit.claim_line_id.tolist(), units.tolist(), strict=True):
            con.execute("UPDATE mm_claim_line SET units = ? WHERE claim_line_id = ?", [u, lid])
        for table, frames in (("mm_claim", new_c), ("mm_claim_line", new_l)):
            df = pd.concat(frames, ignore_index=True) if frames else None
            if df is None or df.empty:
                continue
            con.register("_inj_rows", df)
            cols = ", ".join(f'"{c}"' for c in df.columns)
            con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _inj_rows')
            con.unregister("_inj_rows")
    truth.append(pd.DataFrame({"claim_id": hit.claim_id.to_numpy(), "scheme": "excessive_units"}))
    return FraudTruth(
        providers=pd.DataFrame(columns=["provider_id", "scheme"]),
        claims=pd.concat(truth, ignore_index=True).drop_duplicates(),
    )
