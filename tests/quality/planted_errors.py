"""The planted-error suite: a clean generated population and realistic errors planted into a copy.

The population is `medmine.synth.simulate` (persons, visits, conditions, drugs, labs, deaths)
completed with what an EHR extract carries and the simulator leaves empty: source values
(``VOCAB:code`` from the simulator's own concept table), UCUM units, drug supply fields, race
recorded for everyone, and a provider table with specialties and valid NPIs.

Each `Kind` plants one kind of error on rows of its own persons (so kinds do not interact) and
returns the ids its expected check must report. A kind is *detected* when its check is a new
failure against the clean run (or a failing check that got worse) and the check's added
violating rows equal the rows planted by the kinds expecting it, the planted ids among them.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medmine.synth import simulate
from medmine.warehouse import Warehouse

N_PERSONS = 300
SEED = 19


def _npi(body9: str) -> str:
    """A valid NPI: 9 digits plus the Luhn check digit computed over the 80840 prefix."""
    digits = [int(c) for c in "80840" + body9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return body9 + str((10 - total % 10) % 10)


COMPLETE_SQL = """
UPDATE drug_exposure d SET drug_source_value = 'RxNorm:' || k.concept_code,
  days_supply = least(date_diff('day', d.drug_exposure_start_date, d.drug_exposure_end_date), 90),
  quantity = least(date_diff('day', d.drug_exposure_start_date, d.drug_exposure_end_date), 90),
  refills = 3
  FROM concept k WHERE k.concept_id = d.drug_concept_id;
UPDATE measurement m SET measurement_source_value = 'LOINC:' || k.concept_code,
  unit_source_value = u.concept_code
  FROM concept k, concept u WHERE k.concept_id = m.measurement_concept_id
  AND u.concept_id = m.unit_concept_id;
UPDATE procedure_occurrence p SET procedure_source_value = 'SNOMED:' || k.concept_code
  FROM concept k WHERE k.concept_id = p.procedure_concept_id;
UPDATE person SET race_concept_id = 8527 WHERE coalesce(race_concept_id, 0) = 0;
UPDATE person p SET race_source_value = k.concept_name FROM concept k
  WHERE k.concept_id = p.race_concept_id;
UPDATE person p SET ethnicity_source_value = coalesce(k.concept_name, 'Not Hispanic or Latino')
  FROM concept k WHERE k.concept_id = p.ethnicity_concept_id;
UPDATE person SET ethnicity_source_value = 'Not Hispanic or Latino'
  WHERE ethnicity_source_value IS NULL;
UPDATE person p SET gender_source_value = k.concept_code FROM concept k
  WHERE k.concept_id = p.gender_concept_id;
"""


def build_clean(path: Path) -> Warehouse:
    """The clean generated population in a new warehouse at `path`."""
    wh = Warehouse(path)
    simulate(N_PERSONS, seed=SEED).write_to(wh)
    con = wh.con
    con.execute(COMPLETE_SQL)
    con.execute(
        "INSERT INTO concept VALUES (38004456, 'Internal Medicine', 'Provider', "
        "'Medicare Specialty', 'Physician Specialty', 'S', '11', DATE '1970-01-01', "
        "DATE '2099-12-31', NULL)"
    )
    for i in range(1, 21):
        con.execute(
            "INSERT INTO provider (provider_id, provider_name, npi, specialty_concept_id, "
            "specialty_source_value, care_site_id) VALUES (?, ?, ?, 38004456, ?, 1)",
            [i, f"Provider {i}", _npi(f"{123450000 + i:09d}"), "Internal medicine"],
        )
    return wh


@dataclass
class Ctx:
    """What a kind needs: the connection and a supply of fresh ids and unused persons."""

    con: Any
    _next: dict[str, int]
    _free: dict[str, list[int]]

    @classmethod
    def of(cls, con: Any) -> Ctx:
        dead = {r[0] for r in con.execute("SELECT person_id FROM death").fetchall()}
        free: dict[str, list[int]] = {"male": [], "female": [], "dead": []}
        rows = con.execute(
            "SELECT p.person_id, p.gender_concept_id, (SELECT count(*) FROM condition_occurrence c "
            "WHERE c.person_id = p.person_id) FROM person p ORDER BY p.person_id"
        ).fetchall()
        for pid, gender, n_cond in rows:
            if pid in dead:
                free["dead"].append(pid)
            elif n_cond:  # persons with conditions and visits, alive
                free["male" if gender == 8507 else "female"].append(pid)
        return cls(con, {}, free)

    def person(self, kind: str = "any") -> int:
        if kind == "any":
            kind = "male" if len(self._free["male"]) >= len(self._free["female"]) else "female"
        return self._free[kind].pop(0)

    def new_id(self, table: str) -> int:
        if table not in self._next:
            col = f"{table}_id"
            self._next[table] = (
                int(self.con.execute(f"SELECT coalesce(max({col}), 0) FROM {table}").fetchone()[0])
                + 1_000_000
            )
        self._next[table] += 1
        return self._next[table]

    def one(self, sql: str, params: list[Any] | None = None) -> Any:
        return self.con.execute(sql, params or []).fetchone()

    def ids(self, sql: str, params: list[Any] | None = None) -> list[int]:
        return [r[0] for r in self.con.execute(sql, params or []).fetchall()]


@dataclass(frozen=True)
class Kind:
    """One kind of planted error, the check expected to report it and its row count."""

    name: str
    check_id: str
    rows: int
    plant: Callable[[Ctx], list[Any]]


# ---- helpers for the kinds ----
def _measure(c: Ctx, pid: int, loinc: str, value: float, unit: str, day: str | None = None) -> int:
    mid = c.new_id("measurement")
    day = (
        day
        or c.one(
            "SELECT min(condition_start_date) FROM condition_occurrence WHERE person_id = ?", [pid]
        )[0].isoformat()
    )
    c.con.execute(
        "INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, "
        "measurement_date, measurement_type_concept_id, value_as_number, unit_source_value, "
        "measurement_source_value) VALUES (?, ?, 0, CAST(? AS DATE), 32817, ?, ?, ?)",
        [mid, pid, day, value, unit, f"LOINC:{loinc}"],
    )
    return mid


def _last_condition_day(c: Ctx, pid: int) -> Any:
    sql = "SELECT max(condition_start_date) FROM condition_occurrence WHERE person_id = ?"
    return c.one(sql, [pid])[0]


def _lab(loinc: str, value: float, unit: str, n: int = 1) -> Callable[[Ctx], list[Any]]:
    def plant(c: Ctx) -> list[Any]:
        pid = c.person()
        return [_measure(c, pid, loinc, value, unit) for _ in range(n)]

    return plant


def _update_first(table: str, assign: str, n: int = 1, where: str = "TRUE", who: str = "any"):
    """Set `assign` on the first `n` rows of `table` of one fresh person."""

    def plant(c: Ctx) -> list[Any]:
        pid = c.person(who)
        ids = c.ids(
            f"SELECT {table}_id FROM {table} WHERE person_id = ? AND {where} ORDER BY 1 LIMIT {n}",
            [pid],
        )
        assert len(ids) == n, (table, pid, ids)
        c.con.execute(f"UPDATE {table} SET {assign} WHERE list_contains(?, {table}_id)", [ids])
        return ids

    return plant


def _condition(code: str, who: str, n: int = 1) -> Callable[[Ctx], list[Any]]:
    def plant(c: Ctx) -> list[Any]:
        pid = c.person(who)
        day = _last_condition_day(c, pid)
        out = []
        for _ in range(n):
            cid = c.new_id("condition_occurrence")
            c.con.execute(
                "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
                "condition_concept_id, condition_start_date, condition_type_concept_id, "
                "condition_source_value) VALUES (?, ?, 0, ?, 32817, ?)",
                [cid, pid, day, code],
            )
            out.append(cid)
        return out

    return plant


def _procedure(code: str, who: str) -> Callable[[Ctx], list[Any]]:
    def plant(c: Ctx) -> list[Any]:
        pid = c.person(who)
        day = _last_condition_day(c, pid)
        pr = c.new_id("procedure_occurrence")
        c.con.execute(
            "INSERT INTO procedure_occurrence (procedure_occurrence_id, person_id, "
            "procedure_concept_id, procedure_date, procedure_type_concept_id, "
            "procedure_source_value) VALUES (?, ?, 0, ?, 32817, ?)",
            [pr, pid, day, code],
        )
        return [pr]

    return plant


def _visit_of_another_person(c: Ctx) -> list[Any]:
    pid, other = c.person(), c.person()
    ids = c.ids("SELECT condition_occurrence_id FROM condition_occurrence WHERE person_id = ? "
                "AND visit_occurrence_id IS NOT NULL ORDER BY 1 LIMIT 2", [pid])  # fmt: skip
    for cid in ids:
        day = c.one("SELECT condition_start_date FROM condition_occurrence WHERE "
                    "condition_occurrence_id = ?", [cid])[0]  # fmt: skip
        vid = c.new_id("visit_occurrence")
        c.con.execute(  # a visit of the other person on the same day (dates stay consistent)
            "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, "
            "visit_start_date, visit_end_date, visit_type_concept_id) "
            "VALUES (?, ?, 9202, ?, ?, 32817)",
            [vid, other, day, day],
        )
        c.con.execute("UPDATE condition_occurrence SET visit_occurrence_id = ? WHERE "
                      "condition_occurrence_id = ?", [vid, cid])  # fmt: skip
    return ids


def _death_before_birth(c: Ctx) -> list[Any]:
    pid = c.person("dead")
    c.con.execute("UPDATE death SET death_date = DATE '1901-01-01' WHERE person_id = ?", [pid])
    return [pid]


def _event_after_death(c: Ctx) -> list[Any]:
    pid = c.person("dead")
    dd = c.one("SELECT death_date FROM death WHERE person_id = ?", [pid])[0]
    day = dd + dt.timedelta(days=400)
    cid = c.new_id("condition_occurrence")
    c.con.execute(
        "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
        "condition_concept_id, condition_start_date, condition_type_concept_id, "
        "condition_source_value) VALUES (?, ?, 201826, ?, 32817, 'ICD10CM:E11.9')",
        [cid, pid, day],
    )
    return [cid]


def _event_before_birth(c: Ctx) -> list[Any]:
    pid = c.person()
    ids = c.ids("SELECT condition_occurrence_id FROM condition_occurrence WHERE person_id = ? "
                "ORDER BY 1 LIMIT 1", [pid])  # fmt: skip
    c.con.execute("UPDATE condition_occurrence SET condition_start_date = DATE '1900-06-01', "
                  "visit_occurrence_id = NULL WHERE condition_occurrence_id = ?", ids)  # fmt: skip
    return ids


def _swap_visit_dates(c: Ctx) -> list[Any]:
    pid = c.person()
    ids = c.ids("SELECT visit_occurrence_id FROM visit_occurrence WHERE person_id = ? "
                "ORDER BY 1 LIMIT 2", [pid])  # fmt: skip
    c.con.execute(
        "UPDATE visit_occurrence SET visit_end_date = visit_start_date - INTERVAL 2 DAY "
        "WHERE list_contains(?, visit_occurrence_id)", [ids]
    )  # fmt: skip
    return ids


def _obs_period_reversed(c: Ctx) -> list[Any]:
    pid = c.person()
    ids = c.ids("SELECT observation_period_id FROM observation_period WHERE person_id = ?", [pid])
    c.con.execute(
        "UPDATE observation_period SET observation_period_start_date = "
        "observation_period_end_date, observation_period_end_date = "
        "observation_period_start_date WHERE person_id = ?", [pid]
    )  # fmt: skip
    return ids


def _no_observation_period(c: Ctx) -> list[Any]:
    pid = c.person()
    c.con.execute("DELETE FROM observation_period WHERE person_id = ?", [pid])
    return [pid]


def _recreate_without_constraints(c: Ctx, table: str) -> None:
    c.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table}")


def _duplicate_procedure_id(c: Ctx) -> list[Any]:
    _recreate_without_constraints(c, "procedure_occurrence")
    pid = c.person()
    pr = c.one("SELECT min(procedure_occurrence_id) FROM procedure_occurrence")[0]
    day = c.one("SELECT max(condition_start_date) FROM condition_occurrence WHERE person_id = ?",
                [pid])[0]  # fmt: skip
    c.con.execute(
        "INSERT INTO procedure_occurrence (procedure_occurrence_id, person_id, "
        "procedure_concept_id, procedure_date, procedure_type_concept_id, "
        "procedure_source_value) VALUES (?, ?, 4216130, ?, 32817, 'SNOMED:415070008')",
        [pr, pid, day],
    )
    return [pr]


def _required_null(c: Ctx) -> list[Any]:
    _recreate_without_constraints(c, "drug_exposure")
    return _update_first("drug_exposure", "drug_type_concept_id = NULL")(c)


def _dangling(table: str, column: str, value: int) -> Callable[[Ctx], list[Any]]:
    return _update_first(table, f"{column} = {value}")


def _person_field(assign: str) -> Callable[[Ctx], list[Any]]:
    def plant(c: Ctx) -> list[Any]:
        pid = c.person()
        c.con.execute(f"UPDATE person SET {assign} WHERE person_id = ?", [pid])
        return [pid]

    return plant


def _provider(assign: str, n: int) -> Callable[[Ctx], list[Any]]:
    def plant(c: Ctx) -> list[Any]:
        ids = c.ids(f"SELECT provider_id FROM provider WHERE provider_id > 20 - {n} ORDER BY 1")
        c.con.execute(f"UPDATE provider SET {assign} WHERE list_contains(?, provider_id)", [ids])
        return ids

    return plant


def _conditions_in_one_visit(c: Ctx) -> list[Any]:
    pid = c.person()
    vid, day = c.one("SELECT visit_occurrence_id, visit_start_date FROM visit_occurrence WHERE "
                     "person_id = ? ORDER BY 1 LIMIT 1", [pid])  # fmt: skip
    base = c.new_id("condition_occurrence")
    c.con.execute(
        "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
        "condition_concept_id, condition_start_date, condition_start_datetime, "
        "condition_type_concept_id, visit_occurrence_id, condition_source_value) "
        "SELECT ? + i, ?, 260139, CAST(? AS DATE), CAST(? AS TIMESTAMP) + to_seconds(i), "
        "32817, ?, 'ICD10CM:J20.9' FROM range(500) t(i)",
        [base, pid, day, day, vid],
    )
    c._next["condition_occurrence"] = base + 500
    return [vid]


def _labs_on_one_day(c: Ctx) -> list[Any]:
    pid = c.person()
    day = c.one("SELECT min(condition_start_date) FROM condition_occurrence WHERE person_id = ?",
                [pid])[0]  # fmt: skip
    base = c.new_id("measurement")
    c.con.execute(
        "INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, "
        "measurement_date, measurement_datetime, measurement_type_concept_id, value_as_number, "
        "unit_concept_id, unit_source_value, measurement_source_value) SELECT ? + i, ?, "
        "3016723, CAST(? AS DATE), CAST(? AS TIMESTAMP) + to_seconds(i), 32817, 1.0 + i / 1000, "
        "8840, 'mg/dL', 'LOINC:2160-0' FROM range(200) t(i)",
        [base, pid, day, day],
    )
    c._next["measurement"] = base + 200
    return [pid]


def _many_drugs(c: Ctx) -> list[Any]:
    pid = c.person()
    start = c.one("SELECT observation_period_start_date FROM observation_period WHERE "
                  "person_id = ?", [pid])[0]  # fmt: skip
    base = c.new_id("drug_exposure")
    c.con.execute(
        "INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id, "
        "drug_exposure_start_date, drug_exposure_end_date, drug_type_concept_id, "
        "drug_source_value, days_supply, quantity, refills) SELECT ? + i, ?, 1112807, "
        "CAST(? AS DATE) + CAST(i AS INTEGER), CAST(? AS DATE) + CAST(i AS INTEGER) + 1, 32817, "
        "'RxNorm:1191', 1, 1, 0 FROM range(400) t(i)",
        [base, pid, start, start],
    )
    c._next["drug_exposure"] = base + 400
    return [pid]


def _duplicate_drug_rows(c: Ctx) -> list[Any]:
    pid = c.person()
    src = c.one("SELECT min(drug_exposure_id) FROM drug_exposure WHERE person_id = ?", [pid])[0]
    out = []
    for _ in range(3):
        new = c.new_id("drug_exposure")
        c.con.execute(
            "INSERT INTO drug_exposure SELECT * REPLACE (CAST(? AS BIGINT) AS drug_exposure_id) "
            "FROM drug_exposure WHERE drug_exposure_id = ?",
            [new, src],
        )
        out.append(new)
    return out


_GLUCOSE = "plausible_lab_range:measurement.value_as_number:"
_SEX_C = "plausible_sex:condition_occurrence.condition_source_value:"
_SEX_P = "plausible_sex:procedure_occurrence.procedure_source_value:"

KINDS: tuple[Kind, ...] = (
    Kind("heart rate 900/min", f"{_GLUCOSE}8867-4", 1, _lab("8867-4", 900, "/min")),
    Kind("body temperature 60 Cel", f"{_GLUCOSE}8310-5", 1, _lab("8310-5", 60, "Cel")),
    Kind("body temperature 140 degF", f"{_GLUCOSE}8310-5", 1, _lab("8310-5", 140, "[degF]")),
    Kind("body weight 2000 kg", f"{_GLUCOSE}29463-7", 2, _lab("29463-7", 2000, "kg", 2)),
    Kind("glucose 1800 mg/dL recorded as 100 mmol/L", f"{_GLUCOSE}2345-7", 1,
         _update_first("measurement", "value_as_number = 100, unit_source_value = 'mmol/L'",
                       where="measurement_concept_id = 3004501")),
    Kind("sodium 1400 mmol/L (decimal slip)", f"{_GLUCOSE}2951-2", 1,
         _lab("2951-2", 1400, "mmol/L")),
    Kind("creatinine 0 mg/dL", f"{_GLUCOSE}2160-0", 2,
         _update_first("measurement", "value_as_number = 0", 2,
                       where="measurement_concept_id = 3016723")),
    Kind("hemoglobin 0.5 g/dL", f"{_GLUCOSE}718-7", 1, _lab("718-7", 0.5, "g/dL")),
    Kind("glucose in kg (wrong dimension)", "unit_dimension:measurement.unit_source_value:2345-7",
         1, _update_first("measurement", "unit_source_value = 'kg'",
                          where="measurement_concept_id = 3004501")),
    Kind("hemoglobin in percent (wrong dimension)",
         "unit_dimension:measurement.unit_source_value:718-7", 1, _lab("718-7", 13, "%")),
    Kind("days' supply 10,000", "plausible_upper_bound:drug_exposure.days_supply", 2,
         _update_first("drug_exposure", "days_supply = 10000", 2)),
    Kind("quantity 5,000", "plausible_upper_bound:drug_exposure.quantity", 1,
         _update_first("drug_exposure", "quantity = 5000")),
    Kind("99 refills", "plausible_upper_bound:drug_exposure.refills", 1,
         _update_first("drug_exposure", "refills = 99")),
    Kind("negative quantity", "non_negative:drug_exposure.quantity", 1,
         _update_first("drug_exposure", "quantity = -30")),
    Kind("negative days' supply", "non_negative:drug_exposure.days_supply", 1,
         _update_first("drug_exposure", "days_supply = -30")),
    Kind("miscarriage in a man", f"{_SEX_C}female", 1, _condition("ICD10CM:O03.9", "male")),
    Kind("ectopic pregnancy in a man", f"{_SEX_C}female", 1, _condition("ICD10CM:O00.90", "male")),
    Kind("pre-eclampsia in a man", f"{_SEX_C}female", 1, _condition("ICD10CM:O14.90", "male")),
    Kind("prostate cancer in a woman", f"{_SEX_C}male", 1, _condition("ICD10CM:C61", "female")),
    Kind("benign prostatic hyperplasia in a woman (SNOMED)", f"{_SEX_C}male", 1,
         _condition("SNOMED:266569009", "female")),
    Kind("hysterectomy of a man", f"{_SEX_P}female", 1, _procedure("SNOMED:236886002", "male")),
    Kind("prostatectomy of a woman", f"{_SEX_P}male", 1, _procedure("SNOMED:90470006", "female")),
    Kind("visit id of another person's visit",
         "visit_same_person:condition_occurrence.visit_occurrence_id", 2,
         _visit_of_another_person),
    Kind("death before birth", "death_after_birth:death.death_date", 1, _death_before_birth),
    Kind("event before birth", "after_birth:condition_occurrence.condition_start_date", 1,
         _event_before_birth),
    Kind("event 400 days after death", "before_death:condition_occurrence.condition_start_date",
         1, _event_after_death),
    Kind("visit ends before it starts", "start_before_end:visit_occurrence.visit_end_date", 2,
         _swap_visit_dates),
    Kind("drug ends before it starts",
         "start_before_end:drug_exposure.drug_exposure_end_date", 1,
         _update_first("drug_exposure",
                       "drug_exposure_end_date = drug_exposure_start_date - INTERVAL 10 DAY")),
    Kind("observation period reversed",
         "start_before_end:observation_period.observation_period_end_date", 1,
         _obs_period_reversed),
    Kind("measurement dated in the future", "future_date:measurement.measurement_date", 1,
         _update_first("measurement", "measurement_date = DATE '2031-05-01'")),
    Kind("procedure id used twice", "is_primary_key:procedure_occurrence.procedure_occurrence_id",
         1, _duplicate_procedure_id),
    Kind("drug exposure of an unknown person", "is_foreign_key:drug_exposure.person_id", 1,
         _dangling("drug_exposure", "person_id", 987654321)),
    Kind("condition of an unknown visit",
         "is_foreign_key:condition_occurrence.visit_occurrence_id", 1,
         _update_first("condition_occurrence", "visit_occurrence_id = 987654321",
                       where="visit_occurrence_id IS NOT NULL")),
    Kind("drug without type concept", "is_required:drug_exposure.drug_type_concept_id", 1,
         _required_null),
    Kind("birth month 13", "plausible_birth_date:person", 1, _person_field("month_of_birth = 13")),
    Kind("person aged over 120", "implausible_age:person", 1,
         _person_field("year_of_birth = 1880, birth_datetime = TIMESTAMP '1880-01-01 00:00:00'")),
    Kind("measurement time 25:99", "format_conformance:measurement.measurement_time", 1,
         _update_first("measurement", "measurement_time = '25:99'")),
    Kind("ICD-10-CM code of the wrong shape",
         "code_shape_icd10cm:condition_occurrence.condition_source_value", 1,
         _update_first("condition_occurrence", "condition_source_value = 'ICD10CM:12345'")),
    Kind("LOINC code with a wrong check digit",
         "code_shape_loinc:measurement.measurement_source_value", 1,
         _update_first("measurement", "measurement_source_value = 'LOINC:2345-8'")),
    Kind("SNOMED code with a wrong check digit",
         "code_shape_snomed:procedure_occurrence.procedure_source_value", 1,
         _procedure("SNOMED:415070009", "any")),
    Kind("RxNorm code with a leading zero", "code_shape_rxnorm:drug_exposure.drug_source_value",
         1, _update_first("drug_exposure", "drug_source_value = 'RxNorm:0123'")),
    Kind("truncated NDC", "code_shape_ndc:drug_exposure.drug_source_value", 1,
         _update_first("drug_exposure", "drug_source_value = 'NDC:12345'")),
    Kind("invalid NPI", "npi_check_digit:provider.npi", 1, _provider("npi = '1234567890'", 1)),
    Kind("providers without specialty",
         "provider_completeness:provider.specialty_concept_id:specialty", 5,
         _provider("specialty_concept_id = NULL, specialty_source_value = NULL", 5)),
    Kind("visit datetime on another day",
         "datetime_matches_date:visit_occurrence.visit_start_datetime", 1,
         _update_first("visit_occurrence", "visit_start_datetime = "
                       "CAST(visit_start_date AS TIMESTAMP) + INTERVAL 3 DAY")),
    Kind("concept id not in the vocabulary",
         "concept_in_vocabulary:condition_occurrence.condition_concept_id", 1,
         _update_first("condition_occurrence", "condition_concept_id = 987654")),
    Kind("drug concept in condition_occurrence",
         "concept_domain:condition_occurrence.condition_concept_id", 1,
         _update_first("condition_occurrence", "condition_concept_id = 1112807")),
    Kind("500 conditions in one visit", "events_per_visit_outlier:condition_occurrence", 1,
         _conditions_in_one_visit),
    Kind("200 labs on one day", "events_per_person_day_outlier:measurement", 1, _labs_on_one_day),
    Kind("400 drug exposures for one person", "records_per_person_outlier:drug_exposure", 1,
         _many_drugs),
    Kind("person without observation period", "person_without_observation_period:person", 1,
         _no_observation_period),
    Kind("person without year of birth", "person_without_year_of_birth:person", 1,
         _person_field("year_of_birth = NULL, month_of_birth = NULL, day_of_birth = NULL, "
                       "birth_datetime = NULL")),
    Kind("drug record loaded four times", "duplicate_rows:drug_exposure", 3,
         _duplicate_drug_rows),
)  # fmt: skip


def plant_all(wh: Warehouse) -> dict[str, list[str]]:
    """Plant every kind into `wh`; the ids each kind expects its check to report."""
    ctx = Ctx.of(wh.con)
    return {k.name: [str(i) for i in k.plant(ctx)] for k in KINDS}


def copy_warehouse(src: Path, dst: Path) -> Path:
    """Copy a closed warehouse file (and its write-ahead log, if any)."""
    shutil.copyfile(src, dst)
    wal = Path(str(src) + ".wal")
    if wal.exists():
        shutil.copyfile(wal, Path(str(dst) + ".wal"))
    return dst
