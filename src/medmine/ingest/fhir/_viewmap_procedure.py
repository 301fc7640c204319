"""FHIR Procedure -> OMOP procedure_occurrence as a ViewDefinition run set-wise
(``views/procedure_occurrence.json``); the specification is `_map_clinical.procedure`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from medmine.ingest.codes import TYPE_EHR
from medmine.ingest.fhir._viewmap import (
    _CC,
    _REF,
    _SHAPE_MACROS,
    _TYPED_MACROS,
    _guard,
    _struct,
    register,
)
from medmine.ingest.fhir._viewmap_base import (
    _MACROS,
    cc_shape,
    code_columns,
    code_rule,
    common_shape,
    date_rules,
    date_shape,
    prepare,
    ref_columns,
    ref_shape,
    regular_sql,
    resolved,
    row_id,
    source_value,
    subject_rules,
    unknown_person_rule,
)
from medmine.warehouse.sql import literal


def _shape(j: str) -> str:
    """SQL: the raw Procedure ``j`` has the plain shape the SQL mapping covers."""
    return (
        f"({ref_shape(j, '$.subject')} AND {ref_shape(j, '$.encounter')} "
        f"AND mm_actor_ok({j}, '$.performer') AND json_type({j}, '$.code') = 'OBJECT' "
        f"AND {cc_shape(j, '$.code')} AND {date_shape(j, '$.performedDateTime')} "
        f"AND mm_obj_ok({j}, '$.performedPeriod') "
        f"AND {date_shape(j, '$.performedPeriod.start', '$.performedPeriod.end')})"
    )


#: The typed structure of the loader's fast path (`_viewmap` typed reading). A performer is
#: read as an object when one of its known fields is there (the others tell it from a list
#: or a string, which reads as an object of NULLs).
_PROCEDURE = {
    "resourceType": "JSON",
    "id": "JSON",
    "subject": _REF,
    "encounter": _REF,
    "performer": [{"actor": _REF, "reference": "JSON", "function": "JSON", "onBehalfOf": "JSON"}],
    "code": _CC,
    "performedDateTime": "JSON",
    "performedPeriod": {"start": "JSON", "end": "JSON"},
}
_GUARD = _guard(("subject", "encounter", "performedPeriod", "actor"), ("performer", "coding"))


def _typed_rows(source: str) -> str:
    """SQL of the view's columns and ``regular`` over `source`, one typed parse per resource."""
    p0 = "f.performer[1]"
    shape = (
        "starts_with(f.id, '\"') AND f.id <> '\"\"' AND mm_tref_ok(f.subject) "
        f"AND mm_tref_ok(f.encounter) AND (len(f.performer) IS NULL OR len(f.performer) = 0 "
        f"OR ({p0}.reference IS NULL AND mm_tref_ok({p0}.actor) AND ({p0}.actor IS NOT NULL "
        f"OR {p0}.function IS NOT NULL OR {p0}.onBehalfOf IS NOT NULL))) "
        "AND f.code IS NOT NULL AND mm_tcc_ok(f.code) AND mm_tdate_ok(f.performedDateTime) "
        "AND mm_tdate_ok(f.performedPeriod.start) AND mm_tdate_ok(f.performedPeriod.end) "
        "AND NOT odd"
    )
    code = "mm_tcoded(f.code)"
    return f"""
        SELECT f.id ->> '$' AS id, f.subject.reference ->> '$' AS subject,
          f.encounter.reference ->> '$' AS encounter,
          {p0}.actor.reference ->> '$' AS performer,
          {code}.system ->> '$' AS code_system, {code}.code ->> '$' AS code,
          {code}.display ->> '$' AS code_display, f.code.text ->> '$' AS code_text,
          f.performedDateTime ->> '$' AS performed,
          f.performedPeriod.start ->> '$' AS performed_start,
          f.performedPeriod."end" ->> '$' AS performed_end,
          seq, source_file, location, coalesce({shape}, false) AS regular
        FROM (SELECT seq, source_file, location,
                     regexp_matches(resource, {literal(_GUARD)}) AS odd,
                     json_transform(resource, {_struct(_PROCEDURE)}) AS f FROM ({source}))
        WHERE f.resourceType = '"Procedure"'
    """


def mapped_procedures(con: Any, source: str, load_id: str = "", *, plain: bool = False) -> str:
    """SQL of the procedure_occurrence rows of the Procedures in relation `source`.

    `source` has ``seq``, ``source_file``, ``location`` and ``resource`` (JSON text); the
    output columns are described in `medmine.ingest.fhir._viewmap_base`. With `plain` (the
    loader's fast path), each resource is read with one typed parse (`_PROCEDURE`) instead of
    the compiled ViewDefinition; ``regular`` marks what that reading covers exactly.

    Quarantine rules, in the loader's order: no subject reference (``missing_field``), a
    subject resolving to nothing (``dangling_reference``) or to another type
    (``invalid_value``), no coded or text code (``missing_field``), no performed date
    (``missing_field``), a performed date or period end that does not parse
    (``invalid_date``), and last a Patient not in the warehouse (``dangling_reference``).
    """
    del load_id  # rows carry no load id; the session adds provenance
    if plain:
        register(con)
        for macro in (*_SHAPE_MACROS, *_MACROS, *_TYPED_MACROS):
            con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}")
        view = _typed_rows(source)
    else:
        view = prepare(con, "procedure_occurrence", source, "proc")
    sql = resolved(con, view, "proc", "subject", "encounter", "performer", plain=plain)
    if plain:
        source_rows, regular = f"({sql}) x", "x.regular"
    else:
        regular, shaped = regular_sql(
            f"{_shape('s.j')} AND {common_shape('s.j', 's.resource')}", "proc"
        )
        source_rows = f"({sql}) x JOIN {shaped} s ON s.seq = x.seq"
    start = "coalesce(performed, performed_start)"
    return f"""
        SELECT
          mm_stable_id('fhir:Procedure', id) AS procedure_occurrence_id,
          {row_id("subject", "Patient")} AS person_id,
          0 AS procedure_concept_id,
          mm_fhir_date({start}) AS procedure_date,
          mm_fhir_ts({start}) AS procedure_datetime,
          mm_fhir_date(performed_end) AS procedure_end_date,
          mm_fhir_ts(performed_end) AS procedure_end_datetime,
          {TYPE_EHR} AS procedure_type_concept_id,
          {row_id("performer", "Practitioner")} AS provider_id,
          {row_id("encounter", "Encounter")} AS visit_occurrence_id,
          {source_value("code", text=True)} AS procedure_source_value,
          CASE {subject_rules("subject")} {code_rule("code")}
               {date_rules(start, "performed_end")} {unknown_person_rule("subject")}
          END AS reason_code,
          CAST(NULL AS VARCHAR) AS skip_code,
          x.seq, x.source_file, x.location,
          {regular} AS regular,
          'Procedure/' || id AS source_key,
          {ref_columns("encounter", "visit")},
          {ref_columns("performer", "provider")},
          {code_columns("code")}
        FROM {source_rows}
    """


def procedure_mapping() -> Any:
    """The `SetwiseMapping` of Procedure -> procedure_occurrence (for the loader)."""
    from medmine.ingest.fhir._setwise import Code, Ref, SetwiseMapping

    return SetwiseMapping(
        resource_type="Procedure",
        sql=partial(mapped_procedures, plain=True),
        tables=("procedure_occurrence",),
        id_column="procedure_occurrence_id",
        refs=(
            Ref("visit_occurrence_id", "visit_ref", "visit_type", "visit_key", "Encounter"),
            Ref("provider_id", "provider_ref", "provider_type", "provider_key", "Practitioner"),
        ),
        codes=(Code("code_vocabulary", "code", "code_display"),),
        ref_table="procedure_occurrence",
    )
