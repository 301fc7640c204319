"""The Synthea CSV loader bugs of issue 13, one test each (each failed before the fix).

Every test writes a tiny export in Synthea's CSV layout (the columns of its data dictionary,
``medmine.synth.synthea_formats.CSV_HEADERS``) and loads it.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medmine.ingest import synthea_csv
from medmine.ingest.codes import vocabulary_of_code
from medmine.synth.synthea_formats import CSV_HEADERS
from medmine.warehouse import Warehouse

P1 = "7b1e0c2a-0000-4000-8000-000000000001"
E1 = "e0000000-0000-4000-8000-000000000001"
PAYER = "a0000000-0000-4000-8000-0000000000aa"


def write(folder: Path, name: str, rows: list[dict[str, str]]) -> None:
    with open(folder / name, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_HEADERS[name], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def export(tmp_path: Path, **files: list[dict[str, str]]) -> Path:
    """A folder with one patient, one encounter and the given files (name without .csv)."""
    write(tmp_path, "patients.csv", [{"Id": P1, "BIRTHDATE": "1960-05-01", "GENDER": "F",
                                      "RACE": "white", "ETHNICITY": "nonhispanic"}])  # fmt: skip
    enc = {"Id": E1, "START": "2020-03-01T10:00:00Z", "STOP": "2020-03-01T11:00:00Z",
           "PATIENT": P1, "ENCOUNTERCLASS": "ambulatory", "CODE": "185349003"}  # fmt: skip
    files.setdefault("encounters", [enc])
    for name, rows in files.items():
        write(tmp_path, f"{name}.csv", rows)
    return tmp_path


def load(folder: Path):
    wh = Warehouse(":memory:")
    rep = synthea_csv.load(folder, wh)
    assert rep.reconciles and rep.status == "committed"
    return wh, rep


# ---- 1. claim transactions by type and method ----
def _claim_export(tmp_path: Path) -> Path:
    claim = {"Id": "C1", "PATIENTID": P1, "PRIMARYPATIENTINSURANCEID": PAYER,
             "APPOINTMENTID": E1, "SERVICEDATE": "2020-03-01T10:00:00Z", "STATUS1": "CLOSED",
             "HEALTHCARECLAIMTYPEID1": "1"}  # fmt: skip
    base = {"CLAIMID": "C1", "CHARGEID": "1", "PATIENTID": P1, "FROMDATE": "2020-03-01T10:00:00Z"}
    tx = [
        {**base, "ID": "T1", "TYPE": "CHARGE", "AMOUNT": "200.00", "PROCEDURECODE": "185349003"},
        {**base, "ID": "T2", "TYPE": "ADJUSTMENT", "ADJUSTMENTS": "50.00"},
        {**base, "ID": "T3", "TYPE": "PAYMENT", "METHOD": "ECHECK", "PAYMENTS": "120.00",
         "PATIENTINSURANCEID": PAYER},
        {**base, "ID": "T4", "TYPE": "TRANSFEROUT", "TRANSFERTYPE": "p", "TRANSFERS": "30.00"},
        {**base, "ID": "T5", "TYPE": "TRANSFERIN", "TRANSFERTYPE": "p", "AMOUNT": "30.00",
         "TRANSFERS": "30.00"},
        {**base, "ID": "T6", "TYPE": "PAYMENT", "METHOD": "COPAY", "PAYMENTS": "10.00"},
        {**base, "ID": "T7", "TYPE": "PAYMENT", "METHOD": "CHECK", "PAYMENTS": "15.00"},
        {**base, "ID": "T8", "TYPE": "PAYMENT", "METHOD": "CASH", "PAYMENTS": "5.00"},
    ]  # fmt: skip
    return export(tmp_path, claims=[claim], claims_transactions=tx)


def test_patient_payments_are_paid_by_the_patient_and_allowed_is_filled(tmp_path):
    wh, _ = load(_claim_export(tmp_path))
    line = wh.con.execute(
        "SELECT billed_amount, allowed_amount, paid_amount FROM mm_claim_line"
    ).fetchone()
    assert line == (200.0, 150.0, 120.0)
    head = wh.con.execute(
        "SELECT total_billed, total_allowed, total_paid, patient_paid FROM mm_claim"
    ).fetchone()
    assert head == (200.0, 150.0, 120.0, 30.0)
    costs = wh.con.execute(
        "SELECT cost_domain_id, total_charge, paid_by_payer, paid_by_patient, "
        "paid_patient_copay, amount_allowed, total_paid FROM cost ORDER BY 1"
    ).fetchall()
    assert costs == [
        ("mm_claim", 200.0, 120.0, 30.0, 10.0, 150.0, 150.0),
        ("mm_claim_line", 200.0, 120.0, 30.0, 10.0, 150.0, 150.0),
    ]


def test_transfers_move_no_money_and_are_read_from_transfers(tmp_path):
    folder = _claim_export(tmp_path)
    wh, _ = load(folder)
    charged = wh.con.execute("SELECT sum(total_charge) FROM cost WHERE cost_domain_id = "
                             "'mm_claim_line'").fetchone()  # fmt: skip
    assert charged == (200.0,)  # the transfer's AMOUNT is not a second charge
    # a transfer whose TRANSFERS column is missing is quarantined, whatever its AMOUNT says
    rows = read_rows(folder / "claims_transactions.csv")
    rows[3]["TRANSFERS"] = ""
    rows[3]["AMOUNT"] = "30.00"
    write(folder, "claims_transactions.csv", rows)
    _, rep = load(folder)
    assert rep.quarantine_reasons == {"missing_field": 1}


def test_unknown_payment_method_is_quarantined(tmp_path):
    folder = _claim_export(tmp_path)
    rows = read_rows(folder / "claims_transactions.csv")
    rows[2]["METHOD"] = "BITCOIN"
    write(folder, "claims_transactions.csv", rows)
    wh, rep = load(folder)
    assert rep.quarantine_reasons == {"invalid_value": 1}
    assert wh.con.execute("SELECT paid_amount FROM mm_claim_line").fetchone() == (0.0,)


def test_reloading_claim_transactions_adds_nothing(tmp_path):
    folder = _claim_export(tmp_path)
    wh = Warehouse(":memory:")
    synthea_csv.load(folder, wh)
    before = wh.counts()
    rep = synthea_csv.load(folder, wh)
    assert rep.reconciles and rep.totals.loaded == 0
    assert wh.counts()["cost"] == before["cost"] == 2


# ---- 2. identity of Id-less rows ----
def _obs(code: str, value: str, **kw: str) -> dict[str, str]:
    return {"DATE": "2020-03-01T10:00:00Z", "PATIENT": P1, "ENCOUNTER": E1,
            "CATEGORY": "laboratory", "CODE": code, "DESCRIPTION": "x", "VALUE": value,
            "UNITS": "mL/min", "TYPE": "numeric", **kw}  # fmt: skip


def test_distinct_rows_with_the_same_patient_code_and_time_all_load(tmp_path):
    egfr = [_obs("33914-3", "61.2"), _obs("33914-3", "58.9")]  # two eGFR values at one time
    meds = [
        {"START": "2020-03-01T10:00:00Z", "PATIENT": P1, "ENCOUNTER": E1, "CODE": "314076",
         "DESCRIPTION": "lisinopril", "REASONCODE": reason}
        for reason in ("38341003", "44054006")  # the same drug for two reasons
    ]  # fmt: skip
    wh, rep = load(export(tmp_path, observations=egfr, medications=meds))
    assert rep.counts["Observation"].loaded == 2 and rep.counts["Medication"].loaded == 2
    values = wh.con.execute("SELECT value_as_number FROM measurement ORDER BY 1").fetchall()
    assert values == [(58.9,), (61.2,)]


def test_byte_identical_rows_are_one_record(tmp_path):
    wh, rep = load(export(tmp_path, observations=[_obs("33914-3", "61.2")] * 2))
    c = rep.counts["Observation"]
    assert (c.read, c.loaded, c.skipped) == (2, 1, 1)
    assert rep.skip_reasons == {"duplicate": 1}


# ---- 3. visit concepts of every encounter class ----
@pytest.mark.parametrize(
    ("klass", "concept", "source"),
    [
        ("snf", 8863, "ActCode:IMP"),
        ("hospice", 8546, "ActCode:HH"),
        ("home", 581476, "ActCode:HH"),
        ("urgentcare", 8782, "ActCode:AMB"),
        ("wellness", 9202, "ActCode:AMB"),
        ("virtual", 5083, "ActCode:VR"),
        ("emergency", 9203, "ActCode:EMER"),
        ("inpatient", 9201, "ActCode:IMP"),
    ],
)
def test_every_synthea_encounter_class_has_a_visit_concept(tmp_path, klass, concept, source):
    enc = {"Id": E1, "START": "2020-03-01T10:00:00Z", "PATIENT": P1, "ENCOUNTERCLASS": klass,
           "CODE": "185349003"}  # fmt: skip
    wh, rep = load(export(tmp_path, encounters=[enc]))
    got = wh.con.execute("SELECT visit_concept_id, visit_source_value FROM visit_occurrence")
    assert got.fetchone() == (concept, source)
    assert rep.warning_reasons == {}


def test_an_unknown_encounter_class_is_warned_not_silent(tmp_path):
    enc = {"Id": E1, "START": "2020-03-01T10:00:00Z", "PATIENT": P1, "ENCOUNTERCLASS": "moon",
           "CODE": "185349003"}  # fmt: skip
    wh, rep = load(export(tmp_path, encounters=[enc]))
    assert wh.con.execute("SELECT visit_concept_id FROM visit_occurrence").fetchone() == (0,)
    assert rep.warning_reasons == {"invalid_code": 1}


# ---- 4. code systems ----
def test_snomed_codes_in_observations_are_not_labelled_loinc(tmp_path):
    rows = [
        _obs("8302-2", "170.1", UNITS="cm"),
        _obs("228450008", "Never smoked", TYPE="text", CATEGORY="social-history", UNITS=""),
    ]
    wh, _ = load(export(tmp_path, observations=rows))
    got = wh.con.execute(
        "SELECT measurement_source_value FROM measurement UNION ALL "
        "SELECT observation_source_value FROM observation ORDER BY 1"
    ).fetchall()
    assert got == [("LOINC:8302-2",), ("SNOMED:228450008",)]


@given(st.from_regex(r"[0-9]{1,5}-[0-9]", fullmatch=True))
def test_any_loinc_shaped_code_is_loinc(code):
    assert vocabulary_of_code(code, ("LOINC", "SNOMED")) == "LOINC"


@given(st.from_regex(r"[1-9][0-9]{5,17}", fullmatch=True))
def test_any_sctid_shaped_code_in_observations_is_snomed(code):
    assert vocabulary_of_code(code, ("LOINC", "SNOMED")) == "SNOMED"


# ---- 5. observation periods ----
def test_csv_persons_get_an_observation_period(tmp_path):
    later = {"Id": "e2", "START": "2021-07-09T10:00:00Z", "STOP": "2021-07-12T10:00:00Z",
             "PATIENT": P1, "ENCOUNTERCLASS": "inpatient", "CODE": "185349003"}  # fmt: skip
    first = {"Id": E1, "START": "2020-03-01T10:00:00Z", "PATIENT": P1,
             "ENCOUNTERCLASS": "ambulatory", "CODE": "185349003"}  # fmt: skip
    wh, rep = load(export(tmp_path, encounters=[first, later]))
    got = wh.con.execute(
        "SELECT observation_period_start_date, observation_period_end_date, "
        "period_type_concept_id FROM observation_period"
    ).fetchall()
    assert got == [(dt.date(2020, 3, 1), dt.date(2021, 7, 12), 32817)]
    assert rep.rows_written["observation_period"] == 1


# ---- 6. payer transitions ----
def test_payer_transitions_become_payer_plan_periods(tmp_path):
    pt = [
        {"PATIENT": P1, "MEMBERID": "M-1", "START_DATE": "2019-01-01T00:00:00Z",
         "END_DATE": "2020-12-31T00:00:00Z", "PAYER": PAYER},
        {"PATIENT": P1, "START_DATE": "2021-01-01T00:00:00Z", "PAYER": PAYER},
        {"PATIENT": P1, "START_DATE": "2021-01-01T00:00:00Z", "END_DATE": "2020-01-01",
         "PAYER": PAYER},  # ends before it starts
    ]  # fmt: skip
    wh, rep = load(export(tmp_path, payer_transitions=pt))
    got = wh.con.execute(
        "SELECT payer_plan_period_start_date, payer_plan_period_end_date, payer_source_value, "
        "family_source_value FROM payer_plan_period ORDER BY 1"
    ).fetchall()
    org = f"Organization/{PAYER}"
    assert got == [
        (dt.date(2019, 1, 1), dt.date(2020, 12, 31), org, "M-1"),
        (dt.date(2021, 1, 1), dt.date(2099, 12, 31), org, None),  # open-ended, as from FHIR
    ]
    assert rep.quarantine_reasons == {"invalid_date": 1}
    assert wh.con.execute("SELECT count(*) FROM care_site").fetchone() == (0,)  # never a site


def test_no_insurance_payer_is_self_pay_named_as_fhir_names_it(tmp_path):
    """Synthea's NO_INSURANCE payer: the patient pays; FHIR's Coverage names the Patient."""
    payers = [{"Id": "noins-1", "NAME": "NO_INSURANCE"}, {"Id": PAYER, "NAME": "Acme"}]
    pt = [
        {"PATIENT": P1, "START_DATE": "2019-01-01T00:00:00Z", "PAYER": "noins-1"},
        {"PATIENT": P1, "START_DATE": "2021-01-01T00:00:00Z", "PAYER": PAYER},
    ]
    wh, _ = load(export(tmp_path, payers=payers, payer_transitions=pt))
    got = wh.con.execute("SELECT payer_source_value FROM payer_plan_period ORDER BY 1").fetchall()
    assert got == [(f"Organization/{PAYER}",), (f"Patient/{P1}",)]


def test_older_payer_transitions_layout_with_years(tmp_path):
    folder = export(tmp_path)
    with open(folder / "payer_transitions.csv", "w", encoding="utf-8") as f:
        f.write(f"PATIENT,START_YEAR,END_YEAR,PAYER,OWNERSHIP\n{P1},2001,2003,{PAYER},Self\n")
    wh, _ = load(folder)
    got = wh.con.execute(
        "SELECT payer_plan_period_start_date, payer_plan_period_end_date FROM payer_plan_period"
    ).fetchall()
    assert got == [(dt.date(2001, 1, 1), dt.date(2003, 12, 31))]


# ---- the shared domain rule ----
def test_survey_scores_are_observations_not_measurements(tmp_path):
    rows = [_obs("72514-3", "4", CATEGORY="survey", UNITS="{score}")]
    wh, _ = load(export(tmp_path, observations=rows))
    assert wh.counts()["measurement"] == 0
    got = wh.con.execute("SELECT value_as_number, unit_source_value FROM observation")
    assert got.fetchone() == (4.0, "{score}")


def test_transactions_staged_in_small_batches_sum_the_same(tmp_path, monkeypatch):
    from medmine.ingest.synthea_csv import _finish

    monkeypatch.setattr(_finish, "STAGE_ROWS", 2)  # memory stays bounded: stage every 2 rows
    wh, _ = load(_claim_export(tmp_path))
    head = wh.con.execute(
        "SELECT total_billed, total_allowed, total_paid, patient_paid FROM mm_claim"
    ).fetchone()
    assert head == (200.0, 150.0, 120.0, 30.0)
    prov = wh.con.execute(
        "SELECT count(*) FROM mm_source_record WHERE table_name = 'cost'"
    ).fetchone()
    assert prov == (2,)  # every cost row has its provenance


def test_observation_period_when_patients_and_events_come_in_two_loads(tmp_path):
    folder = export(tmp_path)
    wh = Warehouse(":memory:")
    synthea_csv.load(folder / "patients.csv", wh)  # no events yet: no period
    assert wh.counts()["observation_period"] == 0
    synthea_csv.load(folder / "encounters.csv", wh)
    got = wh.con.execute(
        "SELECT observation_period_start_date, observation_period_end_date FROM observation_period"
    ).fetchall()
    assert got == [(dt.date(2020, 3, 1), dt.date(2020, 3, 1))]


def test_charge_codes_take_their_vocabulary_from_their_shape(tmp_path):
    folder = _claim_export(tmp_path)
    rows = read_rows(folder / "claims_transactions.csv")
    extra = [
        {**rows[0], "ID": "T9", "CHARGEID": "2", "PROCEDURECODE": "140", "AMOUNT": "136.00"},
        {**rows[0], "ID": "T10", "CHARGEID": "3", "PROCEDURECODE": "1049", "AMOUNT": "4.00"},
    ]
    write(folder, "claims_transactions.csv", rows + extra)
    wh, _ = load(folder)
    got = wh.con.execute(
        "SELECT procedure_vocabulary_id, procedure_code FROM mm_claim_line ORDER BY line_number"
    ).fetchall()
    assert got == [("SNOMED", "185349003"), ("CVX", "140"), ("RxNorm", "1049")]
