"""MedicationRequest, MedicationAdministration, MedicationStatement and Immunization -> OMOP
drug_exposure as ViewDefinitions run set-wise (``views/drug_exposure_*.json``, one per
resource type); the specification is `_map_drug_note.drug`.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

from medmine.fhir.views import validate_view
from medmine.ingest.codes import TYPE_EHR
from medmine.ingest.fhir._viewmap_base import (
    cc_shape,
    code_columns,
    common_shape,
    date_rules,
    prepare,
    prepare_plain,
    ref_shape,
    regular_sql,
    resolved,
    row_id,
    source_value,
    subject_rules,
    unknown_person_rule,
    view_file,
)
from medmine.warehouse.sql import ident, literal


class _Drug(NamedTuple):
    view: str  #: ViewDefinition file (views/<view>.json)
    tag: str  #: prefix of its temporary tables
    patient: str  #: JSON path of the required Patient reference
    visit: str  #: JSON path of the Encounter reference
    starts: tuple[str, ...]  #: view columns whose first present value is the start
    shape: tuple[str, ...]  #: shape predicates of this type (``{j}`` is the raw resource)


_ABSENT = "json_type({j}, '$.%s') IS NULL"
#: medicationReference (if present): an object with string display and reference
_MED_REF = (
    "mm_obj_ok({j}, '$.medicationReference')",
    "mm_str_ok({j}, '$.medicationReference.display')",
    "mm_str_ok({j}, '$.medicationReference.reference')",
)
_NOT_ELSEWHERE = tuple(_ABSENT % f for f in ("requester", "dosageInstruction", "dispenseRequest"))

DRUGS: dict[str, _Drug] = {
    "MedicationRequest": _Drug(
        "drug_exposure_medication_request",
        "drug_mr",
        "$.subject",
        "$.encounter",
        ("authored",),
        (
            "mm_ref_ok({j}, '$.performer')",
            _ABSENT % "performer.actor",
            "mm_ref_ok({j}, '$.requester')",
            _ABSENT % "requester.actor",
            *_MED_REF,
            "mm_date_ok({j}, '$.authoredOn')",
            "mm_obj_ok({j}, '$.dispenseRequest')",
            "mm_obj_ok({j}, '$.dispenseRequest.expectedSupplyDuration')",
            "mm_num_ok({j}, '$.dispenseRequest.expectedSupplyDuration.value')",
            # days supply must fit its INT column (the loader quarantines it otherwise)
            "coalesce(abs(try_cast(json_extract({j}, "
            "'$.dispenseRequest.expectedSupplyDuration.value') AS DOUBLE)) < 1e6, true)",
            "mm_str_ok({j}, '$.dispenseRequest.expectedSupplyDuration.code')",
            "mm_obj_ok({j}, '$.dispenseRequest.quantity')",
            "mm_num_ok({j}, '$.dispenseRequest.quantity.value')",
            # refills: an integer that fits its INT column (a non-integer is dropped silently
            # by the loader, which the SQL does not repeat: such resources go to it)
            "(json_type({j}, '$.dispenseRequest.numberOfRepeatsAllowed') IS NULL OR "
            "(json_type({j}, '$.dispenseRequest.numberOfRepeatsAllowed') IN "
            "('NULL', 'BIGINT', 'UBIGINT') AND coalesce(try_cast(json_extract({j}, "
            "'$.dispenseRequest.numberOfRepeatsAllowed') AS DOUBLE) "
            "BETWEEN -2147483648 AND 2147483647, true)))",
            "(json_type({j}, '$.dosageInstruction') IS NULL OR "
            "(json_type({j}, '$.dosageInstruction') = 'ARRAY' AND "
            "(json_array_length({j}, '$.dosageInstruction') = 0 OR "
            "json_type({j}, '$.dosageInstruction[0]') = 'OBJECT')))",
            "mm_str_ok({j}, '$.dosageInstruction[0].text')",
            "mm_cc_ok({j}, '$.dosageInstruction[0].route')",
            _ABSENT % "dosage",
            _ABSENT % "effectivePeriod",
            _ABSENT % "lotNumber",
            _ABSENT % "route",
            _ABSENT % "doseQuantity",
        ),
    ),
    "MedicationAdministration": _Drug(
        "drug_exposure_medication_administration",
        "drug_ma",
        "$.subject",
        "$.context",
        ("effective", "effective_start"),
        (
            "mm_actor_ok({j}, '$.performer')",
            *_NOT_ELSEWHERE,
            *_MED_REF,
            "mm_date_ok({j}, '$.effectiveDateTime')",
            "mm_obj_ok({j}, '$.effectivePeriod')",
            "mm_date_ok({j}, '$.effectivePeriod.start')",
            "mm_date_ok({j}, '$.effectivePeriod.end')",
            "mm_obj_ok({j}, '$.dosage')",
            "mm_str_ok({j}, '$.dosage.text')",
            "mm_cc_ok({j}, '$.dosage.route')",
            _ABSENT % "lotNumber",
            _ABSENT % "route",
            _ABSENT % "doseQuantity",
        ),
    ),
    "MedicationStatement": _Drug(
        "drug_exposure_medication_statement",
        "drug_ms",
        "$.subject",
        "$.context",
        ("effective", "effective_start", "asserted"),
        (
            _ABSENT % "performer",
            *_NOT_ELSEWHERE,
            *_MED_REF,
            "mm_date_ok({j}, '$.effectiveDateTime')",
            "mm_obj_ok({j}, '$.effectivePeriod')",
            "mm_date_ok({j}, '$.effectivePeriod.start')",
            "mm_date_ok({j}, '$.effectivePeriod.end')",
            "mm_date_ok({j}, '$.dateAsserted')",
            # R4's MedicationStatement.dosage is a list, which the loader does not read
            "(json_type({j}, '$.dosage') IS NULL OR json_type({j}, '$.dosage') = 'ARRAY')",
            _ABSENT % "lotNumber",
            _ABSENT % "route",
            _ABSENT % "doseQuantity",
        ),
    ),
    "Immunization": _Drug(
        "drug_exposure_immunization",
        "drug_im",
        "$.patient",
        "$.encounter",
        ("occurrence", "recorded"),
        (
            "mm_actor_ok({j}, '$.performer')",
            *_NOT_ELSEWHERE,
            _ABSENT % "medicationReference",
            _ABSENT % "dosage",
            _ABSENT % "effectivePeriod",
            "mm_date_ok({j}, '$.occurrenceDateTime')",
            "mm_date_ok({j}, '$.recorded')",
            "mm_cc_ok({j}, '$.route')",
            "mm_obj_ok({j}, '$.doseQuantity')",
            "mm_num_ok({j}, '$.doseQuantity.value')",
            "mm_str_ok({j}, '$.lotNumber')",
        ),
    ),
}
#: The code of each type's drug (required unless given as text or, for medications, as a
#: medicationReference).
_CODE = {
    "MedicationRequest": "medicationCodeableConcept",
    "MedicationAdministration": "medicationCodeableConcept",
    "MedicationStatement": "medicationCodeableConcept",
    "Immunization": "vaccineCode",
}
_DAYS = "CASE supply_unit WHEN 'd' THEN 1 WHEN 'wk' THEN 7 WHEN 'mo' THEN 30 WHEN 'a' THEN 365 END"


def _shape(rtype: str, j: str) -> str:
    """SQL: the raw resource ``j`` of type `rtype` has the plain shape the SQL covers."""
    d = DRUGS[rtype]
    parts = [
        ref_shape(j, d.patient),
        ref_shape(j, d.visit),
        cc_shape(j, f"$.{_CODE[rtype]}"),
        *(p.format(j=j) for p in d.shape),
    ]
    return "(" + " AND ".join(parts) + ")"


def mapped_drug_type(
    con: Any, source: str, load_id: str = "", *, rtype: str, plain: bool = False
) -> str:
    """SQL of the drug_exposure rows of the resources of type `rtype` in relation `source`.

    `source` has ``seq``, ``source_file``, ``location`` and ``resource`` (JSON text); the
    output columns are described in `medmine.ingest.fhir._viewmap_base`, plus ``route``
    (``route_vocabulary``, ``route_display``), the route coding to register.

    Quarantine rules, in the loader's order: no patient reference (``missing_field``), one
    resolving to nothing (``dangling_reference``) or to another type (``invalid_value``);
    no drug code, text or medicationReference display/reference (``missing_field``); no
    start date (``missing_field``), a start or period end that does not parse
    (``invalid_date``); last, a Patient not in the warehouse (``dangling_reference``).
    """
    del load_id
    d = DRUGS[rtype]
    have = set(validate_view(view_file(d.view)))

    def col(name: str) -> str:
        return ident(name) if name in have else "NULL"

    refs = ["patient", "visit", *(c for c in ("performer", "requester") if c in have)]
    stage = prepare_plain if plain else prepare
    sql = resolved(con, stage(con, d.view, source, d.tag), d.tag, *refs, plain=plain)
    start = f"coalesce({', '.join(d.starts)})" if len(d.starts) > 1 else d.starts[0]
    end = col("effective_end")
    days = (
        f"CASE WHEN supply_value IS NOT NULL AND {_DAYS} IS NOT NULL "
        f"THEN CAST(trunc(supply_value * {_DAYS}) AS INTEGER) END"
        if "supply_value" in have
        else "CAST(NULL AS INTEGER)"
    )
    if "requester" in have:  # a performer (even without a reference) wins over the requester
        pick = "CASE WHEN has_performer THEN {p} ELSE {r} END"
        provider = pick.format(
            p=row_id("performer", "Practitioner"), r=row_id("requester", "Practitioner")
        )
        prov = {x: pick.format(p=f"performer{x}", r=f"requester{x}") for x in ("", "_type", "_key")}
    elif "performer" in have:
        provider = row_id("performer", "Practitioner")
        prov = {x: f"performer{x}" for x in ("", "_type", "_key")}
    else:
        provider = "CAST(NULL AS BIGINT)"
        prov = dict.fromkeys(("", "_type", "_key"), "CAST(NULL AS VARCHAR)")
    if "has_medication_reference" in have:
        med = "coalesce(nullif(medication_display, ''), nullif(medication_reference, ''))"
        drug_sv = (
            f"CASE WHEN code IS NOT NULL THEN {source_value('code', text=False)} "
            f"WHEN has_medication_reference THEN {med} ELSE code_text END"
        )
        code_rule = (
            f"WHEN code IS NULL AND has_medication_reference AND {med} IS NULL "
            "THEN 'missing_field' WHEN code IS NULL AND NOT has_medication_reference "
            "AND mm_blank(code_text) THEN 'missing_field' "
        )
    else:
        drug_sv = source_value("code", text=True)
        code_rule = "WHEN code IS NULL AND mm_blank(code_text) THEN 'missing_field' "
    ends = ("effective_end",) if "effective_end" in have else ()
    route = "route" in have
    regular, shaped = regular_sql(
        f"{_shape(rtype, 's.j')} AND {common_shape('s.j', 's.resource')}", d.tag
    )
    return f"""
        SELECT *,
          CASE WHEN period_end_date IS NOT NULL THEN period_end_date
               WHEN days_supply IS NOT NULL AND days_supply <> 0
               THEN CAST(drug_exposure_start_date + days_supply AS DATE)
               ELSE drug_exposure_start_date END AS drug_exposure_end_date
        FROM (
        SELECT
          mm_stable_id({literal("fhir:" + rtype)}, id) AS drug_exposure_id,
          {row_id("patient", "Patient")} AS person_id,
          0 AS drug_concept_id,
          mm_fhir_date({start}) AS drug_exposure_start_date,
          mm_fhir_ts({start}) AS drug_exposure_start_datetime,
          mm_fhir_date({end}) AS period_end_date,
          mm_fhir_ts({end}) AS drug_exposure_end_datetime,
          {TYPE_EHR} AS drug_type_concept_id,
          CAST({col("refills")} AS INTEGER) AS refills,
          CAST({col("quantity")} AS DOUBLE) AS quantity,
          {days} AS days_supply,
          CAST({col("sig")} AS VARCHAR) AS sig,
          CAST({col("lot_number")} AS VARCHAR) AS lot_number,
          {provider} AS provider_id,
          {row_id("visit", "Encounter")} AS visit_occurrence_id,
          {drug_sv} AS drug_source_value,
          {source_value("route", text=False) if route else "CAST(NULL AS VARCHAR)"}
            AS route_source_value,
          CASE {subject_rules("patient")} {code_rule}
               {date_rules(start, *ends)} {unknown_person_rule("patient")}
          END AS reason_code,
          CAST(NULL AS VARCHAR) AS skip_code,
          x.seq, x.source_file, x.location,
          {regular} AS regular,
          {literal(rtype + "/")} || id AS source_key,
          visit AS visit_ref, visit_type, visit_key,
          {prov[""]} AS provider_ref, {prov["_type"]} AS provider_type,
          {prov["_key"]} AS provider_key,
          {code_columns("code")},
          {code_columns("route", "route") if route else _no_route()}
        FROM ({sql}) x JOIN {shaped} s ON s.seq = x.seq
        )
    """


def _no_route() -> str:
    return (
        "CAST(NULL AS VARCHAR) AS route_vocabulary, CAST(NULL AS VARCHAR) AS route, "
        "CAST(NULL AS VARCHAR) AS route_display"
    )


def mapped_drugs(con: Any, source: str, load_id: str = "", *, plain: bool = False) -> str:
    """SQL of the drug_exposure rows of every drug resource in relation `source` (the four
    types of `DRUGS`; each keeps its own ``seq``), see `mapped_drug_type`.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __drug_all AS SELECT *, "
        f"json_extract_string(resource, '$.resourceType') AS __rt FROM ({source})"
    )
    parts = []
    for rtype in DRUGS:
        mine = (
            "SELECT seq, source_file, location, resource FROM __drug_all "
            f"WHERE __rt = {literal(rtype)}"
        )
        parts.append(mapped_drug_type(con, mine, load_id, rtype=rtype, plain=plain))
    return " UNION ALL BY NAME ".join(f"({p})" for p in parts)


def drug_mappings() -> dict[str, Any]:
    """Resource type -> its `SetwiseMapping` to drug_exposure (for the loader)."""
    from medmine.ingest.fhir._setwise import Code, Ref, SetwiseMapping

    return {
        rtype: SetwiseMapping(
            resource_type=rtype,
            sql=partial(mapped_drug_type, rtype=rtype, plain=True),
            tables=("drug_exposure",),
            id_column="drug_exposure_id",
            refs=(
                Ref("visit_occurrence_id", "visit_ref", "visit_type", "visit_key", "Encounter"),
                Ref("provider_id", "provider_ref", "provider_type", "provider_key", "Practitioner"),
            ),
            codes=(
                Code("code_vocabulary", "code", "code_display"),
                Code("route_vocabulary", "route", "route_display"),
            ),
            ref_table="drug_exposure",
        )
        for rtype in DRUGS
    }
