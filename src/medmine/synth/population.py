"""Simulated OMOP populations with hospital stays whose readmissions follow a known model.

Everything is drawn with numpy, vectorised over persons (the admission process loops over the
k-th admission of every person at once, not over persons), so 10^6 persons take minutes.

**Timeline.** Persons aged 18-95 enter observation between 2014 and 2016 and are followed to
2021-12-31 (10 % leave earlier). Chronic conditions (heart failure, COPD, type 2 diabetes,
chronic kidney disease, plus atrial fibrillation, myocardial infarction, coronary disease) are
diagnosed in the first 300 days of observation, with their drugs; admissions start after one
year, so every stay has a year of history. Outpatient visits carry acute conditions and
creatinine/glucose results.

**Admissions.** Unplanned ("spontaneous") admissions arrive as a Poisson process whose rate
rises with age and comorbidity; 6 % of them are planned (elective PCI or CABG, recorded as a
procedure during the stay). 4 % of stays include a transfer to another hospital on the day of
or the day after discharge (two visits, one stay). Hemoglobin and sodium are measured the day
before discharge.

**Length of stay** (days, discharge minus admission, at least 1) is log-normal:
``log LOS ~ N(mu, 0.55)`` with ``mu`` from `LOS_COEFFICIENTS` (per 10 years of age above 65 and
per comorbidity), giving a median of about 3-4 days as in US hospital statistics.

**30-day readmission.** After each discharge alive, a readmission within 1-30 days (3 % of
them the same day, at the same hospital) is drawn with probability
``sigmoid(x · READMISSION_COEFFICIENTS)``. The coefficients are log odds ratios chosen within the
ranges published for the LACE index (van Walraven et al., CMAJ 2010;182:551) and the HOSPITAL
score (Donzé et al., JAMA Intern Med 2013;173:632; reviewed by Kansagara et al., JAMA
2011;306:1688): heart failure OR 1.55, CKD 1.5, COPD 1.4, diabetes 1.2, each admission in the
previous year 1.25 (up to 5), stay of 5 days or more 1.3, hemoglobin below 12 g/dL at
discharge 1.3, male sex 1.1, age 1.08 per 10 years. The overall 30-day rate is about 15 %
(unplanned admissions that happen to fall within 30 days add to the modelled ones).
In-hospital death (about 2 %) and death within 90 days of discharge also depend on age and
heart failure; a death before a drawn readmission cancels it.

>>> pop = simulate(200, seed=1)
>>> pop.person.num_rows
200
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from medmine.warehouse.schema import table as table_spec

_EPOCH = np.datetime64("1970-01-01", "D")


def _day(iso: str) -> int:
    return int((np.datetime64(iso, "D") - _EPOCH).astype(int))


STUDY_START, STUDY_END = _day("2014-01-01"), _day("2021-12-31")
EHR = 32817  # OMOP type concept "EHR"
MALE, FEMALE = 8507, 8532
INPATIENT, OUTPATIENT = 9201, 9202

#: Risk-factor conditions: key -> (concept_id, name, SNOMED code, ICD-10-CM source code).
CONDITIONS: dict[str, tuple[int, str, str, str]] = {
    "heart_failure": (316139, "Heart failure", "84114007", "I50.9"),
    "copd": (255573, "Chronic obstructive lung disease", "13645005", "J44.9"),
    "diabetes": (201826, "Type 2 diabetes mellitus", "44054006", "E11.9"),
    "ckd": (46271022, "Chronic kidney disease", "709044004", "N18.9"),
    "atrial_fibrillation": (313217, "Atrial fibrillation", "49436004", "I48.91"),
    "myocardial_infarction": (4329847, "Myocardial infarction", "22298006", "I21.9"),
    "coronary_disease": (317576, "Coronary arteriosclerosis", "53741008", "I25.10"),
}
#: Prevalence model: logit = a + b * (age - 60) / 10 (+ diabetes term for CKD).
_PREVALENCE = {
    "heart_failure": (-3.6, 0.55),
    "copd": (-3.0, 0.35),
    "diabetes": (-2.0, 0.25),
    "ckd": (-3.2, 0.50),
    "atrial_fibrillation": (-3.4, 0.60),
    "myocardial_infarction": (-4.0, 0.45),
    "coronary_disease": (-3.0, 0.50),
}
#: Acute conditions (admission diagnoses and outpatient problems).
ACUTE: tuple[tuple[int, str, str, str], ...] = (
    (255848, "Pneumonia", "233604007", "J18.9"),
    (4116491, "Escherichia coli urinary tract infection", "301011002", "N39.0"),
    (4230399, "Closed fracture of hip", "359817006", "S72.009A"),
    (198199, "Pyelonephritis", "45816000", "N10"),
    (28060, "Streptococcal sore throat", "43878008", "J02.0"),
    (260139, "Acute bronchitis", "10509002", "J20.9"),
    (257012, "Chronic sinusitis", "40055000", "J32.9"),
    (80180, "Osteoarthritis", "396275006", "M19.90"),
)
#: Drugs (RxNorm ingredients) started with each chronic condition; acute drugs.
DRUGS: dict[str, tuple[tuple[int, str, str], ...]] = {
    "heart_failure": ((956874, "Furosemide", "4603"), (1326303, "Digoxin", "3407")),
    "copd": ((1154343, "Albuterol", "435"),),
    "diabetes": ((1503297, "Metformin", "6809"),),
    "ckd": ((1332418, "Amlodipine", "17767"),),
    "atrial_fibrillation": ((1310149, "Warfarin", "11289"),),
    "myocardial_infarction": ((1112807, "Aspirin", "1191"), (1322184, "clopidogrel", "32968")),
    "coronary_disease": ((1539403, "Simvastatin", "36567"),),
    "acute": ((1713332, "Amoxicillin", "723"), (1125315, "Acetaminophen", "161")),
}
#: Labs: key -> (concept_id, name, LOINC, unit concept id, unit).
LABS = {
    "hemoglobin": (3000963, "Hemoglobin", "718-7", 8713, "g/dL"),
    "sodium": (3019550, "Sodium serum/plasma", "2951-2", 8753, "mmol/L"),
    "creatinine": (3016723, "Creatinine serum/plasma", "2160-0", 8840, "mg/dL"),
    "glucose": (3004501, "Glucose lab", "2345-7", 8840, "mg/dL"),
}
#: Procedures that make an admission planned (elective PCI, CABG).
PLANNED_PROCEDURES = (
    (4216130, "Percutaneous coronary intervention", "415070008"),
    (4336464, "Coronary artery bypass graft", "232717009"),
)
#: Charlson ancestors of the simulated conditions (written to concept_ancestor).
ANCESTORS = {
    201826: (201820, "Diabetes mellitus", "73211009"),
    255573: (4063381, "Chronic disease of respiratory system", "17097001"),
    46271022: (4030518, "Renal impairment", "236423003"),
}

#: Ground truth of 30-day readmission: log odds ratios (features as in `SimulatedPopulation.stays`).
READMISSION_COEFFICIENTS: dict[str, float] = {
    "intercept": -2.2,
    "age_per_10y": float(np.log(1.08)),
    "male": float(np.log(1.10)),
    "heart_failure": float(np.log(1.55)),
    "copd": float(np.log(1.40)),
    "diabetes": float(np.log(1.20)),
    "ckd": float(np.log(1.50)),
    "prior_admissions_365d": float(np.log(1.25)),
    "long_stay": float(np.log(1.30)),
    "low_hemoglobin": float(np.log(1.30)),
}
#: Ground truth of length of stay: coefficients of mean log LOS (sd 0.55).
LOS_COEFFICIENTS: dict[str, float] = {
    "intercept": float(np.log(3.2)),
    "age_per_10y": 0.06,
    "heart_failure": 0.20,
    "copd": 0.15,
    "ckd": 0.15,
    "diabetes": 0.05,
    "planned": -0.20,
}
_RISK = ("heart_failure", "copd", "diabetes", "ckd")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class SimulatedPopulation:
    """A simulated OMOP population and the truth it was drawn from.

    `tables` maps warehouse table names to Arrow tables (also readable as attributes:
    ``pop.person``, ``pop.visit_occurrence``...). `stays` holds one row per inpatient stay:
    ``person_id, stay_id`` (= ``entry_event_id`` of the cohort: the stay's first visit),
    ``admission_date, discharge_date, los, transferred, planned, age, male, heart_failure,
    copd, diabetes, ckd, prior_admissions_365d, long_stay, hemoglobin, low_hemoglobin,
    died_in_hospital, p_readmit`` (the model's probability; NaN after an in-hospital death),
    ``readmit_drawn`` (the model's draw), ``readmitted_30d`` (an *unplanned* admission starting
    0-30 days after discharge: what ``readmission(planned=<PCI/CABG>)`` computes) and
    ``any_readmission_30d`` (planned ones too: what ``readmission()`` computes).
    """

    n_persons: int
    seed: int
    tables: dict[str, pa.Table]
    stays: pd.DataFrame
    coefficients: dict[str, float] = field(default_factory=lambda: dict(READMISSION_COEFFICIENTS))
    los_coefficients: dict[str, float] = field(default_factory=lambda: dict(LOS_COEFFICIENTS))

    def __getattr__(self, name: str) -> pa.Table:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def write_to(self, wh: Any, *, provenance: bool = True) -> Any:
        """Load every table into warehouse `wh` in one atomic `LoadSession`; returns its report.

        Rows already present (same primary key) are skipped, so writing twice adds nothing.
        """
        from medmine.warehouse import LoadSession, Reason

        source = f"synth:population:n={self.n_persons}:seed={self.seed}"
        with LoadSession(wh, "synth") as s:
            con = wh.con
            for name, tbl in self.tables.items():
                spec = table_spec(name)
                data = tbl.select([c for c in spec.column_names if c in tbl.column_names])  # noqa: F841
                s.read(name, tbl.num_rows)
                cols = ", ".join(f'"{c}"' for c in tbl.column_names)
                n = int(
                    con.execute(
                        f'INSERT OR IGNORE INTO "{name}" ({cols}) SELECT {cols} FROM data'
                    ).fetchone()[0]
                )
                s.tally(name, loaded=n, skipped=tbl.num_rows - n, reason=Reason.DUPLICATE)
                s.report.rows_written[name] = s.report.rows_written.get(name, 0) + n
                pk = spec.primary_key
                if provenance and n and len(pk) == 1 and spec.column(pk[0]).type == "bigint":
                    con.execute(
                        "INSERT OR IGNORE INTO mm_source_record (table_name, row_id, load_id, "
                        f'source_file, location, resource_type) SELECT ?, "{pk[0]}", ?, ?, '
                        f"'row ' || row_number() OVER (), ? FROM data",
                        [name, s.load_id, source, name],
                    )
        return s.report


def simulate(n_persons: int, seed: int = 0, *, id_base: int = 0) -> SimulatedPopulation:
    """Simulate `n_persons` persons with stays, readmissions and lengths of stay.

    Parameters
    ----------
    n_persons
        Number of persons (any size; about 21 warehouse rows per person).
    seed
        Random seed: the same seed gives identical tables.
    id_base
        Added to every row id, so several populations can share one warehouse.

    >>> a, b = simulate(100, seed=3), simulate(100, seed=3)
    >>> a.visit_occurrence.equals(b.visit_occurrence)
    True
    """
    if n_persons < 1:
        raise ValueError(f"n_persons must be >= 1. Got {n_persons} instead.")
    rng = np.random.default_rng(seed)
    return _Simulator(n_persons, rng, id_base).run(seed)


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
        self.finish_tables()
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

    # ---- Arrow tables ----
    def finish_tables(self) -> None:
        b, pid = self.base, self.pid
        t = self.tables
        t["observation_period"] = pa.table(
            {
                "observation_period_id": pid,
                "person_id": pid,
                "observation_period_start_date": _dates(self.obs_start),
                "observation_period_end_date": _dates(self.obs_end),
                "period_type_concept_id": np.full(self.n, EHR, dtype=np.int32),
            }
        )
        who = np.concatenate([v[0] for v in self.visits])
        start = np.concatenate([v[1] for v in self.visits])
        end = np.concatenate([v[2] for v in self.visits])
        kind = np.concatenate([np.full(v[0].size, v[5], dtype=np.int32) for v in self.visits])
        t["care_site"] = pa.table(
            {
                "care_site_id": np.arange(1, self.n_sites + 1, dtype=np.int64) + b,
                "care_site_name": [f"Simulated hospital {i}" for i in range(1, self.n_sites + 1)],
            }
        )
        t["visit_occurrence"] = pa.table(
            {
                "visit_occurrence_id": np.concatenate([v[4] for v in self.visits]) + b,
                "person_id": pid[who],
                "visit_concept_id": kind,
                "visit_start_date": _dates(start),
                "visit_end_date": _dates(end),
                "visit_type_concept_id": np.full(who.size, EHR, dtype=np.int32),
                "care_site_id": np.concatenate([v[3] for v in self.visits]).astype(np.int64) + b,
                "visit_source_value": np.where(kind == INPATIENT, "IP", "OP"),
            }
        )
        conds = [c if len(c) == 5 else (*c, None) for c in self.conds]
        who = np.concatenate([c[0] for c in conds])
        day = np.concatenate([c[1] for c in conds])
        vis = np.concatenate(
            [c[4] + b if c[4] is not None else np.full(c[0].size, -1) for c in conds]
        )
        t["condition_occurrence"] = pa.table(
            {
                "condition_occurrence_id": np.arange(1, who.size + 1, dtype=np.int64) + b,
                "person_id": pid[who],
                "condition_concept_id": np.concatenate([c[2] for c in conds]).astype(np.int32),
                "condition_start_date": _dates(day),
                "condition_type_concept_id": np.full(who.size, EHR, dtype=np.int32),
                "visit_occurrence_id": pa.array(vis, mask=vis < 0),
                "condition_source_value": np.char.add(
                    "ICD10CM:", np.concatenate([c[3] for c in conds]).astype(str)
                ),
            }
        )
        who = np.concatenate([d[0] for d in self.drugs])
        day = np.concatenate([d[1] for d in self.drugs])
        t["drug_exposure"] = pa.table(
            {
                "drug_exposure_id": np.arange(1, who.size + 1, dtype=np.int64) + b,
                "person_id": pid[who],
                "drug_concept_id": np.concatenate([d[2] for d in self.drugs]).astype(np.int32),
                "drug_exposure_start_date": _dates(day),
                "drug_exposure_end_date": _dates(np.concatenate([d[3] for d in self.drugs])),
                "drug_type_concept_id": np.full(who.size, EHR, dtype=np.int32),
            }
        )
        who = np.concatenate([x[0] for x in self.labs])
        concept = np.concatenate([x[2] for x in self.labs]).astype(np.int32)
        lab_of = {v[0]: v for v in LABS.values()}
        units = np.vectorize(lambda c: lab_of[c][3], otypes=[np.int32])(np.unique(concept))
        unit = units[np.searchsorted(np.unique(concept), concept)]
        t["measurement"] = pa.table(
            {
                "measurement_id": np.arange(1, who.size + 1, dtype=np.int64) + b,
                "person_id": pid[who],
                "measurement_concept_id": concept,
                "measurement_date": _dates(np.concatenate([x[1] for x in self.labs])),
                "measurement_type_concept_id": np.full(who.size, EHR, dtype=np.int32),
                "value_as_number": np.round(np.concatenate([x[3] for x in self.labs]), 2),
                "unit_concept_id": unit,
            }
        )
        pw, pday, pc, pv = self.procedures
        t["procedure_occurrence"] = pa.table(
            {
                "procedure_occurrence_id": np.arange(1, pw.size + 1, dtype=np.int64) + b,
                "person_id": pid[pw],
                "procedure_concept_id": pc.astype(np.int32),
                "procedure_date": _dates(pday),
                "procedure_type_concept_id": np.full(pw.size, EHR, dtype=np.int32),
                "visit_occurrence_id": pv + b,
            }
        )
        big = np.iinfo(np.int64).max // 4
        dead = np.flatnonzero(self.death_final < big)
        t["death"] = pa.table(
            {
                "person_id": pid[dead],
                "death_date": _dates(self.death_final[dead]),
                "death_type_concept_id": np.full(dead.size, EHR, dtype=np.int32),
            }
        )
        t["concept"], t["concept_ancestor"] = _vocabulary()


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32()).cast(pa.date32())


def _vocabulary() -> tuple[pa.Table, pa.Table]:
    """Concept rows for every concept the simulator writes, and the Charlson ancestry."""
    rows: list[tuple[int, str, str, str, str, str, str]] = [
        (MALE, "MALE", "Gender", "Gender", "Gender", "S", "M"),
        (FEMALE, "FEMALE", "Gender", "Gender", "Gender", "S", "F"),
        (8527, "White", "Race", "Race", "Race", "S", "5"),
        (8516, "Black or African American", "Race", "Race", "Race", "S", "3"),
        (8515, "Asian", "Race", "Race", "Race", "S", "2"),
        (38003563, "Hispanic or Latino", "Ethnicity", "Ethnicity", "Ethnicity", "S", "Hispanic"),
        (
            38003564,
            "Not Hispanic or Latino",
            "Ethnicity",
            "Ethnicity",
            "Ethnicity",
            "S",
            "Not Hispanic",
        ),
        (INPATIENT, "Inpatient Visit", "Visit", "Visit", "Visit", "S", "IP"),
        (OUTPATIENT, "Outpatient Visit", "Visit", "Visit", "Visit", "S", "OP"),
        (EHR, "EHR", "Type Concept", "Type Concept", "Type Concept", "S", "OMOP4976890"),
    ]
    for cid, name, code, _ in [*CONDITIONS.values(), *ACUTE]:
        rows.append((cid, name, "Condition", "SNOMED", "Clinical Finding", "S", code))
    for cid, name, code in ANCESTORS.values():
        rows.append((cid, name, "Condition", "SNOMED", "Clinical Finding", "S", code))
    for drugs in DRUGS.values():
        for cid, name, code in drugs:
            rows.append((cid, name, "Drug", "RxNorm", "Ingredient", "S", code))
    for cid, name, code, _, _ in LABS.values():
        rows.append((cid, name, "Measurement", "LOINC", "Lab Test", "S", code))
    for cid, name, code in PLANNED_PROCEDURES:
        rows.append((cid, name, "Procedure", "SNOMED", "Procedure", "S", code))
    units = {8713: ("gram per deciliter", "g/dL"), 8753: ("millimole per liter", "mmol/L")}
    units[8840] = ("milligram per deciliter", "mg/dL")
    for cid, (name, code) in units.items():
        rows.append((cid, name, "Unit", "UCUM", "Unit", "S", code))
    cols = list(zip(*rows, strict=True))
    n = len(rows)
    concept = pa.table(
        {
            "concept_id": pa.array(cols[0], pa.int32()),
            "concept_name": cols[1],
            "domain_id": cols[2],
            "vocabulary_id": cols[3],
            "concept_class_id": cols[4],
            "standard_concept": cols[5],
            "concept_code": cols[6],
            "valid_start_date": pa.array([0] * n, pa.int32()).cast(pa.date32()),
            "valid_end_date": pa.array([_day("2099-12-31")] * n, pa.int32()).cast(pa.date32()),
        }
    )
    anc, desc, lvl = [], [], []
    for r in rows:
        anc.append(r[0]), desc.append(r[0]), lvl.append(0)
    for child, (parent, _, _) in ANCESTORS.items():
        anc.append(parent), desc.append(child), lvl.append(1)
    ancestor = pa.table(
        {
            "ancestor_concept_id": pa.array(anc, pa.int32()),
            "descendant_concept_id": pa.array(desc, pa.int32()),
            "min_levels_of_separation": pa.array(lvl, pa.int32()),
            "max_levels_of_separation": pa.array(lvl, pa.int32()),
        }
    )
    return concept, ancestor
