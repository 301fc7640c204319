"""Clinical FHIR resources -> OMOP rows: visits, conditions, observations and procedures.

Each mapper takes ``(resource, fhir_id, ctx)`` and returns
``[(table, row), ...]`` with the primary row first, or raises `Rejected` / `Skip`.
"""

from __future__ import annotations

from typing import Any

from medmine.ingest.codes import TYPE_EHR, VISIT, source_value
from medmine.ingest.fhir._refs import Context
from medmine.ingest.fhir._values import (
    TEXT_ONLY,
    Skip,
    code_of,
    first_date,
    number,
    opt_datetime,
    text_of,
)
from medmine.warehouse import Reason, Rejected, stable_id

Rows = list[tuple[str, dict[str, Any]]]
_PRACT = ("Practitioner",)
_ENC = ("Encounter",)
_OBS_CATEGORIES = frozenset({"social-history", "survey"})


def _sv(key: tuple[str, str] | None) -> str | None:
    if not key:
        return None
    return key[1] if key[0] == TEXT_ONLY else source_value(*key)


def _first(value: Any) -> Any:
    """First element of a FHIR list (or the value itself when not a list)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _actor(value: Any) -> Any:
    """The Reference inside ``performer[0]`` (``{actor: Reference}`` or a bare Reference)."""
    p = _first(value)
    if isinstance(p, dict) and "actor" in p:
        return p["actor"]
    return p


def encounter(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """Encounter -> visit_occurrence."""
    T = "visit_occurrence"
    vid = stable_id("fhir:Encounter", fid)
    pid = ctx.person(r.get("subject"), "Encounter.subject", T, vid)
    start_d, start_t = first_date(r, "Encounter", "period.start")
    period = r["period"]
    end_d, end_t = opt_datetime(period.get("end"), "Encounter.period.end")
    if end_d is not None and end_d < start_d:
        raise Rejected(Reason.INVALID_DATE, "Encounter.period.end precedes period.start")
    cls = r.get("class")
    cls_code = cls.get("code") if isinstance(cls, dict) else None
    provider = None
    for part in r.get("participant") or ():
        if isinstance(part, dict) and part.get("individual"):
            provider = ctx.ref(
                part["individual"],
                "Encounter.participant.individual",
                table=T,
                row_id=vid,
                column="provider_id",
                target=_PRACT,
            )
            break
    care_site = ctx.ref(
        r.get("serviceProvider"),
        "Encounter.serviceProvider",
        table=T,
        row_id=vid,
        column="care_site_id",
        target=("Organization",),
    )
    ctx.code(_first(r.get("type")), "Encounter.type")
    hosp = r.get("hospitalization") if isinstance(r.get("hospitalization"), dict) else {}
    admit = ctx.code(hosp.get("admitSource"), "Encounter.hospitalization.admitSource")
    disch = ctx.code(
        hosp.get("dischargeDisposition"), "Encounter.hospitalization.dischargeDisposition"
    )
    row = {
        "visit_occurrence_id": vid,
        "person_id": pid,
        "visit_concept_id": VISIT.get(cls_code, 0),
        "visit_start_date": start_d,
        "visit_start_datetime": start_t,
        "visit_end_date": end_d or start_d,
        "visit_end_datetime": end_t,
        "visit_type_concept_id": TYPE_EHR,
        "provider_id": provider,
        "care_site_id": care_site,
        "visit_source_value": source_value("ActCode", cls_code) if cls_code else None,
        "admitted_from_source_value": _sv(admit),
        "discharged_to_source_value": _sv(disch),
    }
    return [(T, row)]


def condition(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """Condition -> condition_occurrence."""
    T = "condition_occurrence"
    cid = stable_id("fhir:Condition", fid)
    pid = ctx.person(r.get("subject"), "Condition.subject", T, cid)
    code = ctx.code(r.get("code"), "Condition.code", required=True)
    start_d, start_t = first_date(
        r, "Condition", "onsetDateTime", "onsetPeriod.start", "recordedDate"
    )
    end_d, end_t = opt_datetime(r.get("abatementDateTime"), "Condition.abatementDateTime")
    status = ctx.code(r.get("clinicalStatus"), "Condition.clinicalStatus")
    row = {
        "condition_occurrence_id": cid,
        "person_id": pid,
        "condition_concept_id": 0,
        "condition_start_date": start_d,
        "condition_start_datetime": start_t,
        "condition_end_date": end_d,
        "condition_end_datetime": end_t,
        "condition_type_concept_id": TYPE_EHR,
        "visit_occurrence_id": ctx.ref(
            r.get("encounter"),
            "Condition.encounter",
            table=T,
            row_id=cid,
            column="visit_occurrence_id",
            target=_ENC,
        ),
        "provider_id": ctx.ref(
            r.get("asserter") or r.get("recorder"),
            "Condition.asserter",
            table=T,
            row_id=cid,
            column="provider_id",
            target=_PRACT,
        ),
        "condition_source_value": _sv(code),
        "condition_status_source_value": status[1] if status else None,
    }
    return [(T, row)]


def _obs_value(part: dict[str, Any], field: str, ctx: Context) -> tuple[str, dict[str, Any]]:
    """Classify and extract the value of an Observation (or component).

    Returns ``(kind, fields)`` with kind ``"number"``, ``"none"`` or ``"other"``.
    """
    vq = part.get("valueQuantity")
    if vq is not None:
        if not isinstance(vq, dict):
            raise Rejected(Reason.INVALID_VALUE, f"{field}.valueQuantity is not a Quantity")
        v = number(vq.get("value"), f"{field}.valueQuantity.value")
        unit = vq.get("code") or vq.get("unit")
        comp = vq.get("comparator")
        out = {"value_as_number": v, "unit_source_value": unit}
        if comp:
            out["value_source_value"] = f"{comp}{vq.get('value')}"
        return ("number" if v is not None else "none"), out
    if "valueInteger" in part:
        v = number(part["valueInteger"], f"{field}.valueInteger")
        return "number", {"value_as_number": v}
    if "valueCodeableConcept" in part:
        cc = part["valueCodeableConcept"]
        key = ctx.code(cc, f"{field}.valueCodeableConcept")
        return "other", {"value_as_string": text_of(cc), "value_source_value": _sv(key)}
    if "valueString" in part:
        v = part["valueString"]
        if not isinstance(v, str):
            raise Rejected(Reason.INVALID_VALUE, f"{field}.valueString is not a string")
        return "other", {"value_as_string": v}
    if "valueBoolean" in part:
        v = part["valueBoolean"]
        if not isinstance(v, bool):
            raise Rejected(Reason.INVALID_VALUE, f"{field}.valueBoolean is not a boolean")
        return "other", {"value_as_string": "true" if v else "false"}
    for k in ("valueDateTime", "valueTime", "valuePeriod", "valueRatio", "valueRange"):
        if k in part:
            return "other", {"value_as_string": str(part[k])[:255]}
    return "none", {}


def _range(part: dict[str, Any], field: str) -> tuple[float | None, float | None]:
    rr = _first(part.get("referenceRange"))
    if not isinstance(rr, dict):
        return None, None
    lo, hi = rr.get("low"), rr.get("high")
    return (
        number(lo.get("value"), f"{field}.referenceRange.low") if isinstance(lo, dict) else None,
        number(hi.get("value"), f"{field}.referenceRange.high") if isinstance(hi, dict) else None,
    )


def _obs_row(
    part: dict[str, Any],
    row_id: int,
    base: dict[str, Any],
    to_observation: bool,
    field: str,
    ctx: Context,
) -> tuple[str, dict[str, Any]]:
    code = ctx.code(part.get("code"), f"{field}.code", required=True)
    kind, val = _obs_value(part, field, ctx)
    if to_observation or kind == "other":
        row = {
            "observation_id": row_id,
            "observation_concept_id": 0,
            "observation_date": base["date"],
            "observation_datetime": base["datetime"],
            "observation_type_concept_id": base["type"],
            "provider_id": base["provider"],
            "visit_occurrence_id": base["visit"],
            "person_id": base["person"],
            "observation_source_value": _sv(code),
            **val,
        }
        return "observation", row
    low, high = _range(part, field)
    row = {
        "measurement_id": row_id,
        "person_id": base["person"],
        "measurement_concept_id": 0,
        "measurement_date": base["date"],
        "measurement_datetime": base["datetime"],
        "measurement_type_concept_id": base["type"],
        "unit_concept_id": 0 if val.get("unit_source_value") else None,
        "range_low": low,
        "range_high": high,
        "provider_id": base["provider"],
        "visit_occurrence_id": base["visit"],
        "measurement_source_value": _sv(code),
        **val,
    }
    return "measurement", row


def _valueless(part: dict[str, Any]) -> bool:
    """True when `part` has no value[x] to map (what `_obs_value` calls kind ``"none"``)."""
    vq = part.get("valueQuantity")
    if vq is not None:
        return isinstance(vq, dict) and vq.get("value") is None
    return not any(k in part for k in _VALUE_KEYS)


_VALUE_KEYS = (
    "valueInteger",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueDateTime",
    "valueTime",
    "valuePeriod",
    "valueRatio",
    "valueRange",
)


def _check_code(cc: Any, field: str) -> None:
    """Reject a missing or invalid code like `Context.code` does, without registering it
    (a part that writes no row adds nothing to mm_source_concept).
    """
    if code_of(cc) is not None:
        return
    text = cc.get("text") if isinstance(cc, dict) else None
    if text is not None and not isinstance(text, str):
        raise Rejected(Reason.INVALID_VALUE, f"{field}.text is not a string")
    if not (text and text.strip()):
        raise Rejected(Reason.MISSING_FIELD, f"{field} has no coded value")


def observation(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """Observation -> measurement (numeric) or observation (social history, surveys, coded or
    text values); each component becomes a row of its own.

    docs/mapping.md (issue 13, R5): a part (the Observation or a component) without a value
    writes no row, so a panel gives its components' rows only. An Observation that writes no
    row at all is skipped (``not_mapped``), after the checks that would quarantine it.
    """
    oid = stable_id("fhir:Observation", fid)
    cats = set()
    for cc in r.get("category") or ():
        for c in (cc.get("coding") or ()) if isinstance(cc, dict) else ():
            cats.add(c.get("code"))
    to_obs = bool(cats & _OBS_CATEGORIES)
    table = "observation" if to_obs else "measurement"
    parts: list[tuple[dict[str, Any], int, str]] = [(r, oid, "Observation")]
    for i, comp in enumerate(r.get("component") or ()):
        if not isinstance(comp, dict):
            raise Rejected(Reason.INVALID_VALUE, "Observation.component is not an object")
        parts.append(
            (comp, stable_id("fhir:Observation.component", f"{fid}/{i}"), "Observation.component")
        )
    # Unresolved references are kept against the first row written (the primary row).
    first = next((rid for part, rid, _ in parts if not _valueless(part)), oid)
    pid = ctx.person(r.get("subject"), "Observation.subject", table, first)
    own = ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant")
    period = r.get("effectivePeriod")
    if (
        r.get("effectiveDateTime") is not None
        or r.get("effectiveInstant") is not None
        or (isinstance(period, dict) and period.get("start") is not None)
    ):
        d, t = first_date(r, "Observation", *own)
    else:  # valid R4: the date of the report that lists it, its encounter's, else issued
        got = ctx.observation_date(r, oid)
        if got is None and r.get("issued") is None:
            raise Rejected(
                Reason.MISSING_FIELD,
                "Observation has no effective[x], no DiagnosticReport or Encounter with a "
                "date in its Bundle (NDJSON: in the load), and no issued",
            )
        d, t = got if got is not None else first_date(r, "Observation", "issued")
    base = {
        "person": pid,
        "date": d,
        "datetime": t,
        "type": TYPE_EHR,
        "visit": ctx.ref(
            r.get("encounter"),
            "Observation.encounter",
            table=table,
            row_id=first,
            column="visit_occurrence_id",
            target=_ENC,
        ),
        "provider": ctx.ref(
            _first(r.get("performer")),
            "Observation.performer",
            table=table,
            row_id=first,
            column="provider_id",
            target=_PRACT,
        ),
    }
    rows = []
    for part, rid, field in parts:
        if _valueless(part):
            _check_code(part.get("code"), f"{field}.code")
            if not to_obs:  # as a measurement row would have checked it
                _range(part, field)
        else:
            rows.append(_obs_row(part, rid, base, to_obs, field, ctx))
    if not rows:
        raise Skip(Reason.NOT_MAPPED, "an Observation without a value (or a panel without values)")
    return rows


def procedure(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """Procedure -> procedure_occurrence."""
    T = "procedure_occurrence"
    prid = stable_id("fhir:Procedure", fid)
    pid = ctx.person(r.get("subject"), "Procedure.subject", T, prid)
    code = ctx.code(r.get("code"), "Procedure.code", required=True)
    d, t = first_date(r, "Procedure", "performedDateTime", "performedPeriod.start")
    pp = r.get("performedPeriod")
    end_d, end_t = opt_datetime(
        pp.get("end") if isinstance(pp, dict) else None, "Procedure.performedPeriod.end"
    )
    row = {
        "procedure_occurrence_id": prid,
        "person_id": pid,
        "procedure_concept_id": 0,
        "procedure_date": d,
        "procedure_datetime": t,
        "procedure_end_date": end_d,
        "procedure_end_datetime": end_t,
        "procedure_type_concept_id": TYPE_EHR,
        "provider_id": ctx.ref(
            _actor(r.get("performer")),
            "Procedure.performer.actor",
            table=T,
            row_id=prid,
            column="provider_id",
            target=_PRACT,
        ),
        "visit_occurrence_id": ctx.ref(
            r.get("encounter"),
            "Procedure.encounter",
            table=T,
            row_id=prid,
            column="visit_occurrence_id",
            target=_ENC,
        ),
        "procedure_source_value": _sv(code),
    }
    return [(T, row)]
