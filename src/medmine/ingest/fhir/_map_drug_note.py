"""Medications, allergies and notes -> drug_exposure, observation and note. Same mapper
contract as `_map_clinical`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from medmine.ingest.codes import ENCODING_UTF8, LANGUAGE_ENGLISH, NOTE_CLASS_UNKNOWN, TYPE_EHR
from medmine.ingest.fhir._map_clinical import _ENC, _PRACT, Rows, _actor, _first, _sv
from medmine.ingest.fhir._refs import Context
from medmine.ingest.fhir._values import (
    Skip,
    first_date,
    number,
    opt_datetime,
    parse_datetime,
    text_of,
)
from medmine.warehouse import Reason, Rejected, stable_id

#: resource type -> (patient field, date fields, code field, visit field)
_DRUGS: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "MedicationRequest": ("subject", ("authoredOn",), "medicationCodeableConcept", "encounter"),
    "MedicationAdministration": (
        "subject",
        ("effectiveDateTime", "effectivePeriod.start"),
        "medicationCodeableConcept",
        "context",
    ),
    "MedicationStatement": (
        "subject",
        ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
        "medicationCodeableConcept",
        "context",
    ),
    "Immunization": ("patient", ("occurrenceDateTime", "recorded"), "vaccineCode", "encounter"),
}
_DAYS = {"d": 1, "wk": 7, "mo": 30, "a": 365}


def drug(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """MedicationRequest / MedicationAdministration / MedicationStatement / Immunization ->
    drug_exposure (end date = start + days supply when known, else start).
    """
    rtype = r["resourceType"]
    T = "drug_exposure"
    patient_f, date_fs, code_f, visit_f = _DRUGS[rtype]
    did = stable_id(f"fhir:{rtype}", fid)
    pid = ctx.person(r.get(patient_f), f"{rtype}.{patient_f}", T, did)
    code = ctx.code(r.get(code_f), f"{rtype}.{code_f}", required="medicationReference" not in r)
    drug_sv = _sv(code)
    if code is None:
        ref = r["medicationReference"]
        drug_sv = ref.get("display") or ref.get("reference") if isinstance(ref, dict) else None
        if not drug_sv:
            raise Rejected(Reason.MISSING_FIELD, f"{rtype}.medication[x] is missing")
    d, t = first_date(r, rtype, *date_fs)
    end_d, end_t = None, None
    ep = r.get("effectivePeriod")
    if isinstance(ep, dict):
        end_d, end_t = opt_datetime(ep.get("end"), f"{rtype}.effectivePeriod.end")
    days = quantity = refills = None
    sig = route = None
    disp = r.get("dispenseRequest")
    if isinstance(disp, dict):
        dur = disp.get("expectedSupplyDuration")
        if isinstance(dur, dict):
            v = number(dur.get("value"), f"{rtype}.dispenseRequest.expectedSupplyDuration")
            if v is not None and dur.get("code") in _DAYS:
                days = int(v * _DAYS[dur["code"]])
        q = disp.get("quantity")
        if isinstance(q, dict):
            quantity = number(q.get("value"), f"{rtype}.dispenseRequest.quantity")
        refills = disp.get("numberOfRepeatsAllowed")
        if not isinstance(refills, int) or isinstance(refills, bool):
            refills = None
    dosage = _first(r.get("dosageInstruction")) or r.get("dosage")
    if isinstance(dosage, dict):
        sig = dosage.get("text")
        route = ctx.code(dosage.get("route"), f"{rtype}.dosage.route")
    if rtype == "Immunization":
        route = ctx.code(r.get("route"), "Immunization.route")
        dq = r.get("doseQuantity")
        if isinstance(dq, dict):
            quantity = number(dq.get("value"), "Immunization.doseQuantity.value")
    if end_d is None:
        end_d = d + dt.timedelta(days=days) if days else d
    row = {
        "drug_exposure_id": did,
        "person_id": pid,
        "drug_concept_id": 0,
        "drug_exposure_start_date": d,
        "drug_exposure_start_datetime": t,
        "drug_exposure_end_date": end_d,
        "drug_exposure_end_datetime": end_t,
        "drug_type_concept_id": TYPE_EHR,
        "refills": refills,
        "quantity": quantity,
        "days_supply": days,
        "sig": sig if isinstance(sig, str) else None,
        "lot_number": r.get("lotNumber") if isinstance(r.get("lotNumber"), str) else None,
        "provider_id": ctx.ref(
            _actor(r.get("performer") or r.get("requester")),
            f"{rtype}.performer",
            table=T,
            row_id=did,
            column="provider_id",
            target=_PRACT,
        ),
        "visit_occurrence_id": ctx.ref(
            r.get(visit_f),
            f"{rtype}.{visit_f}",
            table=T,
            row_id=did,
            column="visit_occurrence_id",
            target=_ENC,
        ),
        "drug_source_value": drug_sv,
        "route_source_value": _sv(route),
    }
    return [(T, row)]


def allergy(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """AllergyIntolerance -> observation (value: allergy/intolerance and category)."""
    T = "observation"
    oid = stable_id("fhir:AllergyIntolerance", fid)
    pid = ctx.person(r.get("patient"), "AllergyIntolerance.patient", T, oid)
    code = ctx.code(r.get("code"), "AllergyIntolerance.code", required=True)
    d, t = first_date(r, "AllergyIntolerance", "onsetDateTime", "onsetPeriod.start", "recordedDate")
    cat = r.get("category")
    kind = r.get("type") if isinstance(r.get("type"), str) else "allergy"
    if isinstance(cat, list) and cat and isinstance(cat[0], str):
        kind = f"{kind}:{cat[0]}"
    crit = r.get("criticality")
    row = {
        "observation_id": oid,
        "person_id": pid,
        "observation_concept_id": 0,
        "observation_date": d,
        "observation_datetime": t,
        "observation_type_concept_id": TYPE_EHR,
        "value_as_string": kind,
        "qualifier_source_value": crit if isinstance(crit, str) else None,
        "visit_occurrence_id": ctx.ref(
            r.get("encounter"),
            "AllergyIntolerance.encounter",
            table=T,
            row_id=oid,
            column="visit_occurrence_id",
            target=_ENC,
        ),
        "observation_source_value": _sv(code),
    }
    return [(T, row)]


def _attachment_text(attachments: Any, field: str) -> tuple[str | None, str | None]:
    """Text and language of the first inline text attachment (base64 ``data`` decoded)."""
    for a in attachments if isinstance(attachments, list) else ():
        if isinstance(a, dict) and "attachment" in a:
            a = a["attachment"]
        if not isinstance(a, dict) or a.get("data") is None:
            continue
        ctype = str(a.get("contentType") or "text/plain").lower()
        if not ctype.startswith("text/"):
            continue
        data = a["data"]
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError, TypeError):
            try:  # MIME-style base64 with line breaks is still base64
                raw = base64.b64decode("".join(str(data).split()), validate=True)
            except (binascii.Error, ValueError):
                raise Rejected(
                    Reason.INVALID_VALUE, f"{field}.attachment.data is not valid base64"
                ) from None
        charset = "utf-8"
        if "charset=" in ctype:
            charset = ctype.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
        try:
            return raw.decode(charset), a.get("language")
        except (LookupError, UnicodeDecodeError):
            raise Rejected(
                Reason.INVALID_VALUE, f"{field}.attachment.data is not text in its charset"
            ) from None
    return None, None


def note(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """DocumentReference / DiagnosticReport with inline text -> note; without text: skipped."""
    rtype = r["resourceType"]
    T = "note"
    if rtype == "DocumentReference":
        field, atts = "DocumentReference.content", r.get("content")
        dates: tuple[str, ...] = ()
        ctxt = r.get("context") if isinstance(r.get("context"), dict) else {}
        visit_ref = _first(ctxt.get("encounter"))
        author = _first(r.get("author"))
        kind = r.get("type")
    else:
        field, atts = "DiagnosticReport.presentedForm", r.get("presentedForm")
        dates = ("effectiveDateTime", "effectivePeriod.start", "issued")
        visit_ref = r.get("encounter")
        author = _first(r.get("resultsInterpreter")) or _first(r.get("performer"))
        kind = r.get("code")
    nid = stable_id(f"fhir:{rtype}", fid)
    pid = ctx.person(r.get("subject"), f"{rtype}.subject", T, nid)
    if rtype == "DocumentReference":
        period = ctxt.get("period") if isinstance(ctxt.get("period"), dict) else {}
        when = r.get("date") if r.get("date") is not None else period.get("start")
        if when is None:
            raise Rejected(Reason.MISSING_FIELD, f"{rtype} has none of date, context.period.start")
        d, t = parse_datetime(when, f"{rtype}.date")
    else:
        d, t = first_date(r, rtype, *dates)
    text, lang = _attachment_text(atts, field)
    if text is None:
        raise Skip(Reason.NOT_MAPPED, f"{rtype} has no inline text")
    code = ctx.code(kind, f"{rtype}.type")
    english = lang is None or (isinstance(lang, str) and lang.lower().startswith("en"))
    row = {
        "note_id": nid,
        "person_id": pid,
        "note_date": d,
        "note_datetime": t,
        "note_type_concept_id": TYPE_EHR,
        "note_class_concept_id": NOTE_CLASS_UNKNOWN,
        "note_title": text_of(kind),
        "note_text": text,
        "encoding_concept_id": ENCODING_UTF8,
        "language_concept_id": LANGUAGE_ENGLISH if english else 0,
        "provider_id": ctx.ref(
            author,
            f"{rtype}.author",
            table=T,
            row_id=nid,
            column="provider_id",
            target=_PRACT,
        ),
        "visit_occurrence_id": ctx.ref(
            visit_ref,
            f"{rtype}.encounter",
            table=T,
            row_id=nid,
            column="visit_occurrence_id",
            target=_ENC,
        ),
        "note_source_value": _sv(code),
    }
    return [(T, row)]
