"""Observation -> measurement / observation, set-wise in DuckDB (the loader's fast path).

The mapping (``views/measurement_observation.json`` says it as a ViewDefinition): each
Observation and each of its components with a value is one row (docs/mapping.md, R5: a
value-less part writes no row, so a panel gives its components' rows; an Observation with no
row at all goes to the per-resource mapper, which skips it as ``not_mapped``); a row goes to
``observation`` when the Observation's category is social-history or survey, or when its value
is coded, text, boolean or a date/time, and to ``measurement`` otherwise (a number, with unit
and reference range). The date is the first present of effectiveDateTime, effectivePeriod.start
and effectiveInstant (Observations without one are mapped per resource: their date comes from a
DiagnosticReport or Encounter). Each resource is parsed once (`json_transform` of its top-level
fields); the paths are exact on the plain shape marked ``regular`` and every other Observation
goes to the per-resource mapper.
"""

from __future__ import annotations

from typing import Any

from medmine.ingest.codes import TYPE_EHR
from medmine.ingest.fhir._setwise import Code, Ref, SetwiseMapping
from medmine.ingest.fhir._viewmap import (
    _CC,
    _REF,
    _SHAPE_MACROS,
    _TYPED_MACROS,
    _guard,
    _row_id,
    _struct,
    register,
    resolve_plain_sql,
)
from medmine.warehouse.sql import literal

#: One JSON parse per resource: `json_transform` into this structure. Objects and lists become
#: STRUCTs and LISTs; every primitive the mapping reads stays a JSON leaf (its JSON text), so
#: its JSON type is still known (a string leaf starts with a quote) and a wrong-type primitive
#: makes the resource irregular (the per-resource mapper then quarantines it, invalid_value).
#: The fields of a part (the Observation itself or a component) that make its row.
_PART = {
    "code": _CC,
    "valueQuantity": {"value": "JSON", "unit": "JSON", "code": "JSON"},
    "valueInteger": "JSON",
    "valueCodeableConcept": _CC,
    "valueString": "JSON",
    "valueBoolean": "JSON",
    "valueDateTime": "JSON",
    "valueTime": "JSON",
    "referenceRange": [{"low": {"value": "JSON"}, "high": {"value": "JSON"}, "text": "JSON"}],
}
_TOP = {
    "id": "JSON",
    "subject": _REF,
    "encounter": _REF,
    "performer": [_REF],
    "category": [_CC],
    "effectiveDateTime": "JSON",
    "effectivePeriod": {"start": "JSON"},
    "effectiveInstant": "JSON",
    "component": [_PART],
    **_PART,
}
#: Raw-text guard (`_viewmap._guard`), also for value[x] types the SQL does not map and a
#: comparator (the per-resource mapper writes their text).
_GUARD = _guard(
    ("subject", "encounter", "effectivePeriod", "valueQuantity", "valueCodeableConcept", "low",
     "high"),
    ("performer", "category", "coding", "component", "referenceRange"),
    r'"value(Period|Ratio|Range|SampledData|Attachment|Reference)"\s*:|"comparator"\s*:',
)  # fmt: skip


def _part_regular(p: str) -> str:
    """SQL: part `p` (a `_PART` struct) has the plain shape (the loader's rules)."""
    values = (
        "valueQuantity",
        "valueInteger",
        "valueCodeableConcept",
        "valueString",
        "valueBoolean",
        "valueDateTime",
        "valueTime",
    )
    present = " + ".join(f"({p}.{v} IS NOT NULL)::INT" for v in values)
    q, rr = f"{p}.valueQuantity", f"{p}.referenceRange[1]"
    return f"""
        {p}.code IS NOT NULL AND mm_tcc_ok({p}.code) AND mm_tcoded({p}.code) IS NOT NULL
        AND {present} <= 1
        AND ({q} IS NULL OR (mm_jn({q}.value) AND mm_js({q}.code) AND mm_js({q}.unit)))
        AND mm_jn({p}.valueInteger)
        AND mm_tcc_ok({p}.valueCodeableConcept)
        AND mm_js({p}.valueString) AND mm_js({p}.valueDateTime) AND mm_js({p}.valueTime)
        AND ({p}.valueBoolean IS NULL OR {p}.valueBoolean IN ('true', 'false'))
        AND ({rr} IS NULL OR (({rr}.low IS NOT NULL OR {rr}.high IS NOT NULL
                               OR {rr}.text IS NOT NULL)
             AND mm_jn({rr}.low.value) AND mm_jn({rr}.high.value)))
    """


def _kind(p: str) -> str:
    """SQL: what value part `p` has: ``number``, ``other`` (written to observation) or ``none``."""
    return f"""CASE
        WHEN {p}.valueQuantity IS NOT NULL THEN
          CASE WHEN {p}.valueQuantity.value IS NOT NULL THEN 'number' ELSE 'none' END
        WHEN {p}.valueInteger IS NOT NULL THEN 'number'
        WHEN {p}.valueCodeableConcept IS NOT NULL OR {p}.valueString IS NOT NULL
          OR {p}.valueBoolean IS NOT NULL OR {p}.valueDateTime IS NOT NULL
          OR {p}.valueTime IS NOT NULL THEN 'other'
        ELSE 'none' END"""


def _part_columns(p: str) -> str:
    """SQL columns of one part `p` (a `_PART` struct)."""
    q, vcc = f"{p}.valueQuantity", f"{p}.valueCodeableConcept"
    code, vcode = f"mm_tcoded({p}.code)", f"mm_tcoded({vcc})"
    return f"""
          coalesce({_part_regular(p)}, false) AS part_regular,
          {code}.system ->> '$' AS code_system,
          {code}.code ->> '$' AS code,
          {code}.display ->> '$' AS code_display,
          {p}.code.text ->> '$' AS code_text,
          {_kind(p)} AS kind,
          coalesce(TRY_CAST({q}.value AS DOUBLE), TRY_CAST({p}.valueInteger AS DOUBLE))
            AS value_as_number,
          CASE WHEN {q} IS NOT NULL THEN
            CASE WHEN coalesce({q}.code ->> '$', '') <> '' THEN {q}.code ->> '$'
                 ELSE {q}.unit ->> '$' END
          END AS unit_source_value,
          CASE
            WHEN {vcc} IS NOT NULL THEN
              coalesce(nullif({vcc}.text ->> '$', ''), {vcode}.display ->> '$')
            WHEN {p}.valueString IS NOT NULL THEN {p}.valueString ->> '$'
            WHEN {p}.valueBoolean IS NOT NULL THEN CAST({p}.valueBoolean AS VARCHAR)
            WHEN {p}.valueDateTime IS NOT NULL THEN left({p}.valueDateTime ->> '$', 255)
            WHEN {p}.valueTime IS NOT NULL THEN left({p}.valueTime ->> '$', 255)
          END AS value_as_string,
          mm_vocabulary({vcode}.system ->> '$') AS value_vocabulary,
          {vcode}.code ->> '$' AS value_code,
          coalesce({vcode}.display ->> '$', {vcc}.text ->> '$') AS value_display,
          TRY_CAST({p}.referenceRange[1].low.value AS DOUBLE) AS range_low,
          TRY_CAST({p}.referenceRange[1].high.value AS DOUBLE) AS range_high
    """


def fast_observations(con: Any, source: str, load_id: str = "") -> str:
    """SQL of the measurement / observation rows of the Observations in relation `source`
    (``seq, source_file, location, resource``), with the `_setwise` output columns.

    Each resource is parsed once, into the typed structure `_TOP` (`json_transform`); the
    shape rules read its typed fields and JSON leaves, with `_GUARD` on the raw text for
    what the parse cannot tell (see there). Parts (the Observation, then its components)
    are one list per resource, unnested after the references are resolved.
    """
    register(con)
    for macro in (*_SHAPE_MACROS, *_TYPED_MACROS):
        con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}")
    # One pipeline from the raw text to the rows: the parsed structs are never materialised.
    src = (
        "SELECT seq, source_file, location, "
        f"regexp_matches(resource, {literal(_GUARD)}) AS odd, "
        f"json_transform(resource, {_struct(_TOP)}) AS f FROM ({source})"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __obs_urls AS SELECT source_file, full_url, "
        "any_value(resource_type) AS resource_type, any_value(resource_id) AS resource_id "
        "FROM mm_fhir_resource WHERE full_url IS NOT NULL AND source_file IN "
        f"(SELECT DISTINCT source_file FROM ({source})) GROUP BY ALL"
    )
    part0 = "{" + ", ".join(f"{k}: f.{k}" for k in _PART) + "}"
    base = f"""
        SELECT seq, source_file, location, f.id ->> '$' AS id,
          coalesce(starts_with(f.id, '"') AND f.subject IS NOT NULL
            AND mm_tref_ok(f.subject) AND mm_tref_ok(f.encounter)
            AND (f.performer IS NULL OR (len(f.performer) >= 1
                 AND f.performer[1].reference IS NOT NULL AND mm_tref_ok(f.performer[1])))
            AND coalesce(list_bool_and(list_transform(f.category,
                 lambda x: (x.coding IS NOT NULL OR x.text IS NOT NULL)
                   AND coalesce(list_bool_and(list_transform(x.coding,
                     lambda y: (y.code IS NOT NULL OR y.system IS NOT NULL
                                OR y.display IS NOT NULL) AND mm_js(y.code))), true))), true)
            AND mm_tdate_ok(f.effectiveDateTime) AND mm_tdate_ok(f.effectiveInstant)
            AND mm_tdate_ok(f.effectivePeriod.start)
            AND NOT odd, false) AS top_regular,
          f.subject.reference ->> '$' AS subject,
          f.encounter.reference ->> '$' AS encounter,
          f.performer[1].reference ->> '$' AS performer,
          coalesce(list_has_any(flatten(list_transform(f.category,
            lambda x: list_transform(x.coding, lambda y: y.code ->> '$'))),
            ['social-history', 'survey']), false) AS to_obs,
          coalesce(f.effectiveDateTime ->> '$', f.effectivePeriod.start ->> '$',
                   f.effectiveInstant ->> '$') AS effective,
          {part0} AS part0, f.component AS component
        FROM ({src})
    """
    for column in ("subject", "encounter", "performer"):
        base = resolve_plain_sql(base, column, "__obs_urls")
    # One row per part: the Observation itself (idx -1), then each component; the primary
    # part is the first with a value (the Observation, else a component). The parts are not
    # copied into one list (measured: copying the nested structs cost more than the rest).
    has_value = f"list_transform(component, lambda c: {_kind('c')} <> 'none')"
    parts = f"""
        SELECT b.* EXCLUDE (part0, component, first, p), idx,
          coalesce(idx = first, false) AS is_primary, {_part_columns("p")}
        FROM (SELECT *, CASE WHEN idx < 0 THEN part0 ELSE component[idx + 1] END AS p
              FROM (SELECT *, unnest(range(-1, coalesce(len(component), 0))) AS idx,
                      CASE WHEN {_kind("part0")} <> 'none' THEN -1
                           ELSE nullif(list_position({has_value}, true), 0) - 1 END AS first
                    FROM ({base}))) b
    """
    row_id = (
        "CASE WHEN idx < 0 THEN mm_stable_id('fhir:Observation', id) "
        "ELSE mm_stable_id('fhir:Observation.component', id || '/' || idx) END"
    )
    table = "CASE WHEN to_obs OR kind = 'other' THEN 'observation' ELSE 'measurement' END"
    # Each id, date and vocabulary computed once (inner), then named for every column.
    inner = f"""
        SELECT *, {row_id} AS row_id, {_row_id("subject", "Patient")} AS person_id,
          {_row_id("encounter", "Encounter")} AS visit_occurrence_id,
          {_row_id("performer", "Practitioner")} AS provider_id,
          mm_fhir_date(effective) AS day, mm_fhir_ts(effective) AS moment,
          mm_vocabulary(code_system) AS code_vocabulary, {table} AS omop_table
        FROM ({parts})
    """
    sv = "CASE WHEN code IS NOT NULL THEN code_vocabulary || ':' || code ELSE code_text END"
    return f"""
        SELECT * EXCLUDE (day, moment),
          CASE WHEN to_obs THEN 'observation' ELSE 'measurement' END AS ref_table,
          row_id AS measurement_id, row_id AS observation_id,
          kind <> 'none' AS has_row,
          0 AS measurement_concept_id, 0 AS observation_concept_id,
          day AS measurement_date, moment AS measurement_datetime,
          day AS observation_date, moment AS observation_datetime,
          {TYPE_EHR} AS measurement_type_concept_id, {TYPE_EHR} AS observation_type_concept_id,
          CASE WHEN omop_table = 'measurement' AND unit_source_value <> '' THEN 0 END
            AS unit_concept_id,
          {sv} AS measurement_source_value, {sv} AS observation_source_value,
          CASE WHEN value_code IS NOT NULL
               THEN value_vocabulary || ':' || value_code END AS value_source_value,
          coalesce(code_display, code_text) AS code_full_display,
          'Observation/' || id AS source_key,
          coalesce(top_regular AND part_regular, false) AS regular,
          CASE
            WHEN subject IS NULL OR subject_type IS DISTINCT FROM 'Patient' THEN 'missing_field'
            WHEN person_id NOT IN (SELECT person_id FROM person) THEN 'dangling_reference'
            WHEN code IS NULL AND coalesce(trim(code_text), '') = '' THEN 'missing_field'
            WHEN effective IS NULL OR day IS NULL THEN 'invalid_date'
          END AS reason_code
        FROM ({inner})
    """


def observation_mapping() -> SetwiseMapping:
    """The `SetwiseMapping` of Observation -> measurement / observation."""
    return SetwiseMapping(
        resource_type="Observation",
        sql=fast_observations,
        tables=("measurement", "observation"),
        id_column="row_id",
        refs=(
            Ref("visit_occurrence_id", "encounter", "encounter_type", "encounter_key", "Encounter"),
            Ref("provider_id", "performer", "performer_type", "performer_key", "Practitioner"),
        ),
        codes=(
            Code("code_vocabulary", "code", "code_full_display"),
            Code("value_vocabulary", "value_code", "value_display"),
        ),
        table_column="omop_table",
        primary_column="is_primary",
        row_column="has_row",
        ref_table="ref_table",
        ref_table_is_column=True,
    )
