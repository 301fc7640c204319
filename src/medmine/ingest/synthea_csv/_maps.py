"""Row mappers for the Synthea CSV export: one function per file, source row -> warehouse rows.

Each mapper returns ``(primary rows, secondary rows, source key)`` or raises `Rejected`.
Column names follow Synthea's CSV data dictionary; columns added by newer Synthea versions
(``MIDDLE``, ``SYSTEM``, ``CATEGORY``...) are used when present.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
#: ``RACE`` / ``ETHNICITY`` words -> CDC Race & Ethnicity codes (the codes FHIR's US Core carries).
RACE_CODES = {"white": "2106-3", "black": "2054-5", "asian": "2028-9", "native": "1002-5"}
RACE_CODES.update(hawaiian="2076-8", other="2131-1")
ETHNICITY_CODES = {"hispanic": "2135-2", "nonhispanic": "2186-5"}
GENDER_CODES = {"M": "male", "F": "female"}
#: Vocabularies each file documents for its CODE column (first = the file's main one); a code
#: without a SYSTEM column is placed by its shape among them (observations.csv holds SNOMED
#: codes next to LOINC ones).
DOCUMENTED = {
    "Condition": ("SNOMED", "ICD10CM"),
    "Medication": ("RxNorm",),
    "Immunization": ("CVX",),
    "Procedure": ("SNOMED",),
    "Observation": ("LOINC", "SNOMED"),
    "Allergy": ("RxNorm", "SNOMED"),
}
#: Observation categories whose values are observations, never measurements (as from FHIR).
OBSERVATION_CATEGORIES = frozenset({"survey", "social-history"})
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


def vocab(rec: dict[str, str], code: str, rtype: str) -> str:
    """OMOP vocabulary of the row's SYSTEM column (newer exports), else of the code's shape
    among the vocabularies the file documents (`DOCUMENTED`).
    """
    system = (rec.get("SYSTEM") or "").strip()
    if system:
        return SYSTEMS.get(system.upper(), system)
    return codes.vocabulary_of_code(code, DOCUMENTED[rtype])


def row_key(rec: dict[str, str]) -> str:
    """Identity of a row without an Id: a stable hash of all its columns (names and values), so
    only byte-identical rows are one record.
    """
    text = "\x1e".join(f"{k}\x1f{v}" for k, v in rec.items())
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


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
        "location_source_value": f"Organization/{oid}",
    }
    site = {
        "care_site_id": sid("Organization", oid),
        "care_site_name": opt(rec, "NAME"),
        "location_id": loc["location_id"],
        "care_site_source_value": f"Organization/{oid}",
    }
    r.organizations.add(oid)
    return [("care_site", site)], [("location", loc)], f"Organization/{oid}"


def provider(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    pid = req(rec, "Id")
    gender = (opt(rec, "GENDER") or "").upper()
    row = {
        "provider_id": sid("Provider", pid),
        "provider_name": opt(rec, "NAME"),
        "care_site_id": r.ref("organizations", "care_site", opt(rec, "ORGANIZATION"), "Provider"),
        "gender_concept_id": codes.GENDER.get(gender, 0) if gender else None,
        "gender_source_value": GENDER_CODES.get(gender, gender or None),
        "provider_source_value": f"Practitioner/{pid}",
        "specialty_source_value": opt(rec, "SPECIALITY"),
    }
    r.providers.add(pid)
    return [("provider", row)], [], f"Practitioner/{pid}"


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
    ref = f"Patient/{pid_src}"
    has_address = any(opt(rec, c) for c in ("ADDRESS", "CITY", "STATE", "ZIP"))
    loc_id = sid("Location", f"patient:{pid_src}") if has_address else None
    person = {
        "person_id": pid,
        "gender_concept_id": codes.GENDER[gender],
        "year_of_birth": birth.year,
        "month_of_birth": birth.month,
        "day_of_birth": birth.day,
        "birth_datetime": birth,
        "race_concept_id": RACE.get(race, 0),
        "ethnicity_concept_id": ETHNICITY.get(eth, 0),
        "location_id": loc_id,
        "person_source_value": ref,
        "gender_source_value": GENDER_CODES[gender],
        "race_source_value": _race_sv(RACE_CODES, race),
        "ethnicity_source_value": _race_sv(ETHNICITY_CODES, eth),
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
        "sex": GENDER_CODES[gender],
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
    if loc_id is not None:
        secondary.append(("location", _patient_location(rec, loc_id, ref)))
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
    return [("person", person)], secondary, ref


def _race_sv(table: dict[str, str], word: str) -> str | None:
    """``Race:<CDC code>`` for a known race / ethnicity word, else the word (None if empty)."""
    code = table.get(word)
    return codes.source_value("Race", code) if code else word or None


def _patient_location(rec: dict[str, str], loc_id: int, ref: str) -> dict[str, Any]:
    return {
        "location_id": loc_id,
        "address_1": opt(rec, "ADDRESS"),
        "city": opt(rec, "CITY"),
        "state": opt(rec, "STATE"),
        "zip": opt(rec, "ZIP"),
        "county": opt(rec, "COUNTY"),
        "latitude": money(rec, "LAT", allow_negative=True),
        "longitude": money(rec, "LON", allow_negative=True),
        "location_source_value": ref,
    }


def encounter(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    eid = req(rec, "Id")
    person = r.person(rec, "PATIENT")
    start = when(rec, "START")
    stop = when(rec, "STOP", required=False)
    assert start is not None
    _end_after(start, stop, "STOP")
    klass = (rec.get("ENCOUNTERCLASS") or "").strip().lower()
    known = codes.SYNTHEA_ENCOUNTER_CLASS.get(klass)
    if known is None:
        r.s.warn("Encounter", Reason.INVALID_CODE)  # visit concept 0, said out loud
    concept, act = known if known is not None else (0, None)
    code = opt(rec, "CODE")
    if code:
        r.concepts.add("SNOMED", code, opt(rec, "DESCRIPTION"))
    row = {
        "visit_occurrence_id": sid("Encounter", eid),
        "person_id": person,
        "visit_concept_id": concept,
        "visit_start_date": start.date(),
        "visit_start_datetime": start,
        "visit_end_date": (stop or start).date(),
        "visit_end_datetime": stop,
        "visit_type_concept_id": codes.TYPE_EHR,
        "provider_id": r.ref("providers", "provider", opt(rec, "PROVIDER"), "Encounter"),
        "care_site_id": r.ref("organizations", "care_site", opt(rec, "ORGANIZATION"), "Encounter"),
        "visit_source_value": codes.source_value("ActCode", act) if act else klass or None,
    }
    r.encounters.add(eid)
    if opt(rec, "ORGANIZATION"):
        r.encounter_org[eid] = opt(rec, "ORGANIZATION")
    return [("visit_occurrence", row)], [], f"Encounter/{eid}"


# ---- clinical events ----
def _event(r: SyntheaReader, rec: dict[str, str], start_col: str, rtype: str):
    person = r.person(rec, "PATIENT")
    start = when(rec, start_col)
    assert start is not None
    code = req(rec, "CODE")
    voc = vocab(rec, code, rtype)
    r.concepts.add(voc, code, opt(rec, "DESCRIPTION"))
    visit = r.ref("encounters", "visit_occurrence", opt(rec, "ENCOUNTER"), rtype)
    key = f"{rtype}#{row_key(rec)}"
    return person, start, code, voc, visit, key


def condition(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    person, start, code, voc, visit, key = _event(r, rec, "START", "Condition")
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
        "condition_status_source_value": "resolved" if stop else "active",
    }
    return [("condition_occurrence", row)], [], key


def medication(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    person, start, code, voc, visit, key = _event(r, rec, "START", "Medication")
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
    }
    return [("drug_exposure", row)], [], key


def immunization(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    person, start, code, voc, visit, key = _event(r, rec, "DATE", "Immunization")
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
    }
    return [("drug_exposure", row)], [], key


def procedure(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    person, start, code, voc, visit, key = _event(r, rec, "START", "Procedure")
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
    }
    return [("procedure_occurrence", row)], [], key


def observation(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    """A numeric value -> measurement; survey and social-history values and text -> observation
    (the domain rule of docs/mapping.md, the same as for FHIR).
    """
    person, start, code, voc, visit, key = _event(r, rec, "DATE", "Observation")
    value = (rec.get("VALUE") or "").strip()
    vtype = (rec.get("TYPE") or "").strip().lower()
    unit = opt(rec, "UNITS")
    number = None
    if vtype == "numeric":
        try:
            number = float(value)
        except ValueError:
            raise Rejected(Reason.INVALID_VALUE, "VALUE is not a number (TYPE numeric)") from None
    category = (rec.get("CATEGORY") or "").strip().lower()
    if number is not None and category not in OBSERVATION_CATEGORIES:
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
            "unit_source_value": unit,
        }
        return [("measurement", row)], [], key
    obs = {
        "observation_id": sid("Observation", key),
        "person_id": person,
        "observation_concept_id": 0,
        "observation_date": start.date(),
        "observation_datetime": start,
        "observation_type_concept_id": codes.TYPE_EHR,
        "visit_occurrence_id": visit,
        "observation_source_value": codes.source_value(voc, code),
    }
    if number is not None:
        obs.update(value_as_number=number, unit_source_value=unit)
    else:
        obs["value_as_string"] = value or None
    return [("observation", obs)], [], key


def allergy(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    """An allergy -> observation valued ``<type>:<category>`` (as from FHIR)."""
    person, start, code, voc, visit, key = _event(r, rec, "START", "Allergy")
    stop = when(rec, "STOP", required=False)
    _end_after(start, stop, "STOP")
    reaction = opt(rec, "REACTION1")
    if reaction:
        r.concepts.add("SNOMED", reaction, opt(rec, "DESCRIPTION1"))
    kind = (opt(rec, "TYPE") or "allergy").lower()
    category = opt(rec, "CATEGORY")
    row = {
        "observation_id": sid("Allergy", key),
        "person_id": person,
        "observation_concept_id": 0,
        "observation_date": start.date(),
        "observation_datetime": start,
        "observation_type_concept_id": codes.TYPE_EHR,
        "value_as_string": f"{kind}:{category.lower()}" if category else kind,
        "qualifier_source_value": opt(rec, "SEVERITY1"),
        "value_source_value": codes.source_value("SNOMED", reaction) if reaction else None,
        "visit_occurrence_id": visit,
        "observation_source_value": codes.source_value(voc, code),
    }
    return [("observation", row)], [], key
