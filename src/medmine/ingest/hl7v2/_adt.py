"""PID and PV1 semantics: patients and visits built up over ADT messages within one load.

Patients and visits are kept as state keyed by MRN and visit key while a load reads its
messages; the final rows are written when the load finishes, and rows already in the warehouse
are updated in SQL. A visit is keyed by facility + patient + visit number (`visit_key`), so two
patients sharing a visit number, at one site or at two, are two visits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from medmine.ingest import codes
from medmine.ingest.hl7v2._fields import Msg, parse_ts
from medmine.warehouse import Reason, Rejected, stable_id

KIND = "hl7v2"
SEX = {"M": codes.GENDER["M"], "F": codes.GENDER["F"]}
#: CDC race and ethnicity codes (HL7 tables 0005 and 0189) -> OMOP concepts; table 0189 also
#: has the one-letter H / N codes.
RACE_CODES = codes.OMB_RACE
ETHNICITY_CODES = {
    **codes.OMB_ETHNICITY,
    "H": codes.ETHNICITY["hispanic"],
    "N": codes.ETHNICITY["not hispanic"],
}
#: PV1-2 patient class (HL7 table 0004) -> visit concept.
PATIENT_CLASS = {"I": codes.VISIT["IMP"], "E": codes.VISIT["EMER"], "O": codes.VISIT["AMB"],
                 "R": codes.VISIT["AMB"]}  # fmt: skip
DELETE = '""'  # HL7's explicit "delete this value"

Origin = tuple[str, str, str, str]  # record type, file, location, source key


def patient_id(mrn: str) -> int:
    """Person id of an MRN."""
    return stable_id(f"{KIND}:Patient", mrn)


def visit_id(key: str) -> int:
    """Visit id of a visit key (see `visit_key`)."""
    return stable_id(f"{KIND}:Visit", key)


def visit_key(facility: str, mrn: str, number: str, admit: dt.datetime | None) -> str:
    """The key a visit is known by: ``facility|MRN|visit number``.

    Without a visit number (PV1-19 empty) the documented fallback is
    ``facility|MRN|admit YYYYMMDDHHMMSS`` from PV1-44; with neither, ``""`` (no key).

    >>> visit_key("UMC", "100001", "V1001", None)
    'UMC|100001|V1001'
    >>> visit_key("UMC", "100001", "", dt.datetime(2023, 3, 1, 11, 45))
    'UMC|100001|admit 20230301114500'
    """
    if number:
        return f"{facility}|{mrn}|{number}"
    if admit is not None:
        return f"{facility}|{mrn}|admit {admit:%Y%m%d%H%M%S}"
    return ""


@dataclass
class ParsedPid:
    """What one PID segment says about a patient (empty strings: not sent)."""

    mrn: str
    person_id: int
    birth: dt.datetime | None
    person: dict[str, Any]
    identity: dict[str, Any]
    identifiers: list[dict[str, Any]]
    death: dt.datetime | None


@dataclass
class PatientState:
    """A patient as seen so far in this load."""

    person: dict[str, Any]
    identity: dict[str, Any]
    identifiers: list[dict[str, Any]]
    origin: Origin
    death: dt.datetime | None = None
    orig_person: dict[str, Any] | None = None  # as found in the warehouse (None: new)
    orig_identity: dict[str, Any] | None = None
    updates: list[Origin] = field(default_factory=list)


@dataclass
class VisitState:
    """A visit as seen so far in this load."""

    row: dict[str, Any]
    creator: Origin | None = None
    orig: dict[str, Any] | None = None  # as found in the warehouse (None: new)
    updates: list[tuple[Origin, str]] = field(default_factory=list)  # with the message's MRN
    deleted: bool = False  # admission cancelled (A11)
    identifier: dict[str, Any] | None = None  # the PV1-19 visit number, for mm_identifier


def parse_pid(msg: Msg) -> ParsedPid:
    """Read the PID segment; raises `Rejected` when it is missing or invalid."""
    pid = msg.first("PID")
    if pid is None:
        raise Rejected(Reason.MISSING_FIELD, "PID segment is missing")
    ids = []
    for r in range(1, msg.reps(pid, 3) + 1):
        value = msg.get(pid, 3, r, 1)
        if value:
            ids.append((value, msg.get(pid, 3, r, 4), msg.get(pid, 3, r, 5).upper()))
    if not ids:
        raise Rejected(Reason.MISSING_FIELD, "PID-3 has no patient identifier")
    mrn = next((v for v, _, t in ids if t == "MR"), ids[0][0])
    pid_id = patient_id(mrn)
    birth = parse_ts(msg.get(pid, 7), "PID-7 birth date")
    sex = msg.get(pid, 8).upper()
    if sex and sex not in ("M", "F", "U", "O", "A", "N", DELETE):
        raise Rejected(Reason.INVALID_VALUE, "PID-8 sex is not an HL7 table 0001 code")
    death = parse_ts(msg.get(pid, 29), "PID-29 death date/time")
    name_rep = 1
    for r in range(1, msg.reps(pid, 5) + 1):
        if msg.get(pid, 5, r, 7).upper() == "L":
            name_rep = r
            break
    given = " ".join(x for x in (msg.get(pid, 5, name_rep, 2), msg.get(pid, 5, name_rep, 3)) if x)
    street = msg.get(pid, 11, 1, 1)
    other = msg.get(pid, 11, 1, 2)
    phone = msg.get(pid, 13, 1, 1) or (msg.get(pid, 13, 1, 6) + msg.get(pid, 13, 1, 7))
    ssn = msg.get(pid, 19) or next((v for v, _, t in ids if t == "SS"), "")
    race_code, race_text = msg.get(pid, 10, 1, 1), msg.get(pid, 10, 1, 2)
    eth_code = msg.get(pid, 22, 1, 1)
    person = {
        "person_id": pid_id,
        "gender_concept_id": SEX.get(sex, 0) if sex else None,
        "year_of_birth": birth.year if birth else None,
        "month_of_birth": birth.month if birth else None,
        "day_of_birth": birth.day if birth else None,
        "race_concept_id": RACE_CODES.get(race_code, codes.RACE.get(race_text.lower(), 0))
        if race_code or race_text
        else None,
        "ethnicity_concept_id": ETHNICITY_CODES.get(eth_code, 0) if eth_code else None,
        "gender_source_value": f"HL70001:{sex}" if sex else None,
        "race_source_value": f"HL70005:{race_code or race_text}"
        if race_code or race_text
        else None,
        "ethnicity_source_value": f"HL70189:{eth_code}" if eth_code else None,
    }
    identity = {
        "person_id": pid_id,
        "source": KIND,
        "family_name": msg.get(pid, 5, name_rep, 1),
        "given_name": given,
        "name_suffix": msg.get(pid, 5, name_rep, 4),
        "name_prefix": msg.get(pid, 5, name_rep, 5),
        "birth_date": birth.date() if birth else None,
        "sex": sex,
        "address_line": ", ".join(x for x in (street, other) if x),
        "city": msg.get(pid, 11, 1, 3),
        "state": msg.get(pid, 11, 1, 4),
        "zip": msg.get(pid, 11, 1, 5),
        "phone": phone,
        "ssn": ssn,
        "mrn": mrn,
        "deceased_datetime": death,
    }
    identifiers = [
        {
            "table_name": "person",
            "row_id": pid_id,
            "system": authority or "urn:medmine:hl7v2:PID-3",
            "value": value,
            "type_code": id_type or None,
        }
        for value, authority, id_type in ids
        if id_type != "SS"
    ]
    return ParsedPid(mrn, pid_id, birth, person, identity, identifiers, death)


def merge(target: dict[str, Any], new: dict[str, Any]) -> None:
    """Apply sent values onto `target`: empty means "not sent", ``""`` means delete."""
    for k, v in new.items():
        if v is None or v == "":
            continue
        target[k] = None if v == DELETE else v


def new_person_rows(p: ParsedPid) -> tuple[dict[str, Any], dict[str, Any]]:
    """Person and identity rows for a patient first seen in `p` (its birth date is required)."""
    if p.birth is None:
        raise Rejected(
            Reason.MISSING_FIELD, "PID-7 birth date is empty and the patient is not yet known"
        )
    person: dict[str, Any] = {"gender_concept_id": 0, "race_concept_id": 0,
                              "ethnicity_concept_id": 0}  # fmt: skip
    merge(person, p.person)
    identity: dict[str, Any] = {}
    merge(identity, p.identity)
    return person, identity


@dataclass
class ParsedPv1:
    """What PV1 (and EVN/MSH times) say about a visit; `key` is ``""`` when it has none."""

    key: str
    number: str
    facility: str
    patient_class: str
    admit: dt.datetime | None
    discharge: dt.datetime | None
    event_time: dt.datetime | None
    admit_source: str
    disposition: str


def visit_facility(msg: Msg, pv1: Any) -> str:
    """The facility a visit number belongs to: PV1-19.4, else PV1-39, else MSH-4, else MSH-3."""
    msh = msg.segments[0]
    return (
        msg.get(pv1, 19, 1, 4) or msg.get(pv1, 39) or msg.get(msh, 4, 1, 1) or msg.get(msh, 3, 1, 1)
    )


def parse_pv1(msg: Msg, mrn: str) -> ParsedPv1:
    """Read PV1 (visit number PV1-19, class PV1-2, PV1-44/45 times) and the event time."""
    pv1 = msg.first("PV1")
    evn = msg.first("EVN")
    msh = msg.segments[0]
    event = parse_ts(msg.get(evn, 2), "EVN-2 recorded date/time") if evn is not None else None
    event = event or parse_ts(msg.get(msh, 7), "MSH-7 message date/time")
    if pv1 is None:
        return ParsedPv1("", "", "", "", None, None, event, "", "")
    number = msg.get(pv1, 19, 1, 1)
    facility = visit_facility(msg, pv1)
    admit = parse_ts(msg.get(pv1, 44), "PV1-44 admit date/time")
    return ParsedPv1(
        key=visit_key(facility, mrn, number, admit),
        number=number,
        facility=facility,
        patient_class=msg.get(pv1, 2).upper(),
        admit=admit,
        discharge=parse_ts(msg.get(pv1, 45), "PV1-45 discharge date/time"),
        event_time=event,
        admit_source=msg.get(pv1, 14),
        disposition=msg.get(pv1, 36),
    )


def new_visit_row(v: ParsedPv1, person_id: int, *, from_discharge: bool = False) -> dict[str, Any]:
    """The visit row an A01/A04 creates (or an update creates for a visit never admitted).

    The start is PV1-44, else the event time (EVN-2, MSH-7); for a discharge whose admission
    was never seen (`from_discharge`), PV1-44, else the discharge time itself.
    """
    start = v.admit or ((v.discharge or v.event_time) if from_discharge else v.event_time)
    if start is None:
        raise Rejected(Reason.MISSING_FIELD, "PV1-44 admit date/time and EVN-2/MSH-7 are empty")
    row: dict[str, Any] = {
        "visit_occurrence_id": visit_id(v.key),
        "person_id": person_id,
        "visit_concept_id": PATIENT_CLASS.get(v.patient_class, 0),
        "visit_start_date": start.date(),
        "visit_start_datetime": start,
        "visit_end_date": start.date(),  # an open visit ends on its start date until A03
        "visit_end_datetime": None,
        "visit_type_concept_id": codes.TYPE_EHR,
        "visit_source_value": f"HL70004:{v.patient_class}" if v.patient_class else None,
        "visit_source_concept_id": 0,
        "admitted_from_concept_id": 0,
        "admitted_from_source_value": f"HL70023:{v.admit_source}" if v.admit_source else None,
        "discharged_to_concept_id": 0,
        "discharged_to_source_value": None,
    }
    if v.discharge:
        close_visit(row, v.discharge, v.disposition)
    return row


def update_visit_row(row: dict[str, Any], v: ParsedPv1) -> None:
    """Apply an A08's (or repeated A01's) PV1 values to a visit row."""
    if v.patient_class:
        row["visit_concept_id"] = PATIENT_CLASS.get(v.patient_class, 0)
        row["visit_source_value"] = f"HL70004:{v.patient_class}"
    if v.admit:
        row["visit_start_date"] = v.admit.date()
        row["visit_start_datetime"] = v.admit
        if row["visit_end_datetime"] is None:
            row["visit_end_date"] = v.admit.date()
    if v.admit_source:
        row["admitted_from_source_value"] = f"HL70023:{v.admit_source}"
    if v.discharge:
        close_visit(row, v.discharge, v.disposition)
    elif v.disposition:
        row["discharged_to_source_value"] = f"HL70112:{v.disposition}"


def reopen_visit(row: dict[str, Any]) -> None:
    """Undo a discharge (A13): the visit is open again, ending on its start date."""
    row["visit_end_date"] = row["visit_start_date"]
    row["visit_end_datetime"] = None
    row["discharged_to_source_value"] = None


def close_visit(row: dict[str, Any], end: dt.datetime, disposition: str) -> None:
    """Set a visit's end (A03); the end may not precede the start."""
    start = row["visit_start_datetime"] or dt.datetime.combine(row["visit_start_date"], dt.time())
    if end < start:
        raise Rejected(Reason.INVALID_DATE, "discharge date/time precedes the admission")
    row["visit_end_date"] = end.date()
    row["visit_end_datetime"] = end
    if disposition:
        row["discharged_to_source_value"] = f"HL70112:{disposition}"
