"""Row mappers for the Synthea CSV export: one function per file, source row -> warehouse rows.

Each mapper returns ``(primary rows, secondary rows, source key)`` or raises `Rejected`.
Column names follow Synthea's CSV data dictionary; columns added by newer Synthea versions
(``MIDDLE``, ``SYSTEM``, ``CATEGORY``...) are used when present.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from medmine.ingest import codes
from medmine.ingest.synthea_csv._reader import KIND, SyntheaReader, sid
from medmine.ingest.validate import amount_field, date_field, datetime_field
from medmine.warehouse import Reason, Rejected

Rows = list[tuple[str, dict[str, Any]]]
Mapped = tuple[Rows, Rows, str]

RACE = {
    "white": codes.RACE["white"],
    "black": codes.RACE["black"],
    "asian": codes.RACE["asian"],
    "native": codes.RACE["american indian or alaska native"],
    "hawaiian": codes.RACE["native hawaiian or other pacific islander"],
}
ETHNICITY = {
    "hispanic": codes.ETHNICITY["hispanic"],
    "nonhispanic": codes.ETHNICITY["not hispanic"],
}
ENCOUNTER_CLASS = {
    "inpatient": codes.VISIT["IMP"],
    "emergency": codes.VISIT["EMER"],
    "urgentcare": codes.VISIT["EMER"],
    "ambulatory": codes.VISIT["AMB"],
    "outpatient": codes.VISIT["AMB"],
    "wellness": codes.VISIT["AMB"],
    "home": codes.VISIT["HH"],
    "virtual": codes.VISIT["VR"],
}
SYSTEMS = {
    "SNOMED-CT": "SNOMED",
    "SNOMED": "SNOMED",
    "RXNORM": "RxNorm",
    "LOINC": "LOINC",
    "ICD-10": "ICD10CM",
    "CVX": "CVX",
    "DICOM-DCM": "DICOM",
    "UNII": "UNII",
}
CLAIM_TYPES = {"1": "professional", "2": "institutional"}


def req(rec: dict[str, str], col: str) -> str:
    """A required column's value."""
    v = (rec.get(col) or "").strip()
    if not v:
        raise Rejected(Reason.MISSING_FIELD, f"{col} is empty")
    return v


def opt(rec: dict[str, str], col: str) -> str | None:
    """An optional column's value or None."""
    return (rec.get(col) or "").strip() or None


def when(rec: dict[str, str], col: str, required: bool = True) -> dt.datetime | None:
    """A date (``YYYY-MM-DD``, as midnight) or ISO date-time column as a naive UTC datetime."""
    v = (rec.get(col) or "").strip()
    if len(v) == 10:
        d = date_field(v, col, formats=("%Y-%m-%d",))
        assert d is not None
        return dt.datetime.combine(d, dt.time())
    return datetime_field(v, col, required=required)


def money(rec: dict[str, str], col: str, allow_negative: bool = False) -> float | None:
    """An amount column (non-negative unless allowed)."""
    return amount_field(rec.get(col), col, allow_negative=allow_negative)


def vocab(rec: dict[str, str], default: str) -> str:
    """OMOP vocabulary of the row's SYSTEM column (newer exports) or the file's default."""
    system = (rec.get("SYSTEM") or "").strip()
    return SYSTEMS.get(system.upper(), system) if system else default


def _end_after(start: dt.datetime, end: dt.datetime | None, col: str) -> None:
    if end is not None and end < start:
        raise Rejected(Reason.INVALID_DATE, f"{col} precedes the start")


# ---- reference files ----
def organization(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    oid = req(rec, "Id")
    loc = {
        "location_id": sid("Location", f"organization:{oid}"),
        "address_1": opt(rec, "ADDRESS"),
        "city": opt(rec, "CITY"),
        "state": opt(rec, "STATE"),
        "zip": opt(rec, "ZIP"),
        "latitude": money(rec, "LAT", allow_negative=True),
        "longitude": money(rec, "LON", allow_negative=True),
        "location_source_value": f"organization:{oid}",
    }
    site = {
        "care_site_id": sid("Organization", oid),
        "care_site_name": opt(rec, "NAME"),
        "location_id": loc["location_id"],
        "care_site_source_value": oid,
    }
    r.organizations.add(oid)
    return [("care_site", site)], [("location", loc)], oid


def provider(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    pid = req(rec, "Id")
    gender = opt(rec, "GENDER")
    row = {
        "provider_id": sid("Provider", pid),
        "provider_name": opt(rec, "NAME"),
        "care_site_id": r.ref("organizations", "care_site", opt(rec, "ORGANIZATION"), "Provider"),
        "gender_concept_id": codes.GENDER.get(gender or "", 0),
        "gender_source_value": gender,
        "provider_source_value": pid,
        "specialty_concept_id": 0,
        "specialty_source_value": opt(rec, "SPECIALITY"),
    }
    r.providers.add(pid)
    return [("provider", row)], [], pid


# ---- patients and encounters ----
def patient(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    pid_src = req(rec, "Id")
    birth = when(rec, "BIRTHDATE")
    death = when(rec, "DEATHDATE", required=False)
    assert birth is not None
    _end_after(birth, death, "DEATHDATE")
    gender = (rec.get("GENDER") or "").strip().upper()
    if gender not in ("M", "F"):
        raise Rejected(Reason.INVALID_VALUE, "GENDER is not M or F")
    race = (rec.get("RACE") or "").strip().lower()
    eth = (rec.get("ETHNICITY") or "").strip().lower()
    pid = sid("Patient", pid_src)
    person = {
        "person_id": pid,
        "gender_concept_id": codes.GENDER[gender],
        "year_of_birth": birth.year,
        "month_of_birth": birth.month,
        "day_of_birth": birth.day,
        "birth_datetime": birth,
        "race_concept_id": RACE.get(race, 0),
        "ethnicity_concept_id": ETHNICITY.get(eth, 0),
        "person_source_value": pid_src,
        "gender_source_value": gender,
        "race_source_value": race or None,
        "ethnicity_source_value": eth or None,
    }
    given = " ".join(x for x in (opt(rec, "FIRST"), opt(rec, "MIDDLE")) if x) or None
    identity = {
        "person_id": pid,
        "source": KIND,
        "given_name": given,
        "family_name": opt(rec, "LAST"),
        "name_prefix": opt(rec, "PREFIX"),
        "name_suffix": opt(rec, "SUFFIX"),
        "birth_date": birth.date(),
        "sex": gender,
        "address_line": opt(rec, "ADDRESS"),
        "city": opt(rec, "CITY"),
        "state": opt(rec, "STATE"),
        "zip": opt(rec, "ZIP"),
        "ssn": opt(rec, "SSN"),
        "drivers_license": opt(rec, "DRIVERS"),
        "passport": opt(rec, "PASSPORT"),
        "deceased_datetime": death,
    }
    secondary: Rows = [("mm_person_identity", identity)]
    if death:
        secondary.append(
            (
                "death",
                {
                    "person_id": pid,
                    "death_date": death.date(),
                    "death_datetime": death,
                    "death_type_concept_id": codes.TYPE_EHR,
                },
            )
        )
    r.patients.add(pid_src)
    return [("person", person)], secondary, pid_src


def encounter(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    eid = req(rec, "Id")
    person = r.person(rec, "PATIENT")
    start = when(rec, "START")
    stop = when(rec, "STOP", required=False)
    assert start is not None
    _end_after(start, stop, "STOP")
    klass = (rec.get("ENCOUNTERCLASS") or "").strip().lower()
    code = opt(rec, "CODE")
    if code:
        r.concepts.add("SNOMED", code, opt(rec, "DESCRIPTION"))
    row = {
        "visit_occurrence_id": sid("Encounter", eid),
        "person_id": person,
        "visit_concept_id": ENCOUNTER_CLASS.get(klass, 0),
        "visit_start_date": start.date(),
        "visit_start_datetime": start,
        "visit_end_date": (stop or start).date(),
        "visit_end_datetime": stop,
        "visit_type_concept_id": codes.TYPE_EHR,
        "provider_id": r.ref("providers", "provider", opt(rec, "PROVIDER"), "Encounter"),
        "care_site_id": r.ref("organizations", "care_site", opt(rec, "ORGANIZATION"), "Encounter"),
        "visit_source_value": codes.source_value("SNOMED", code) if code else klass or None,
        "visit_source_concept_id": 0,
    }
    r.encounters.add(eid)
    return [("visit_occurrence", row)], [], eid


# ---- clinical events ----
def _event(r: SyntheaReader, rec: dict[str, str], start_col: str, default_vocab: str, rtype: str):
    person = r.person(rec, "PATIENT")
    start = when(rec, start_col)
    assert start is not None
    code = req(rec, "CODE")
    voc = vocab(rec, default_vocab)
    r.concepts.add(voc, code, opt(rec, "DESCRIPTION"))
    visit = r.ref("encounters", "visit_occurrence", opt(rec, "ENCOUNTER"), rtype)
    key = "|".join((rec.get("PATIENT", ""), rec.get("ENCOUNTER", ""), code, rec.get(start_col, "")))
    return person, start, code, voc, visit, key


def condition(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    person, start, code, voc, visit, key = _event(r, rec, "START", "SNOMED", "Condition")
    stop = when(rec, "STOP", required=False)
    _end_after(start, stop, "STOP")
    row = {
        "condition_occurrence_id": sid("Condition", key),
        "person_id": person,
        "condition_concept_id": 0,
        "condition_start_date": start.date(),
        "condition_start_datetime": start,
        "condition_end_date": stop.date() if stop else None,
        "condition_end_datetime": stop,
        "condition_type_concept_id": codes.TYPE_EHR,
        "visit_occurrence_id": visit,
        "condition_source_value": codes.source_value(voc, code),
        "condition_source_concept_id": 0,
    }
    return [("condition_occurrence", row)], [], key


def medication(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    person, start, code, voc, visit, key = _event(r, rec, "START", "RxNorm", "Medication")
    stop = when(rec, "STOP", required=False)
    _end_after(start, stop, "STOP")
    dispenses = money(rec, "DISPENSES")
    money(rec, "BASE_COST")
    money(rec, "TOTALCOST")
    row = {
        "drug_exposure_id": sid("Medication", key),
        "person_id": person,
        "drug_concept_id": 0,
        "drug_exposure_start_date": start.date(),
        "drug_exposure_start_datetime": start,
        "drug_exposure_end_date": (stop or start).date(),
        "drug_exposure_end_datetime": stop,
        "drug_type_concept_id": codes.TYPE_EHR,
        "refills": int(dispenses) - 1 if dispenses else None,
        "visit_occurrence_id": visit,
        "drug_source_value": codes.source_value(voc, code),
        "drug_source_concept_id": 0,
    }
    return [("drug_exposure", row)], [], key


def immunization(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    person, start, code, voc, visit, key = _event(r, rec, "DATE", "CVX", "Immunization")
    money(rec, "BASE_COST")
    row = {
        "drug_exposure_id": sid("Immunization", key),
        "person_id": person,
        "drug_concept_id": 0,
        "drug_exposure_start_date": start.date(),
        "drug_exposure_start_datetime": start,
        "drug_exposure_end_date": start.date(),
        "drug_type_concept_id": codes.TYPE_EHR,
        "visit_occurrence_id": visit,
        "drug_source_value": codes.source_value(voc, code),
        "drug_source_concept_id": 0,
    }
    return [("drug_exposure", row)], [], key


def procedure(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    person, start, code, voc, visit, key = _event(r, rec, "START", "SNOMED", "Procedure")
    stop = when(rec, "STOP", required=False)
    _end_after(start, stop, "STOP")
    money(rec, "BASE_COST")
    row = {
        "procedure_occurrence_id": sid("Procedure", key),
        "person_id": person,
        "procedure_concept_id": 0,
        "procedure_date": start.date(),
        "procedure_datetime": start,
        "procedure_end_date": stop.date() if stop else None,
        "procedure_end_datetime": stop,
        "procedure_type_concept_id": codes.TYPE_EHR,
        "visit_occurrence_id": visit,
        "procedure_source_value": codes.source_value(voc, code),
        "procedure_source_concept_id": 0,
    }
    return [("procedure_occurrence", row)], [], key


def observation(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    person, start, code, voc, visit, key = _event(r, rec, "DATE", "LOINC", "Observation")
    value = (rec.get("VALUE") or "").strip()
    vtype = (rec.get("TYPE") or "").strip().lower()
    unit = opt(rec, "UNITS")
    if vtype == "numeric":
        try:
            number = float(value)
        except ValueError:
            raise Rejected(Reason.INVALID_VALUE, "VALUE is not a number (TYPE numeric)") from None
        row = {
            "measurement_id": sid("Observation", key),
            "person_id": person,
            "measurement_concept_id": 0,
            "measurement_date": start.date(),
            "measurement_datetime": start,
            "measurement_type_concept_id": codes.TYPE_EHR,
            "value_as_number": number,
            "unit_concept_id": 0 if unit else None,
            "visit_occurrence_id": visit,
            "measurement_source_value": codes.source_value(voc, code),
            "measurement_source_concept_id": 0,
            "unit_source_value": unit,
            "value_source_value": value,
        }
        return [("measurement", row)], [], key
    obs = {
        "observation_id": sid("Observation", key),
        "person_id": person,
        "observation_concept_id": 0,
        "observation_date": start.date(),
        "observation_datetime": start,
        "observation_type_concept_id": codes.TYPE_SURVEY
        if (rec.get("CATEGORY") or "").strip().lower() == "survey"
        else codes.TYPE_EHR,
        "value_as_string": value or None,
        "unit_source_value": unit,
        "visit_occurrence_id": visit,
        "observation_source_value": codes.source_value(voc, code),
        "observation_source_concept_id": 0,
    }
    return [("observation", obs)], [], key


def allergy(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    person, start, code, voc, visit, key = _event(r, rec, "START", "SNOMED", "Allergy")
    stop = when(rec, "STOP", required=False)
    _end_after(start, stop, "STOP")
    reaction = opt(rec, "REACTION1")
    if reaction:
        r.concepts.add("SNOMED", reaction, opt(rec, "DESCRIPTION1"))
    row = {
        "observation_id": sid("Allergy", key),
        "person_id": person,
        "observation_concept_id": 0,
        "observation_date": start.date(),
        "observation_datetime": start,
        "observation_type_concept_id": codes.TYPE_EHR,
        "value_as_string": opt(rec, "CATEGORY") or opt(rec, "TYPE"),
        "qualifier_source_value": opt(rec, "SEVERITY1"),
        "value_source_value": codes.source_value("SNOMED", reaction) if reaction else None,
        "visit_occurrence_id": visit,
        "observation_source_value": codes.source_value(voc, code),
        "observation_source_concept_id": 0,
    }
    return [("observation", row)], [], key


# ---- claims ----
def claim(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    cid = req(rec, "Id")
    person = r.person(rec, "PATIENTID")
    service = when(rec, "SERVICEDATE")
    assert service is not None
    dx = [opt(rec, f"DIAGNOSIS{i}") for i in range(1, 9)]
    for code in dx:
        if code:
            r.concepts.add("SNOMED", code)
    for col in ("OUTSTANDING1", "OUTSTANDING2", "OUTSTANDINGP"):
        money(rec, col)
    row = {
        "claim_id": sid("Claim", cid),
        "person_id": person,
        "claim_source_value": cid,
        "claim_type": CLAIM_TYPES.get((rec.get("HEALTHCARECLAIMTYPEID1") or "").strip()),
        "claim_status": (opt(rec, "STATUS1") or "").lower() or None,
        "payer_source_value": opt(rec, "PRIMARYPATIENTINSURANCEID"),
        "rendering_provider_id": r.ref("providers", "provider", opt(rec, "PROVIDERID"), "Claim"),
        "claim_start_date": service.date(),
        "claim_end_date": service.date(),
        "visit_occurrence_id": r.ref(
            "encounters", "visit_occurrence", opt(rec, "APPOINTMENTID"), "Claim"
        ),
        "dx_vocabulary_id": "SNOMED",
        **{f"dx_{i}": code for i, code in enumerate(dx, 1)},
    }
    r.claims.add(cid)
    return [("mm_claim", row)], [], cid


def claim_transaction(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    tid = req(rec, "ID")
    cid = req(rec, "CLAIMID")
    charge = req(rec, "CHARGEID")
    person = r.person(rec, "PATIENTID")
    if cid not in r.claims and not r.exists("mm_claim", sid("Claim", cid)):
        raise Rejected(Reason.DANGLING_REFERENCE, "CLAIMID matches no claim")
    ttype = req(rec, "TYPE").upper()
    start = when(rec, "FROMDATE")
    end = when(rec, "TODATE", required=False)
    assert start is not None
    _end_after(start, end, "TODATE")
    try:
        line_number = int(charge)
    except ValueError:
        raise Rejected(Reason.INVALID_VALUE, "CHARGEID is not an integer") from None
    line_id = sid("ClaimLine", f"{cid}#{charge}")
    if ttype == "CHARGE":
        code = opt(rec, "PROCEDURECODE")
        if code:
            r.concepts.add("SNOMED", code, opt(rec, "NOTES"))
        units = money(rec, "UNITS")
        row = {
            "claim_line_id": line_id,
            "claim_id": sid("Claim", cid),
            "line_number": line_number,
            "person_id": person,
            "service_date": start.date(),
            "service_end_date": end.date() if end else None,
            "procedure_vocabulary_id": "SNOMED" if code else None,
            "procedure_code": code,
            "procedure_display": opt(rec, "NOTES"),
            "modifier_1": opt(rec, "MODIFIER1"),
            "modifier_2": opt(rec, "MODIFIER2"),
            "units": units,
            "billed_amount": money(rec, "AMOUNT"),
            "place_of_service": opt(rec, "PLACEOFSERVICE"),
            "dx_pointer": ",".join(
                x for x in (opt(rec, f"DIAGNOSISREF{i}") for i in range(1, 5)) if x
            )
            or None,
        }
        return [("mm_claim_line", row)], [], tid
    if ttype not in ("PAYMENT", "ADJUSTMENT", "TRANSFERIN", "TRANSFEROUT"):
        raise Rejected(Reason.INVALID_VALUE, "TYPE is not a Synthea transaction type")
    paid = money(rec, "PAYMENTS")
    adjusted = money(rec, "ADJUSTMENTS", allow_negative=True)
    cost = {
        "cost_id": sid("ClaimTransaction", tid),
        "cost_event_id": line_id,
        "cost_domain_id": "mm_claim_line",
        "cost_type_concept_id": codes.TYPE_CLAIM,
        "total_paid": paid if ttype == "PAYMENT" else None,
        "paid_by_payer": paid if ttype == "PAYMENT" else None,
        "total_charge": money(rec, "AMOUNT", allow_negative=True) if ttype != "PAYMENT" else None,
        "amount_allowed": None,
        "revenue_code_source_value": ttype,
        "drg_source_value": None,
    }
    if adjusted is not None and ttype == "ADJUSTMENT":
        cost["total_cost"] = adjusted
    return [("cost", cost)], [], tid
