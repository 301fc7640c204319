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
    _SHAPE_MACROS,
    _fields,
    _first_coded,
    _plain_urls,
    _row_id,
    register,
    resolve_plain_sql,
)
from medmine.warehouse.sql import literal

_TOP = (
    "id",
    "subject",
    "encounter",
    "performer",
    "category",
    "effectiveDateTime",
    "effectivePeriod",
    "effectiveInstant",
    "component",
)
#: The fields of a part (the Observation itself or a component) that make its row.
_PART = (
    "code",
    "valueQuantity",
    "valueInteger",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueDateTime",
    "valueTime",
    "referenceRange",
)
#: value[x] types the SQL does not map (the per-resource mapper writes their text).
_ODD_VALUE = (
    r'"value(Period|Ratio|Range|SampledData|Attachment|Reference)"\s*:'
    r'|"value[A-Za-z]*"\s*:\s*null|"comparator"\s*:'
)
_NUM = "('BIGINT', 'UBIGINT', 'DOUBLE')"
_MACROS = (
    # a number inside an optional object: {"value": <number>} or no value
    f"mm_num_ok(j, p) AS json_type(j, p) IS NULL OR (json_type(j, p) = 'OBJECT' "
    f"AND coalesce(json_type(j, p || '.value') IN {_NUM}, true))",
    # a part's value[x]: at most one, of the JSON type FHIR gives it
    "mm_value_ok(q, i, cc, s, b, dt, tm) AS "
    "(q IS NOT NULL)::INT + (i IS NOT NULL)::INT + (cc IS NOT NULL)::INT + (s IS NOT NULL)::INT "
    "+ (b IS NOT NULL)::INT + (dt IS NOT NULL)::INT + (tm IS NOT NULL)::INT <= 1 "
    "AND (q IS NULL OR (json_type(q) = 'OBJECT' AND coalesce(json_type(q, '$.value') IN "
    f"{_NUM}, true) AND coalesce(json_type(q, '$.code'), 'VARCHAR') = 'VARCHAR' "
    "AND coalesce(json_type(q, '$.unit'), 'VARCHAR') = 'VARCHAR')) "
    f"AND (i IS NULL OR json_type(i) IN {_NUM}) AND (cc IS NULL OR (json_type(cc) = 'OBJECT' "
    "AND mm_cc_ok(cc, '$'))) AND (s IS NULL OR json_type(s) = 'VARCHAR') "
    "AND (b IS NULL OR json_type(b) = 'BOOLEAN') AND (dt IS NULL OR json_type(dt) = 'VARCHAR') "
    "AND (tm IS NULL OR json_type(tm) = 'VARCHAR')",
    # a reference range: a list whose first element has numeric low/high values
    "mm_range_ok(rr) AS rr IS NULL OR (json_type(rr) = 'ARRAY' AND (json_type(rr, '$[0]') "
    "IS NULL OR (json_type(rr, '$[0]') = 'OBJECT' AND mm_num_ok(rr, '$[0].low') "
    "AND mm_num_ok(rr, '$[0].high'))))",
    # categories: a list of CodeableConcepts whose codings are objects with a scalar code
    "mm_categories_ok(c) AS c IS NULL OR (json_type(c) = 'ARRAY' AND coalesce(list_bool_and("
    "list_transform(json_extract(c, '$[*]'), lambda x: json_type(x) = 'OBJECT' AND "
    "(json_type(x, '$.coding') IS NULL OR (json_type(x, '$.coding') = 'ARRAY' AND coalesce("
    "list_bool_and(list_transform(json_extract(x, '$.coding[*]'), "
    "lambda y: json_type(y) = 'OBJECT' "
    "AND coalesce(json_type(y, '$.code') NOT IN ('OBJECT', 'ARRAY'), true))), true))))), true))",
)


def _part_columns(p: str) -> str:
    """SQL columns of one part `p` (a struct of the `_PART` fields as JSON)."""
    value_code = _first_coded(f"{p}.valueCodeableConcept", "code")
    return f"""
          {p}.code IS NOT NULL AND json_type({p}.code) = 'OBJECT' AND mm_cc_ok({p}.code, '$')
            AND {_first_coded(p + ".code", "code")} IS NOT NULL
            AND mm_value_ok({p}.valueQuantity, {p}.valueInteger, {p}.valueCodeableConcept,
                            {p}.valueString, {p}.valueBoolean, {p}.valueDateTime, {p}.valueTime)
            AND mm_range_ok({p}.referenceRange) AS part_regular,
          {_first_coded(p + ".code", "system")} AS code_system,
          {_first_coded(p + ".code", "code")} AS code,
          {_first_coded(p + ".code", "display")} AS code_display,
          {p}.code ->> '$.text' AS code_text,
          CASE
            WHEN {p}.valueQuantity IS NOT NULL THEN
              CASE WHEN {p}.valueQuantity ->> '$.value' IS NOT NULL THEN 'number' ELSE 'none' END
            WHEN {p}.valueInteger IS NOT NULL THEN 'number'
            WHEN {p}.valueCodeableConcept IS NOT NULL OR {p}.valueString IS NOT NULL
              OR {p}.valueBoolean IS NOT NULL OR {p}.valueDateTime IS NOT NULL
              OR {p}.valueTime IS NOT NULL THEN 'other'
            ELSE 'none' END AS kind,
          coalesce(TRY_CAST({p}.valueQuantity ->> '$.value' AS DOUBLE),
                   TRY_CAST({p}.valueInteger ->> '$' AS DOUBLE)) AS value_as_number,
          CASE WHEN {p}.valueQuantity IS NOT NULL THEN
            CASE WHEN coalesce({p}.valueQuantity ->> '$.code', '') <> ''
                 THEN {p}.valueQuantity ->> '$.code' ELSE {p}.valueQuantity ->> '$.unit' END
          END AS unit_source_value,
          CASE
            WHEN {p}.valueCodeableConcept IS NOT NULL THEN
              coalesce(nullif({p}.valueCodeableConcept ->> '$.text', ''),
                       {_first_coded(p + ".valueCodeableConcept", "display")})
            WHEN {p}.valueString IS NOT NULL THEN {p}.valueString ->> '$'
            WHEN {p}.valueBoolean IS NOT NULL THEN {p}.valueBoolean ->> '$'
            WHEN {p}.valueDateTime IS NOT NULL THEN left({p}.valueDateTime ->> '$', 255)
            WHEN {p}.valueTime IS NOT NULL THEN left({p}.valueTime ->> '$', 255)
          END AS value_as_string,
          mm_vocabulary({_first_coded(p + ".valueCodeableConcept", "system")})
            AS value_vocabulary,
          {value_code} AS value_code,
          coalesce({_first_coded(p + ".valueCodeableConcept", "display")},
                   {p}.valueCodeableConcept ->> '$.text') AS value_display,
          TRY_CAST({p}.referenceRange ->> '$[0].low.value' AS DOUBLE) AS range_low,
          TRY_CAST({p}.referenceRange ->> '$[0].high.value' AS DOUBLE) AS range_high
    """


def fast_observations(con: Any, source: str, load_id: str = "") -> str:
    """SQL of the measurement / observation rows of the Observations in relation `source`
    (``seq, source_file, location, resource``), with the `_setwise` output columns.
    """
    register(con)
    for macro in (*_SHAPE_MACROS, *_MACROS):
        con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __obs_src AS SELECT seq, source_file, location, "
        f"contains(resource, 'modifierExtension') OR regexp_matches(resource, "
        f"{literal(_ODD_VALUE)}) AS odd, "
        f"json_transform(resource, {_fields(_TOP + _PART)}) AS f FROM ({source})"
    )
    _plain_urls(con, "__obs_src", "__obs_urls")
    part = "{" + ", ".join(f"{k}: f.{k}" for k in _PART) + "}"
    comp = _fields(_PART)
    base = """
        SELECT seq, source_file, location, f.id ->> '$' AS id,
          json_type(f.id) = 'VARCHAR' AND json_type(f.subject) = 'OBJECT'
            AND mm_ref_ok(f.subject, '$') AND mm_ref_ok(f.encounter, '$')
            AND (f.performer IS NULL OR (json_type(f.performer) = 'ARRAY'
                 AND json_type(f.performer, '$[0]') = 'OBJECT' AND mm_ref_ok(f.performer, '$[0]')))
            AND mm_categories_ok(f.category)
            AND mm_date_ok(f.effectiveDateTime, '$') AND mm_date_ok(f.effectiveInstant, '$')
            AND (f.effectivePeriod IS NULL OR (json_type(f.effectivePeriod) = 'OBJECT'
                 AND mm_date_ok(f.effectivePeriod, '$.start')))
            AND (f.component IS NULL OR json_type(f.component) = 'ARRAY')
            AND NOT odd AS top_regular,
          f.subject ->> '$.reference' AS subject,
          f.encounter ->> '$.reference' AS encounter,
          f.performer ->> '$[0].reference' AS performer,
          list_has_any(flatten(list_transform(json_extract(f.category, '$[*]'),
            lambda x: json_extract_string(x, '$.coding[*].code'))),
            ['social-history', 'survey']) AS to_obs,
          coalesce(f.effectiveDateTime ->> '$', f.effectivePeriod ->> '$.start',
                   f.effectiveInstant ->> '$') AS effective,
          f.component
        FROM __obs_src
    """
    for column in ("subject", "encounter", "performer"):
        base = resolve_plain_sql(base, column, "__obs_urls")
    con.execute(f"CREATE OR REPLACE TEMP TABLE __obs_base AS {base}")
    parts = f"""
        SELECT b.*, -1 AS idx, p.* EXCLUDE (seq) FROM __obs_base b
          JOIN (SELECT seq, {_part_columns("t")} FROM (SELECT seq, {part} AS t FROM __obs_src))
          p USING (seq)
        UNION ALL
        SELECT b.*, c.idx, p.* FROM __obs_base b
          JOIN (SELECT seq, unnest(range(len(json_extract(f.component, '$[*]')))) AS idx,
                  unnest(json_extract(f.component, '$[*]')) AS c
                FROM __obs_src WHERE json_type(f.component) = 'ARRAY') c USING (seq)
          JOIN LATERAL (SELECT {_part_columns("t")} FROM (SELECT json_transform(c.c, {comp}) AS t))
          p ON true
    """
    oid = "mm_stable_id('fhir:Observation', id)"
    row_id = (
        f"CASE WHEN idx < 0 THEN {oid} "
        "ELSE mm_stable_id('fhir:Observation.component', id || '/' || idx) END"
    )
    table = "CASE WHEN to_obs OR kind = 'other' THEN 'observation' ELSE 'measurement' END"
    sv = (
        "CASE WHEN code IS NOT NULL THEN mm_vocabulary(code_system) || ':' || code "
        "ELSE code_text END"
    )
    return f"""
        SELECT *, {table} AS omop_table,
          CASE WHEN to_obs THEN 'observation' ELSE 'measurement' END AS ref_table,
          {row_id} AS row_id, {row_id} AS measurement_id, {row_id} AS observation_id,
          kind <> 'none' AS has_row,
          coalesce(idx = min(idx) FILTER (WHERE kind <> 'none') OVER (PARTITION BY seq), false)
            AS is_primary,
          {_row_id("subject", "Patient")} AS person_id,
          0 AS measurement_concept_id, 0 AS observation_concept_id,
          mm_fhir_date(effective) AS measurement_date,
          mm_fhir_ts(effective) AS measurement_datetime,
          mm_fhir_date(effective) AS observation_date,
          mm_fhir_ts(effective) AS observation_datetime,
          {TYPE_EHR} AS measurement_type_concept_id, {TYPE_EHR} AS observation_type_concept_id,
          CASE WHEN {table} = 'measurement' AND unit_source_value <> '' THEN 0 END
            AS unit_concept_id,
          {_row_id("encounter", "Encounter")} AS visit_occurrence_id,
          {_row_id("performer", "Practitioner")} AS provider_id,
          {sv} AS measurement_source_value, {sv} AS observation_source_value,
          CASE WHEN value_code IS NOT NULL
               THEN value_vocabulary || ':' || value_code END AS value_source_value,
          mm_vocabulary(code_system) AS code_vocabulary,
          coalesce(code_display, code_text) AS code_full_display,
          'Observation/' || id AS source_key,
          coalesce(top_regular AND part_regular, false) AS regular,
          CASE
            WHEN subject IS NULL OR subject_type IS DISTINCT FROM 'Patient' THEN 'missing_field'
            WHEN {_row_id("subject", "Patient")} NOT IN (SELECT person_id FROM person)
              THEN 'dangling_reference'
            WHEN code IS NULL AND coalesce(trim(code_text), '') = '' THEN 'missing_field'
            WHEN effective IS NULL OR mm_fhir_date(effective) IS NULL THEN 'invalid_date'
          END AS reason_code
        FROM ({parts})
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
