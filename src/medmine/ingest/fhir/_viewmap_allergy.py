"""FHIR AllergyIntolerance -> OMOP observation as a ViewDefinition run set-wise
(``views/observation_allergy_intolerance.json``); the specification is
`_map_drug_note.allergy`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from medmine.ingest.codes import TYPE_EHR
from medmine.ingest.fhir._viewmap_base import (
    cc_shape,
    code_columns,
    code_rule,
    common_shape,
    date_rules,
    date_shape,
    prepare,
    prepare_plain,
    ref_shape,
    regular_sql,
    resolved,
    row_id,
    source_value,
    subject_rules,
    unknown_person_rule,
)


def _shape(j: str) -> str:
    """SQL: the raw AllergyIntolerance ``j`` has the plain shape the SQL mapping covers."""
    return (
        f"({ref_shape(j, '$.patient')} AND {ref_shape(j, '$.encounter')} "
        f"AND {cc_shape(j, '$.code')} AND mm_obj_ok({j}, '$.onsetPeriod') "
        f"AND {date_shape(j, '$.onsetDateTime', '$.onsetPeriod.start', '$.recordedDate')} "
        f"AND mm_str_ok({j}, '$.type') AND mm_str_ok({j}, '$.criticality') "
        # category: a list whose first element (if any) is a code string
        f"AND (json_type({j}, '$.category') IS NULL OR (json_type({j}, '$.category') = 'ARRAY' "
        f"AND (json_array_length({j}, '$.category') = 0 "
        f"OR json_type({j}, '$.category[0]') = 'VARCHAR'))))"
    )


def mapped_allergies(con: Any, source: str, load_id: str = "", *, plain: bool = False) -> str:
    """SQL of the observation rows of the AllergyIntolerances in relation `source`.

    `source` has ``seq``, ``source_file``, ``location`` and ``resource`` (JSON text); the
    output columns are described in `medmine.ingest.fhir._viewmap_base` (no provider).

    Quarantine rules, in the loader's order: no patient reference (``missing_field``), one
    resolving to nothing (``dangling_reference``) or to another type (``invalid_value``), no
    coded or text code (``missing_field``), no date (``missing_field``), a date that does
    not parse (``invalid_date``); last, a Patient not in the warehouse
    (``dangling_reference``).
    """
    del load_id
    stage = prepare_plain if plain else prepare
    tag = "allergy"
    sql = resolved(
        con,
        stage(con, "observation_allergy_intolerance", source, tag),
        tag,
        "patient",
        "visit",
        plain=plain,
    )
    start = "coalesce(onset, onset_start, recorded)"
    regular, shaped = regular_sql(f"{_shape('s.j')} AND {common_shape('s.j', 's.resource')}", tag)
    return f"""
        SELECT
          mm_stable_id('fhir:AllergyIntolerance', id) AS observation_id,
          {row_id("patient", "Patient")} AS person_id,
          0 AS observation_concept_id,
          mm_fhir_date({start}) AS observation_date,
          mm_fhir_ts({start}) AS observation_datetime,
          {TYPE_EHR} AS observation_type_concept_id,
          coalesce(kind, 'allergy') || coalesce(':' || category, '') AS value_as_string,
          criticality AS qualifier_source_value,
          {row_id("visit", "Encounter")} AS visit_occurrence_id,
          {source_value("code", text=True)} AS observation_source_value,
          CASE {subject_rules("patient")} {code_rule("code")} {date_rules(start)}
               {unknown_person_rule("patient")}
          END AS reason_code,
          CAST(NULL AS VARCHAR) AS skip_code,
          x.seq, x.source_file, x.location,
          {regular} AS regular,
          'AllergyIntolerance/' || id AS source_key,
          visit AS visit_ref, visit_type, visit_key,
          {code_columns("code")}
        FROM ({sql}) x JOIN {shaped} s ON s.seq = x.seq
    """


def allergy_mapping() -> Any:
    """The `SetwiseMapping` of AllergyIntolerance -> observation (for the loader)."""
    from medmine.ingest.fhir._setwise import Code, Ref, SetwiseMapping

    return SetwiseMapping(
        resource_type="AllergyIntolerance",
        sql=partial(mapped_allergies, plain=True),
        tables=("observation",),
        id_column="observation_id",
        refs=(Ref("visit_occurrence_id", "visit_ref", "visit_type", "visit_key", "Encounter"),),
        codes=(Code("code_vocabulary", "code", "code_display"),),
        ref_table="observation",
    )
