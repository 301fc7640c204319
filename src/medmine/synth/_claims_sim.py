"""Base simulator of professional claims (no fraud) and its loader into a warehouse."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from medmine.synth._claims_codes import _OFFICE, _PRIMARY, FEES, SPECIALTIES, SPECIALTY_SHARES


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
