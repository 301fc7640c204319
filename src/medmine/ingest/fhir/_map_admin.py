"""People, places and coverage: Patient -> person (+ location, death, identity), Practitioner
-> provider, Organization -> care_site (+ location), Location -> location, Coverage ->
payer_plan_period. Same mapper contract as `_map_clinical`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from medmine.ingest.codes import (
    ETHNICITY,
    GENDER,
    OMB_ETHNICITY,
    OMB_RACE,
    RACE,
    TYPE_EHR,
    fhir_vocabulary,
)
from medmine.ingest.fhir._refs import Context, split_reference
from medmine.ingest.fhir._values import (
    Skip,
    code_of,
    first_date,
    number,
    opt_datetime,
    parse_datetime,
)
from medmine.warehouse import Reason, Rejected, stable_id

Rows = list[tuple[str, dict[str, Any]]]

_RACE_CODES = OMB_RACE
_ETHNICITY_CODES = OMB_ETHNICITY
_US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-"
#: Open-ended coverage (no period.end) gets this end date (OMOP requires one).
OPEN_END = dt.date(2099, 12, 31)
_NPI = "http://hl7.org/fhir/sid/us-npi"
_ID_COLUMNS = {"SS": "ssn", "MR": "mrn", "DL": "drivers_license", "PPN": "passport"}


def _omb(r: dict[str, Any], which: str) -> tuple[str, str, str | None] | None:
    for ext in r.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") == _US_CORE + which:
            for sub in ext.get("extension") or ():
                if isinstance(sub, dict) and sub.get("url") == "ombCategory":
                    return code_of(sub.get("valueCoding"))
    return None


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _official_name(r: dict[str, Any]) -> dict[str, Any]:
    names = [n for n in r.get("name") or () if isinstance(n, dict)]
    for n in names:
        if n.get("use") == "official":
            return n
    return names[0] if names else {}


def _join(v: Any) -> str | None:
    if isinstance(v, list):
        parts = [p for p in v if isinstance(p, str)]
        return " ".join(parts) or None
    return _str(v)


def address_row(addr: Any, location_id: int, source: str) -> dict[str, Any] | None:
    """A location row from a FHIR Address (None when `addr` is not an address)."""
    if not isinstance(addr, dict):
        return None
    lines = addr.get("line") if isinstance(addr.get("line"), list) else []
    lat = lon = None
    for ext in addr.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url", "").endswith("geolocation"):
            for sub in ext.get("extension") or ():
                if isinstance(sub, dict) and sub.get("url") == "latitude":
                    lat = number(sub.get("valueDecimal"), "Address.geolocation.latitude")
                elif isinstance(sub, dict) and sub.get("url") == "longitude":
                    lon = number(sub.get("valueDecimal"), "Address.geolocation.longitude")
    return {
        "location_id": location_id,
        "address_1": _str(lines[0]) if lines else None,
        "address_2": _str(lines[1]) if len(lines) > 1 else None,
        "city": _str(addr.get("city")),
        "state": _str(addr.get("state")),
        "zip": _str(addr.get("postalCode")),
        "county": _str(addr.get("district")),
        "location_source_value": source,
        "country_source_value": _str(addr.get("country")),
        "latitude": lat,
        "longitude": lon,
    }


def _home_address(r: dict[str, Any]) -> Any:
    addrs = [a for a in r.get("address") or () if isinstance(a, dict)]
    for a in addrs:
        if a.get("use") == "home":
            return a
    return addrs[0] if addrs else None


def patient(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """Patient -> person, location (address), death, mm_person_identity (direct identifiers)."""
    pid = stable_id("fhir:Patient", fid)
    bd = r.get("birthDate")
    # birthDate is optional in FHIR R4. Without it the person loads with an unknown year
    # (NULL, never an invented one): the loader counts a missing_field warning and the
    # person_without_year_of_birth quality check flags it; its records are not orphaned.
    bdate = parse_datetime(bd, "Patient.birthDate")[0] if bd is not None else None
    partial = bd is None or len(bd) < 10
    gender = r.get("gender")
    race = _omb(r, "race")
    eth = _omb(r, "ethnicity")
    addr = _home_address(r)
    loc_id = stable_id("fhir:Patient.address", fid) if addr is not None else None
    person = {
        "person_id": pid,
        "gender_concept_id": GENDER.get(gender, 0) if isinstance(gender, str) else 0,
        "year_of_birth": bdate.year if bdate is not None else None,
        "month_of_birth": None if bdate is None or len(bd) < 7 else bdate.month,
        "day_of_birth": None if partial else bdate.day,
        "birth_datetime": None if partial else dt.datetime(bdate.year, bdate.month, bdate.day),
        "race_concept_id": (
            _RACE_CODES.get(race[1], RACE.get((race[2] or "").lower(), 0)) if race else 0
        ),
        "ethnicity_concept_id": (
            _ETHNICITY_CODES.get(eth[1], ETHNICITY.get((eth[2] or "").lower(), 0)) if eth else 0
        ),
        "location_id": loc_id,
        "person_source_value": f"Patient/{fid}",
        "gender_source_value": _str(gender),
        "race_source_value": f"{race[0]}:{race[1]}" if race else None,
        "ethnicity_source_value": f"{eth[0]}:{eth[1]}" if eth else None,
    }
    rows: Rows = [("person", person)]
    if addr is not None:
        rows.append(("location", address_row(addr, loc_id, f"Patient/{fid}")))
    dd, dtm = opt_datetime(r.get("deceasedDateTime"), "Patient.deceasedDateTime")
    if dd is not None:
        rows.append(
            (
                "death",
                {
                    "person_id": pid,
                    "death_date": dd,
                    "death_datetime": dtm,
                    "death_type_concept_id": TYPE_EHR,
                },
            )
        )
    name = _official_name(r)
    identity: dict[str, Any] = {
        "person_id": pid,
        "source": "fhir",
        "given_name": _join(name.get("given")),
        "family_name": _str(name.get("family")),
        "name_prefix": _join(name.get("prefix")),
        "name_suffix": _join(name.get("suffix")),
        "birth_date": bdate,
        "sex": _str(gender),
        "deceased_datetime": dtm or (dt.datetime(dd.year, dd.month, dd.day) if dd else None),
    }
    if isinstance(addr, dict):
        identity.update(
            address_line=_join(addr.get("line")),
            city=_str(addr.get("city")),
            state=_str(addr.get("state")),
            zip=_str(addr.get("postalCode")),
        )
    for tel in r.get("telecom") or ():
        if isinstance(tel, dict) and tel.get("system") in ("phone", "email"):
            col = tel["system"]
            if identity.get(col) is None:
                identity[col] = _str(tel.get("value"))
    for ident in r.get("identifier") or ():
        if not isinstance(ident, dict):
            continue
        t = code_of(ident.get("type"))
        col = _ID_COLUMNS.get(t[1]) if t else None
        if col is None and ident.get("system") == "http://hl7.org/fhir/sid/us-ssn":
            col = "ssn"
        if col and identity.get(col) is None:
            identity[col] = _str(ident.get("value"))
    # Composite primary key: written as an extra row (provenance rows need a single-column key).
    ctx.extra.append(("mm_person_identity", identity))
    ctx.add_identifiers(r, "Patient", "person", pid)
    return rows


def practitioner(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """Practitioner -> provider (NPI from the us-npi identifier)."""
    prid = stable_id("fhir:Practitioner", fid)
    name = _official_name(r)
    npi = None
    for ident in r.get("identifier") or ():
        if isinstance(ident, dict) and ident.get("system") == _NPI:
            npi = _str(ident.get("value"))
    gender = r.get("gender")
    yob = None
    if r.get("birthDate") is not None:
        yob = parse_datetime(r["birthDate"], "Practitioner.birthDate")[0].year
    full = " ".join(p for p in (_join(name.get("given")), _str(name.get("family"))) if p)
    row = {
        "provider_id": prid,
        "provider_name": full or None,
        "npi": npi,
        "year_of_birth": yob,
        "gender_concept_id": GENDER.get(gender, 0) if isinstance(gender, str) else None,
        "provider_source_value": f"Practitioner/{fid}",
        "gender_source_value": _str(gender),
    }
    ctx.add_identifiers(r, "Practitioner", "provider", prid)
    return [("provider", row)]


def practitioner_role(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """PractitionerRole -> mm_provider_role; its specialty and organisation are copied onto
    the provider at the end of the load (claims analyses compare providers within specialty).
    """
    rid = stable_id("fhir:PractitionerRole", fid)
    specialty = None
    for cc in r.get("specialty") or ():
        if not isinstance(cc, dict):
            continue
        coded = ctx.code(cc, "PractitionerRole.specialty")
        specialty = f"{coded[0]}:{coded[1]}" if coded else _str(cc.get("text"))
        if specialty:
            break
    role = None
    for cc in r.get("code") or ():
        coded = ctx.code(cc, "PractitionerRole.code") if isinstance(cc, dict) else None
        if coded:
            role = f"{coded[0]}:{coded[1]}"
            break
    row = {
        "provider_role_id": rid,
        "provider_id": ctx.ref(
            r.get("practitioner"),
            "PractitionerRole.practitioner",
            table="mm_provider_role",
            row_id=rid,
            column="provider_id",
            target=("Practitioner",),
        ),
        "care_site_id": ctx.ref(
            r.get("organization"),
            "PractitionerRole.organization",
            table="mm_provider_role",
            row_id=rid,
            column="care_site_id",
            target=("Organization",),
        ),
        "specialty_source_value": specialty,
        "role_source_value": role,
        "provider_role_source_value": f"PractitionerRole/{fid}",
    }
    return [("mm_provider_role", row)]


#: Organization types (http://terminology.hl7.org/CodeSystem/organization-type) of payers.
PAYER_TYPES = frozenset({"ins", "pay"})
_ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"


def _is_payer(r: dict[str, Any]) -> bool:
    """Whether Organization `r` is typed as an insurer or payer (docs/mapping.md, R4)."""
    for cc in r.get("type") or ():
        for c in (cc.get("coding") or ()) if isinstance(cc, dict) else ():
            if (
                isinstance(c, dict)
                and c.get("system") in (_ORG_TYPE, None)
                and c.get("code") in PAYER_TYPES
            ):
                return True
    return False


def payer_concept(ctx: Context, key: str, name: Any) -> None:
    """Register payer `key` (``Organization/<id>``) with its name in mm_source_concept."""
    if ("Payer", key) not in ctx.seen_codes:
        ctx.seen_codes.add(("Payer", key))
        ctx.concepts.append(
            {"vocabulary_id": "Payer", "code": key, "display": _str(name), "load_id": ctx.load_id}
        )


def payer_key(ctx: Context, ref: Any) -> str | None:
    """``Organization/<id>`` of a payer Reference, whatever the transport wrote (``urn:uuid:``
    resolved through the Bundle, relative or absolute URL); its display goes to
    mm_source_concept. A Reference with a display only keeps the display (nothing else names
    the payer).
    """
    if not isinstance(ref, dict):
        return None
    text = ref.get("reference")
    target = None
    if isinstance(text, str) and text:
        target = ctx.bundle.get(text)
        if target is None and not text.startswith("urn:"):
            parsed = split_reference(text)
            target = parsed if parsed is not None and len(parsed) == 2 else None
    if target is None:
        return _str(ref.get("display")) or (text if isinstance(text, str) and text else None)
    key = f"{target[0]}/{target[1]}"
    if ref.get("display") is not None:
        payer_concept(ctx, key, ref.get("display"))
    return key


def organization(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """Organization -> care_site (+ location for its address); a payer -> its name only.

    OMOP keeps payers in payer_plan_period and cost, never in care_site: an insurer (type
    ``ins``/``pay``) is skipped (not_mapped) after registering ``Organization/<id>`` with its
    name under vocabulary ``Payer``, as the Synthea CSV reader does for payers.csv.
    """
    if _is_payer(r):
        payer_concept(ctx, f"Organization/{fid}", r.get("name"))
        raise Skip(Reason.NOT_MAPPED, "a payer Organization is not a care site")
    csid = stable_id("fhir:Organization", fid)
    addr = _first_address(r.get("address"))
    loc_id = stable_id("fhir:Organization.address", fid) if addr is not None else None
    kind = ctx.code((r.get("type") or [None])[0], "Organization.type")
    row = {
        "care_site_id": csid,
        "care_site_name": _str(r.get("name")),
        "location_id": loc_id,
        "care_site_source_value": f"Organization/{fid}",
        "place_of_service_source_value": f"{kind[0]}:{kind[1]}" if kind else None,
    }
    rows: Rows = [("care_site", row)]
    if addr is not None:
        rows.append(("location", address_row(addr, loc_id, f"Organization/{fid}")))
    ctx.add_identifiers(r, "Organization", "care_site", csid)
    return rows


def _first_address(value: Any) -> Any:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else None


def location(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """Location -> location (address and position)."""
    lid = stable_id("fhir:Location", fid)
    row = address_row(r.get("address") or {}, lid, f"Location/{fid}")
    if row is None:
        raise Rejected(Reason.INVALID_VALUE, "Location.address is not an Address")
    pos = r.get("position")
    if isinstance(pos, dict):
        row["latitude"] = number(pos.get("latitude"), "Location.position.latitude")
        row["longitude"] = number(pos.get("longitude"), "Location.position.longitude")
    ctx.add_identifiers(r, "Location", "location", lid)
    return [("location", row)]


def coverage(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """Coverage -> payer_plan_period (open-ended coverage ends on `OPEN_END`)."""
    T = "payer_plan_period"
    cid = stable_id("fhir:Coverage", fid)
    pid = ctx.person(r.get("beneficiary"), "Coverage.beneficiary", T, cid)
    start, _ = first_date(r, "Coverage", "period.start")
    end, _ = opt_datetime(r["period"].get("end"), "Coverage.period.end")
    if end is not None and end < start:
        raise Rejected(Reason.INVALID_DATE, "Coverage.period.end precedes period.start")
    payer = payer_key(ctx, (r.get("payor") or [None])[0])
    plan = None
    for c in r.get("class") or ():
        if isinstance(c, dict):
            t = code_of(c.get("type"))
            if t and t[1] == "plan":
                plan = _str(c.get("value"))
    row = {
        "payer_plan_period_id": cid,
        "person_id": pid,
        "payer_plan_period_start_date": start,
        "payer_plan_period_end_date": end or OPEN_END,
        "payer_source_value": payer,
        "plan_source_value": plan,
        "family_source_value": _str(r.get("subscriberId")),
    }
    return [(T, row)]


def vocabulary(system: Any) -> str:
    """OMOP vocabulary id of a code system URI (re-exported for the claims mapper)."""
    return fhir_vocabulary(system if isinstance(system, str) else None)
