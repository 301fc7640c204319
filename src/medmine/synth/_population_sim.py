"""The population simulator: persons, conditions, admissions, stays and outpatient care."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from medmine.synth._population_codes import (
    _EPOCH,
    _PREVALENCE,
    _RISK,
    ACUTE,
    CONDITIONS,
    DRUGS,
    FEMALE,
    INPATIENT,
    LABS,
    LOS_COEFFICIENTS,
    MALE,
    OUTPATIENT,
    PLANNED_PROCEDURES,
    READMISSION_COEFFICIENTS,
    STUDY_END,
    STUDY_START,
)
from medmine.synth._population_result import SimulatedPopulation
from medmine.synth._population_tables import arrow_tables


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class _Simulator:
    """Draws the population table by table (vectorised; one method per table family)."""

    def __init__(self, n: int, rng: np.random.Generator, id_base: int) -> None:
        self.n, self.rng, self.base = n, rng, id_base
        self.tables: dict[str, pa.Table] = {}
        self.conds: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.drugs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.labs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    # ---- persons and chronic conditions ----
    def persons(self) -> None:
        n, rng = self.n, self.rng
        self.pid = np.arange(1, n + 1, dtype=np.int64) + self.base
        self.male = rng.random(n) < 0.48
        self.age = np.clip(rng.normal(58, 17, n), 18, 95).astype(np.int64)
        self.obs_start = STUDY_START + rng.integers(0, 730, n)
        birth_year = 1970 + (self.obs_start / 365.25).astype(np.int64) - self.age
        self.planned_end = np.where(
            rng.random(n) < 0.10,
            self.obs_start + 400 + rng.integers(0, 2000, n),
            STUDY_END,
        ).clip(max=STUDY_END)
        race = rng.choice([8527, 8516, 8515, 0], n, p=[0.70, 0.15, 0.06, 0.09])
        eth = np.where(rng.random(n) < 0.12, 38003563, 38003564)
        self.has = {}
        z = (self.age - 60) / 10
        for key, (a, b) in _PREVALENCE.items():
            logit = a + b * z + (0.9 * self.has["diabetes"] if key == "ckd" else 0.0)
            self.has[key] = rng.random(n) < _sigmoid(logit)
        self.tables["person"] = pa.table(
            {
                "person_id": self.pid,
                "gender_concept_id": np.where(self.male, MALE, FEMALE).astype(np.int32),
                "year_of_birth": birth_year.astype(np.int32),
                "month_of_birth": rng.integers(1, 13, n).astype(np.int32),
                "race_concept_id": race.astype(np.int32),
                "ethnicity_concept_id": eth.astype(np.int32),
                "person_source_value": pa.array(np.char.add("SIM", self.pid.astype(str))),
                "gender_source_value": np.where(self.male, "M", "F"),
            }
        )
        for key, (cid, _, _, icd) in CONDITIONS.items():
            who = np.flatnonzero(self.has[key])
            dx = self.obs_start[who] + rng.integers(0, 300, who.size)
            self.conds.append((who, dx, np.full(who.size, cid), np.full(who.size, icd)))
            for drug_id, _, _ in DRUGS[key]:
                self.drugs.append((who, dx, np.full(who.size, drug_id), dx + 365))

    # ---- the admission process ----
    def admissions(self) -> None:
        n, rng = self.n, self.rng
        z = (self.age - 60) / 10
        rate = np.exp(
            -2.6
            + 0.25 * z
            + 0.6 * self.has["heart_failure"]
            + 0.45 * self.has["copd"]
            + 0.2 * self.has["diabetes"]
            + 0.4 * self.has["ckd"]
        )
        first = self.obs_start + 365
        years = np.clip(self.planned_end - first, 0, None) / 365.25
        k = np.minimum(rng.poisson(rate * years), 12)
        m_idx = np.flatnonzero(k > 0)
        kmax = int(k.max(initial=0))
        big = np.iinfo(np.int64).max // 4
        m = m_idx.size
        span = np.clip(self.planned_end[m_idx] - first[m_idx], 1, None)
        spont = first[m_idx, None] + (rng.random((m, max(kmax, 1))) * span[:, None]).astype(
            np.int64
        )
        spont[np.arange(max(kmax, 1))[None, :] >= k[m_idx, None]] = big
        spont.sort(axis=1)
        planned_sp = rng.random(spont.shape) < 0.06
        ptr = np.zeros(m, dtype=np.int64)
        pending = np.full(m, big)
        alive = np.ones(m, dtype=bool)
        end_m = self.planned_end[m_idx]
        hist = np.full((m, 48), -big)
        death = np.full(n, big)
        records: list[dict[str, np.ndarray]] = []
        for it in range(48):
            cand = np.where(
                ptr < spont.shape[1], spont[np.arange(m), np.minimum(ptr, kmax - 1)], big
            )
            is_re = pending <= cand
            t = np.where(is_re, pending, cand)
            act = np.flatnonzero(alive & (t <= end_m))
            if act.size == 0:
                break
            rec = self._stay(
                m_idx[act],
                t[act],
                is_re[act],
                ~is_re[act] & planned_sp[act, np.minimum(ptr[act], kmax - 1)],
                hist[act],
            )
            ptr[act] += ~is_re[act]
            pending[act] = np.where(is_re[act], big, pending[act])
            hist[act, it] = t[act]
            dis = rec["discharge"]
            # Admissions falling inside this stay (or the next day) are absorbed by it.
            ptr[act] = np.maximum(ptr[act], (spont[act] <= (dis + 1)[:, None]).sum(axis=1))
            pending[act] = np.where(pending[act] <= dis + 1, big, pending[act])
            pending[act] = np.where(rec["readmit_drawn"], rec["readmit_day"], pending[act])
            dead = rec["death_day"] < big
            alive[act[dead]] = False
            death[m_idx[act[dead]]] = rec["death_day"][dead]
            pending[act[dead]] = np.where(
                pending[act[dead]] < rec["death_day"][dead], pending[act[dead]], big
            )
            records.append(rec)
        self.death = death
        self.stay_records = records

    def _stay(
        self,
        who: np.ndarray,
        t: np.ndarray,
        is_re: np.ndarray,
        planned: np.ndarray,
        hist: np.ndarray,
    ) -> dict[str, np.ndarray]:
        rng, k = self.rng, who.size
        big = np.iinfo(np.int64).max // 4
        z65 = (self.age[who] - 65) / 10
        h = {key: self.has[key][who].astype(float) for key in _RISK}
        c = LOS_COEFFICIENTS
        mu = (
            c["intercept"]
            + c["age_per_10y"] * z65
            + sum(c[key] * h[key] for key in _RISK)
            + c["planned"] * planned
        )
        los = np.maximum(1, np.rint(np.exp(mu + 0.55 * rng.standard_normal(k)))).astype(np.int64)
        transfer = rng.random(k) < 0.04
        gap = rng.integers(0, 2, k)
        first_len = np.floor(los * rng.uniform(0.3, 0.7, k)).astype(np.int64)
        los = np.where(transfer, np.maximum(los, first_len + gap), los)
        dis = t + los
        hb = (
            13.8
            - 0.9 * ~self.male[who]
            - 1.3 * h["ckd"]
            - 0.6 * h["heart_failure"]
            + 1.2 * rng.standard_normal(k)
        )
        prior = ((hist >= (t - 365)[:, None]) & (hist < t[:, None])).sum(axis=1)
        r = READMISSION_COEFFICIENTS
        logit = (
            r["intercept"]
            + r["age_per_10y"] * z65
            + r["male"] * self.male[who]
            + sum(r[key] * h[key] for key in _RISK)
            + r["prior_admissions_365d"] * np.minimum(prior, 5)
            + r["long_stay"] * (los >= 5)
            + r["low_hemoglobin"] * (hb < 12)
        )
        p = _sigmoid(logit)
        died_in = rng.random(k) < _sigmoid(-4.6 + 0.35 * z65 + 0.5 * h["heart_failure"])
        died_after = ~died_in & (
            rng.random(k) < _sigmoid(-3.9 + 0.4 * z65 + 0.6 * h["heart_failure"])
        )
        death_day = np.where(died_in, dis, np.where(died_after, dis + rng.integers(1, 91, k), big))
        drawn = ~died_in & (rng.random(k) < p)
        gap_re = 1 + np.floor(29 * rng.beta(1.0, 2.2, k)).astype(np.int64)
        gap_re = np.where(~transfer & (rng.random(k) < 0.03), 0, gap_re)
        gap_re = np.where(transfer, np.maximum(gap_re, 2), gap_re)
        readmit_day = dis + gap_re
        drawn &= readmit_day < death_day
        return {
            "who": who,
            "admission": t,
            "discharge": dis,
            "los": los,
            "transfer": transfer,
            "transfer_gap": gap,
            "first_len": first_len,
            "planned": planned,
            "is_readmission": is_re,
            "prior": prior,
            "hemoglobin": hb,
            "p_readmit": np.where(died_in, np.nan, p),
            "readmit_drawn": drawn,
            "readmit_day": readmit_day,
            "died_in_hospital": died_in,
            "death_day": death_day,
        }

    def run(self, seed: int) -> SimulatedPopulation:
        self.persons()
        self.admissions()
        stays = self.build_stays()
        self.outpatient()
        arrow_tables(self)
        return SimulatedPopulation(self.n, seed, self.tables, stays)

    # ---- stays -> visits, diagnoses, labs, procedures; the truth table ----
    def build_stays(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        recs = self.stay_records
        if recs:
            cat = {k: np.concatenate([r[k] for r in recs]) for k in recs[0]}
        else:
            cat = {k: np.zeros(0, dtype=np.int64) for k in ("who", "admission", "discharge")}
            for k in ("los", "transfer_gap", "first_len", "prior", "readmit_day", "death_day"):
                cat[k] = np.zeros(0, dtype=np.int64)
            for k in ("transfer", "planned", "is_readmission", "readmit_drawn", "died_in_hospital"):
                cat[k] = np.zeros(0, dtype=bool)
            cat["hemoglobin"] = cat["p_readmit"] = np.zeros(0)
        order = np.lexsort((cat["admission"], cat["who"]))
        st = {k: v[order] for k, v in cat.items()}
        who, adm, dis = st["who"], st["admission"], st["discharge"]
        k = who.size
        self.n_sites = int(np.clip(n // 2000, 2, 500))
        self.home = rng.integers(1, self.n_sites + 1, n)
        # Visits: one per stay, a second one for transfers (another hospital).
        tr = st["transfer"]
        vid1 = np.arange(1, k + 1, dtype=np.int64)
        vid2 = k + np.cumsum(tr).astype(np.int64)
        v_end1 = np.where(tr, adm + st["first_len"], dis)
        v2 = np.flatnonzero(tr)
        self.visits = [
            (who, adm, v_end1, self.home[who], vid1, INPATIENT),
            (
                who[v2],
                adm[v2] + st["first_len"][v2] + st["transfer_gap"][v2],
                dis[v2],
                self.home[who[v2]] % self.n_sites + 1,
                vid2[v2],
                INPATIENT,
            ),
        ]
        self.next_visit = k + int(tr.sum()) + 1
        # Diagnoses at admission: every chronic condition, plus an acute reason if unplanned.
        for key, (cid, _, _, icd) in CONDITIONS.items():
            s = np.flatnonzero(self.has[key][who])
            self.conds.append((who[s], adm[s], np.full(s.size, cid), np.full(s.size, icd), vid1[s]))
        unpl = np.flatnonzero(~st["planned"])
        pick = rng.integers(0, 4, unpl.size)
        self.conds.append(
            (
                who[unpl],
                adm[unpl],
                np.array([a[0] for a in ACUTE[:4]])[pick],
                np.array([a[3] for a in ACUTE[:4]])[pick],
                vid1[unpl],
            )
        )
        lab_day = np.maximum(adm, dis - 1)
        na = 139 - 1.5 * self.has["heart_failure"][who] + 3 * rng.standard_normal(k)
        self.labs.append((who, lab_day, np.full(k, LABS["hemoglobin"][0]), st["hemoglobin"]))
        self.labs.append((who, lab_day, np.full(k, LABS["sodium"][0]), na))
        pl = np.flatnonzero(st["planned"])
        proc = np.array([p[0] for p in PLANNED_PROCEDURES])[rng.integers(0, 2, pl.size)]
        self.procedures = (who[pl], adm[pl], proc, vid1[pl])
        # Deaths: hospital process, else a background death for 2 % of persons without stays.
        death = self.death.copy()
        no_stay = np.ones(n, dtype=bool)
        no_stay[who] = False
        bg = np.flatnonzero(no_stay & (self.rng.random(n) < 0.02))
        lo = self.obs_start[bg] + 300
        death[bg] = lo + (rng.random(bg.size) * np.clip(self.planned_end[bg] - lo, 1, None)).astype(
            np.int64
        )
        big = np.iinfo(np.int64).max // 4
        last_dis = np.full(n, -big)
        np.maximum.at(last_dis, who, dis)
        self.obs_end = np.where(death < big, death, np.maximum(self.planned_end, last_dis))
        self.death_final = death
        # Truth: next unplanned admission after each stay (stays are sorted per person).
        key = who * (1 << 24) + adm
        unpl_keys = key[~st["planned"]]
        j = np.searchsorted(unpl_keys, key, side="right")
        has_next = j < unpl_keys.size
        nxt = np.where(has_next, unpl_keys[np.minimum(j, unpl_keys.size - 1)], -1)
        same = has_next & (nxt >> 24 == who)
        gap_next = np.where(same, (nxt & ((1 << 24) - 1)) - dis, 10**6)
        gap_any = np.full(k, 10**6)
        nxt_any = np.r_[who[1:] == who[:-1], False] if k else np.zeros(0, dtype=bool)
        gap_any[:-1][nxt_any[:-1]] = (adm[1:] - dis[:-1])[nxt_any[:-1]] if k else []
        ep = _EPOCH
        return pd.DataFrame(
            {
                "person_id": self.pid[who],
                "stay_id": vid1 + self.base,
                "admission_date": ep + adm.astype("timedelta64[D]"),
                "discharge_date": ep + dis.astype("timedelta64[D]"),
                "los": st["los"],
                "transferred": tr,
                "planned": st["planned"],
                "age": self.age[who] + ((adm - self.obs_start[who]) / 365.25).astype(np.int64),
                "male": self.male[who],
                **{key: self.has[key][who] for key in _RISK},
                "prior_admissions_365d": st["prior"],
                "long_stay": st["los"] >= 5,
                "hemoglobin": st["hemoglobin"],
                "low_hemoglobin": st["hemoglobin"] < 12,
                "died_in_hospital": st["died_in_hospital"],
                "p_readmit": st["p_readmit"],
                "readmit_drawn": st["readmit_drawn"],
                "readmitted_30d": ~st["died_in_hospital"] & (gap_next >= 0) & (gap_next <= 30),
                "any_readmission_30d": ~st["died_in_hospital"] & (gap_any >= 0) & (gap_any <= 30),
            }
        )

    # ---- outpatient care ----
    def outpatient(self) -> None:
        rng = self.rng
        years = np.clip(self.obs_end - self.obs_start, 0, None) / 365.25
        cnt = np.minimum(rng.poisson(1.0 * years), 30)
        who = np.repeat(np.arange(self.n), cnt)
        span = np.clip(self.obs_end - self.obs_start, 1, None)[who]
        day = self.obs_start[who] + (rng.random(who.size) * span).astype(np.int64)
        vid = self.next_visit + np.arange(who.size, dtype=np.int64)
        self.visits.append((who, day, day, self.home[who], vid, OUTPATIENT))
        acute = np.flatnonzero(rng.random(who.size) < 0.35)
        pick = rng.integers(4, len(ACUTE), acute.size)
        self.conds.append(
            (
                who[acute],
                day[acute],
                np.array([a[0] for a in ACUTE])[pick],
                np.array([a[3] for a in ACUTE])[pick],
                vid[acute],
            )
        )
        d = np.array([x[0] for x in DRUGS["acute"]])[rng.integers(0, 2, acute.size)]
        self.drugs.append((who[acute], day[acute], d, day[acute] + 7))
        cr = np.flatnonzero(rng.random(who.size) < 0.4)
        ckd = self.has["ckd"][who[cr]]
        val = np.exp(np.log(0.9 + 1.0 * ckd) + 0.2 * rng.standard_normal(cr.size))
        self.labs.append((who[cr], day[cr], np.full(cr.size, LABS["creatinine"][0]), val))
        gl = np.flatnonzero(rng.random(who.size) < 0.3)
        dm = self.has["diabetes"][who[gl]]
        val = np.where(
            dm, 155 + 35 * rng.standard_normal(gl.size), 95 + 12 * rng.standard_normal(gl.size)
        )
        self.labs.append((who[gl], day[gl], np.full(gl.size, LABS["glucose"][0]), val))
