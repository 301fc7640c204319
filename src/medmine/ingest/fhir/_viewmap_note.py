"""DocumentReference and DiagnosticReport -> OMOP note as ViewDefinitions run set-wise
(``views/note_document_reference.json``, ``views/note_diagnostic_report.json``); the
specification is `_map_drug_note.note`.

The note text is decoded in the database (``from_base64``, then UTF-8). The SQL covers the
attachments whose text it decodes exactly as Python does: inline data in printable ASCII
whose base64 is canonical once whitespace is removed (or holds a character base64 never
has: ``invalid_value``, as in the loader), in UTF-8 (no charset, ``utf-8`` or ``utf8``).
Other charsets and non-canonical padding are left to the per-resource mapper.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

from medmine.fhir.views import validate_view
from medmine.ingest.codes import ENCODING_UTF8, LANGUAGE_ENGLISH, NOTE_CLASS_UNKNOWN, TYPE_EHR
from medmine.ingest.fhir._viewmap_base import (
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
from medmine.warehouse.sql import literal


class _Note(NamedTuple):
    view: str  #: ViewDefinition file (views/<view>.json)
    tag: str  #: prefix of its temporary tables
    start: str  #: SQL over the view's columns: the note's date (first present)
    ends: tuple[str, ...]  #: date columns besides the start that must parse
    provider: tuple[str, ...]  #: reference columns, the first present is the provider
    shape: tuple[str, ...]  #: shape predicates of this type (``{j}`` is the raw resource)


#: every element of the list at path ``p`` (if present) is an object satisfying ``each``
_EVERY = (
    "(json_type({j}, '$.{p}') IS NULL OR (json_type({j}, '$.{p}') = 'ARRAY' AND "
    "coalesce(list_bool_and(list_transform(json_extract({j}, '$.{p}[*]'), lambda e: "
    "coalesce(json_type(e) = 'OBJECT' AND {each}, false))), true)))"
)
_CTYPE = "coalesce(json_type(e, '$.contentType'), 'NULL') IN ('NULL', 'VARCHAR')"

NOTES: dict[str, _Note] = {
    "DocumentReference": _Note(
        "note_document_reference",
        "note_dr",
        'coalesce("date", period_start)',
        (),
        ("author",),
        (
            "mm_cc_ok({j}, '$.type')",
            "mm_ref0_ok({j}, '$.author')",
            "mm_obj_ok({j}, '$.context')",
            "mm_ref0_ok({j}, '$.context.encounter')",
            "mm_obj_ok({j}, '$.context.period')",
            "mm_date_ok({j}, '$.date') AND mm_date_ok({j}, '$.context.period.start')",
            # content: {attachment: Attachment} objects (the loader also reads a bare one)
            _EVERY.format(
                j="{j}",
                p="content",
                each="json_type(e, '$.attachment') = 'OBJECT' AND "
                + _CTYPE.replace("'$.", "'$.attachment."),
            ),
        ),
    ),
    "DiagnosticReport": _Note(
        "note_diagnostic_report",
        "note_rp",
        "coalesce(effective, effective_start, issued)",
        (),
        ("interpreter", "performer"),
        (
            "mm_cc_ok({j}, '$.code')",
            "mm_ref0_ok({j}, '$.resultsInterpreter')",
            "mm_ref0_ok({j}, '$.performer')",
            "mm_date_ok({j}, '$.effectiveDateTime') AND mm_obj_ok({j}, '$.effectivePeriod')",
            "mm_date_ok({j}, '$.effectivePeriod.start') AND mm_date_ok({j}, '$.issued')",
            # presentedForm: Attachments (an {attachment: ...} wrapper is read by the loader)
            _EVERY.format(
                j="{j}",
                p="presentedForm",
                each=f"json_type(e, '$.attachment') IS NULL AND {_CTYPE}",
            ),
        ),
    ),
}

#: The data of the chosen attachment with ASCII whitespace removed (Python's split()).
_DATA = "regexp_replace(att ->> 'data', '[\\t\\n\\r\\x0b\\x0c ]', '', 'g')"
#: Canonical padded base64 (what both DuckDB's from_base64 and Python's b64decode accept).
_CANONICAL = "'([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?'"
#: Python's b64decode(validate=True) refuses anything but this (after whitespace removal).
_B64_CHARS = "'[A-Za-z0-9+/]*={0,2}'"
_CT = "lower(coalesce(nullif(att ->> 'contentType', ''), 'text/plain'))"
_CHARSET = f"trim(regexp_extract({_CT}, 'charset=([^;]*)', 1))"


def _shape(rtype: str, j: str) -> str:
    """SQL: the raw resource ``j`` of type `rtype` has the plain shape the SQL covers."""
    parts = [
        ref_shape(j, "$.subject"),
        ref_shape(j, "$.encounter") if rtype == "DiagnosticReport" else "true",
        *(p.format(j=j) for p in NOTES[rtype].shape),
    ]
    return "(" + " AND ".join(parts) + ")"


def _attachment_shape() -> str:
    """SQL: the chosen attachment ``att`` (if any) is one whose decoding the SQL repeats."""
    return (
        "(att IS NULL OR (json_type(att, '$.data') = 'VARCHAR' "
        "AND regexp_full_match(att ->> 'data', '[\\x20-\\x7e\\t\\n\\r\\x0b\\x0c]*') "
        "AND coalesce(json_type(att, '$.language'), 'NULL') IN ('NULL', 'VARCHAR') "
        f"AND (NOT contains({_CT}, 'charset=') OR {_CHARSET} IN ('', 'utf-8', 'utf8')) "
        "AND (b64_canonical OR NOT b64_chars)))"
    )


def mapped_note_type(
    con: Any, source: str, load_id: str = "", *, rtype: str, plain: bool = False
) -> str:
    """SQL of the note rows of the resources of type `rtype` in relation `source`.

    `source` has ``seq``, ``source_file``, ``location`` and ``resource`` (JSON text); the
    output columns are described in `medmine.ingest.fhir._viewmap_base`. A resource without
    an inline text attachment has ``skip_code`` ``not_mapped`` (the loader skips it).

    Quarantine rules, in the loader's order: no subject reference (``missing_field``), one
    resolving to nothing (``dangling_reference``) or to another type (``invalid_value``); no
    date (``missing_field``), a date that does not parse (``invalid_date``); text data that
    is not base64 or not UTF-8 (``invalid_value``); then, for a resource with text, a
    Patient not in the warehouse (``dangling_reference``).
    """
    del load_id
    n = NOTES[rtype]
    have = validate_view(view_file(n.view))
    refs = [c for c in ("subject", "visit", "author", "interpreter", "performer") if c in have]
    stage = prepare_plain if plain else prepare
    sql = resolved(con, stage(con, n.view, source, n.tag), n.tag, *refs, plain=plain)
    first, *rest = n.provider
    if rest:  # the first present reference (the loader's `a or b`)
        other = rest[0]
        provider = (
            f"CASE WHEN {first} IS NOT NULL THEN {row_id(first, 'Practitioner')} "
            f"ELSE {row_id(other, 'Practitioner')} END"
        )
        prov = {
            x: f"CASE WHEN {first} IS NOT NULL THEN {first}{x} ELSE {other}{x} END"
            for x in ("", "_type", "_key")
        }
    else:
        provider = row_id(first, "Practitioner")
        prov = {x: f"{first}{x}" for x in ("", "_type", "_key")}
    bad_text = "att IS NOT NULL AND (NOT b64_chars OR decoded IS NULL)"
    lang = "att ->> 'language'"
    regular, shaped = regular_sql(
        f"{_shape(rtype, 's.j')} AND {common_shape('s.j', 's.resource')}", n.tag
    )
    return f"""
        SELECT
          mm_stable_id({literal("fhir:" + rtype)}, id) AS note_id,
          {row_id("subject", "Patient")} AS person_id,
          mm_fhir_date({n.start}) AS note_date,
          mm_fhir_ts({n.start}) AS note_datetime,
          {TYPE_EHR} AS note_type_concept_id,
          {NOTE_CLASS_UNKNOWN} AS note_class_concept_id,
          CASE WHEN code_text <> '' THEN code_text ELSE code_display END AS note_title,
          CASE WHEN att IS NOT NULL AND NOT ({bad_text}) THEN decoded END AS note_text,
          {ENCODING_UTF8} AS encoding_concept_id,
          CASE WHEN {lang} IS NULL OR starts_with(lower({lang}), 'en')
               THEN {LANGUAGE_ENGLISH} ELSE 0 END AS language_concept_id,
          {provider} AS provider_id,
          {row_id("visit", "Encounter")} AS visit_occurrence_id,
          {source_value("code", text=False)} AS note_source_value,
          CASE {subject_rules("subject")} {date_rules(n.start, *n.ends)}
               WHEN {bad_text} THEN 'invalid_value'
               WHEN att IS NULL THEN NULL
               {unknown_person_rule("subject")}
          END AS reason_code,
          x.seq, x.source_file, x.location,
          {regular} AND coalesce({_attachment_shape()}, false) AS regular,
          {literal(rtype + "/")} || id AS source_key,
          visit AS visit_ref, visit_type, visit_key,
          {prov[""]} AS provider_ref, {prov["_type"]} AS provider_type,
          {prov["_key"]} AS provider_key,
          {code_columns("code")}
        FROM (
          SELECT *, regexp_full_match(b64, {_CANONICAL}) AS b64_canonical,
                 CASE WHEN b64_chars THEN try(decode(from_base64(b64))) END AS decoded
          FROM (
            SELECT *, regexp_full_match(b64, {_B64_CHARS}) AS b64_chars
            FROM (
              SELECT *, {_DATA} AS b64
              FROM (
                SELECT *, list_filter(coalesce(CAST(attachments AS JSON[]), []::JSON[]),
                  lambda a: starts_with(lower(coalesce(nullif(a ->> 'contentType', ''),
                                                       'text/plain')), 'text/'))[1] AS att
                FROM ({sql})
              )
            )
          )
        ) x JOIN {shaped} s ON s.seq = x.seq
    """


def _with_skips(sql: str) -> str:
    """`sql` with ``skip_code``: ``not_mapped`` for a loadable resource without text."""
    return (
        "SELECT *, CASE WHEN reason_code IS NULL AND note_text IS NULL THEN 'not_mapped' END "
        f"AS skip_code FROM ({sql})"
    )


def mapped_notes_of_type(
    con: Any, source: str, load_id: str = "", *, rtype: str, plain: bool = False
) -> str:
    """`mapped_note_type` with the ``skip_code`` column (see `mapped_notes`)."""
    return _with_skips(mapped_note_type(con, source, load_id, rtype=rtype, plain=plain))


def mapped_notes(con: Any, source: str, load_id: str = "", *, plain: bool = False) -> str:
    """SQL of the note rows of every DocumentReference and DiagnosticReport in relation
    `source` (each keeps its own ``seq``), see `mapped_note_type`.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __note_all AS SELECT *, "
        f"json_extract_string(resource, '$.resourceType') AS __rt FROM ({source})"
    )
    parts = []
    for rtype in NOTES:
        mine = (
            "SELECT seq, source_file, location, resource FROM __note_all "
            f"WHERE __rt = {literal(rtype)}"
        )
        parts.append(mapped_notes_of_type(con, mine, load_id, rtype=rtype, plain=plain))
    return " UNION ALL BY NAME ".join(f"({p})" for p in parts)


def _for_setwise(con: Any, source: str, load_id: str = "", *, rtype: str) -> str:
    """The mapping's SQL for `_setwise.apply`, which knows no skips yet: a resource the
    loader would skip is marked irregular, so the per-resource mapper skips it.
    """
    sql = mapped_notes_of_type(con, source, load_id, rtype=rtype, plain=True)
    return f"SELECT * REPLACE (regular AND skip_code IS NULL AS regular) FROM ({sql})"


def note_mappings() -> dict[str, Any]:
    """Resource type -> its `SetwiseMapping` to note (for the loader)."""
    from medmine.ingest.fhir._setwise import Code, Ref, SetwiseMapping

    return {
        rtype: SetwiseMapping(
            resource_type=rtype,
            sql=partial(_for_setwise, rtype=rtype),
            tables=("note",),
            id_column="note_id",
            refs=(
                Ref("visit_occurrence_id", "visit_ref", "visit_type", "visit_key", "Encounter"),
                Ref("provider_id", "provider_ref", "provider_type", "provider_key", "Practitioner"),
            ),
            codes=(Code("code_vocabulary", "code", "code_display"),),
            ref_table="note",
        )
        for rtype in NOTES
    }
