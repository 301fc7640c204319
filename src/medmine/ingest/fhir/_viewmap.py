"""The FHIR -> OMOP mapping as ViewDefinitions, run set-wise over the raw FHIR store.

Stages, all in the database: raw resources (``mm_fhir_resource``) -> the mapping's
ViewDefinition (``views/<table>.json``, compiled by `medmine.fhir.views`) -> references
resolved by joins (`resolve_sql`: ``urn:uuid:`` and other ``fullUrl`` s of the same Bundle,
``Type/id``, absolute URLs, conditional ``Type?identifier=system|value`` through
``mm_identifier``, contained ``#id``) -> quarantine rules as SQL predicates, each with its reason
code -> OMOP rows. Row ids are the loader's (`medmine.warehouse.stable_id`, a registered
function), so both paths give the same rows.

`mapped_conditions` runs the ViewDefinition through the engine; its rows equal the per-resource
loader's on the bundled sample (``tests/ingest/test_fhir_viewmap.py``). The loader runs
`fast_conditions`, the same mapping read with one JSON parse per resource and direct paths
(exact on the plain shape it marks ``regular``; a test checks it gives the view's rows), through
`medmine.ingest.fhir._setwise` (`setwise_mappings` lists the types mapped this way).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medmine.fhir.views import compile_view
from medmine.ingest.codes import FHIR_SYSTEMS, TYPE_EHR
from medmine.warehouse.sql import ident, literal

#: Target table -> the ViewDefinition file of its mapping.
MAPPING_VIEWS = {
    "condition_occurrence": "condition_occurrence.json",
    "measurement_observation": "measurement_observation.json",
}

#: Conditional references name a resource type; its identifiers are kept under this table.
_IDENTIFIED = {
    "Patient": "person",
    "Practitioner": "provider",
    "Organization": "care_site",
    "Location": "location",
}


@cache
def mapping_view(table: str) -> dict[str, Any]:
    """The ViewDefinition (parsed JSON) that maps FHIR to OMOP table `table`."""
    name = MAPPING_VIEWS[table]
    text = resources.files("medmine.ingest.fhir").joinpath("views", name).read_text()
    return json.loads(text)


#: `stable_id`'s 63-bit mask and tag bit (tests hold `_stable_ids` to `stable_id` itself).
_MASK = (1 << 63) - 1
_TAG = 1 << 40


def _stable_ids(namespace: pa.Array, key: pa.Array) -> pa.Array:
    """Vectorised `stable_id` for DuckDB (NULL key -> NULL; a NULL namespace hashes as
    ``None``, as the per-value call would).

    The same hash as `stable_id` (BLAKE2b, which DuckDB has no function for), computed over
    the batch: one digest per distinct ``(namespace, key)`` and the 63-bit masking in numpy.
    With one namespace in the batch (the usual case: a constant), the distinct keys come
    from Arrow (`pyarrow.compute.unique`) and only those are hashed in Python.
    """
    spaces = pc.unique(namespace)
    if len(spaces) != 1:
        return _stable_ids_pairs(namespace, key)
    prefix = f"{spaces[0].as_py()}\x1f".encode()
    uniq = pc.unique(key)
    blake = hashlib.blake2b
    zero = bytes(8)
    digests = b"".join(
        zero if k is None else blake(prefix + k.encode(), digest_size=8).digest()
        for k in uniq.to_pylist()
    )
    ids = (np.frombuffer(digests, dtype=">u8") & np.uint64(_MASK)) | np.uint64(_TAG)
    at = pc.index_in(key, uniq, skip_nulls=False)
    out = pc.take(pa.array(ids.astype(np.int64), pa.int64()), at)
    return pc.if_else(pc.is_null(key), pa.scalar(None, pa.int64()), out)


def _stable_ids_pairs(namespace: pa.Array, key: pa.Array) -> pa.Array:
    """`_stable_ids` for a batch with several namespaces: one digest per distinct pair."""
    keys = key.to_pylist()
    spaces = namespace.to_pylist()
    blake = hashlib.blake2b
    digests = bytearray()
    cache: dict[tuple[Any, str], bytes] = {}
    for n, k in zip(spaces, keys, strict=True):
        if k is None:
            digests += bytes(8)
            continue
        d = cache.get((n, k))
        if d is None:
            d = cache[(n, k)] = blake(f"{n}\x1f{k}".encode(), digest_size=8).digest()
        digests += d
    ids = (np.frombuffer(bytes(digests), dtype=">u8") & np.uint64(_MASK)) | np.uint64(_TAG)
    return pa.array(
        ids.astype(np.int64), pa.int64(), mask=np.array([k is None for k in keys], dtype=bool)
    )


def register(con: Any) -> None:
    """Define the functions the mapping SQL uses on connection `con` (idempotent)."""
    con.execute("SELECT 1").fetchall()  # close any result left open (DuckDB refuses otherwise)
    try:
        con.create_function(
            "mm_stable_id", _stable_ids, ["VARCHAR", "VARCHAR"], "BIGINT", type="arrow"
        )
    except Exception as exc:  # noqa: BLE001 - DuckDB raises a generic error on a second call
        if "already" not in str(exc).lower():
            raise
    # A FHIR date, dateTime or instant -> naive UTC timestamp / date (medmine's reading rules:
    # a partial date is the first day of its period, with no time).
    con.execute(
        "CREATE OR REPLACE TEMP MACRO mm_fhir_ts(s) AS CASE "
        "WHEN length(s) > 10 AND regexp_matches(s, '(Z|[+-][0-9]{2}:[0-9]{2})$') "
        "THEN try_cast(s AS TIMESTAMPTZ) AT TIME ZONE 'UTC' "
        "WHEN length(s) > 10 THEN try_cast(s AS TIMESTAMP) END"
    )
    con.execute(
        "CREATE OR REPLACE TEMP MACRO mm_fhir_date(s) AS CASE "
        "WHEN length(s) = 10 THEN try_cast(s AS DATE) "
        "WHEN length(s) = 4 AND regexp_matches(s, '^[0-9]{4}$') "
        "THEN try_cast(s || '-01-01' AS DATE) "
        "WHEN length(s) = 7 AND substr(s, 5, 1) = '-' THEN try_cast(s || '-01' AS DATE) "
        "WHEN length(s) > 10 THEN CAST(mm_fhir_ts(s) AS DATE) END"
    )
    systems = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
        {"system": list(FHIR_SYSTEMS), "vocabulary_id": list(FHIR_SYSTEMS.values())}
    )
    con.execute("CREATE OR REPLACE TEMP TABLE mm_fhir_system AS SELECT * FROM systems")
    # The known systems as a MAP constant: a lookup per value, where a subquery on
    # mm_fhir_system cost a join per use (measured 0.35 CPU-s on 61,008 Observations).
    known = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in FHIR_SYSTEMS.items())
    con.execute(
        "CREATE OR REPLACE TEMP MACRO mm_vocabulary(s) AS CASE WHEN s IS NULL OR s = '' "
        f"THEN 'None' ELSE coalesce(MAP {{{known}}}[s], "
        "nullif(regexp_extract(rtrim(s, '/'), '[^/]*$'), ''), s) END"
    )


#: ``Type/id`` at the end of a relative or absolute reference URL (``/_history/n`` dropped).
_TYPE_ID = r"(^|/)([A-Z][A-Za-z]*)/([^/]{1,64})(/_history/[^/]*)?/*$"


def ref_part(ref: str, group: int) -> str:
    """SQL: the type (`group` 2) or id (3) that `_TYPE_ID` finds in reference text `ref`,
    else NULL.

    The common ``Type/id`` (one slash) is split with string functions, about ten times
    cheaper than the regular expression (measured 0.55 against 5.0 us per reference on the
    sample); every other form takes the expression. A test holds both to the same results.
    """
    one = f"(strpos({ref}, '/') > 0 AND strpos(substr({ref}, strpos({ref}, '/') + 1), '/') = 0)"
    rtype, rid = f"split_part({ref}, '/', 1)", f"substr({ref}, strpos({ref}, '/') + 1)"
    ok = f"regexp_full_match({rtype}, '[A-Z][A-Za-z]*') AND length({rid}) BETWEEN 1 AND 64"
    return (
        f"CASE WHEN {one} THEN CASE WHEN {ok} THEN {rtype if group == 2 else rid} END "
        f"ELSE nullif(regexp_extract({ref}, {literal(_TYPE_ID)}, {group}), '') END"
    )


def resolve_sql(rows: str, column: str, urls: str = "mm_fhir_resource") -> str:
    """SQL adding ``<column>_type`` and ``<column>_key`` (the target's type and identity) to
    relation `rows` (which has ``source_file`` and the reference text in `column`).

    Resolution order follows the loader: a ``fullUrl`` of the same file (a Bundle entry:
    ``urn:uuid:`` or absolute), else a contained resource (``#id``, found in the referring
    resource's JSON column `owner`), else a conditional reference through ``mm_identifier``,
    else the ``Type/id`` at the end of a relative or absolute URL (``/_history/n`` dropped).
    Unresolved references give NULLs. `urls` is a table of ``(source_file, full_url,
    resource_type, resource_id)`` (the raw store, or a subset of it).
    """
    c = ident(column)
    t, k = ident(f"{column}_type"), ident(f"{column}_key")
    cases = " ".join(f"WHEN {literal(a)} THEN {literal(b)}" for a, b in _IDENTIFIED.items())
    cond = literal(r"^(?:.*/)?([A-Z][A-Za-z]*)\?identifier=(?:(.*)\|)?([^|&]+)$")
    return f"""
        SELECT r.*,
          CASE WHEN u.resource_type IS NOT NULL THEN u.resource_type
               WHEN starts_with(r.{c}, '#') THEN (
                 SELECT list_filter(coalesce(json_extract(o.resource::JSON, '$.contained[*]'),
                   []::JSON[]), lambda x: x->>'id' = substr(r.{c}, 2))[1]->>'resourceType'
                 FROM mm_fhir_resource o
                 WHERE o.source_file = r.source_file AND o.location = r.location LIMIT 1)
               WHEN contains(r.{c}, '?') THEN
                 CASE WHEN i.row_id IS NOT NULL THEN regexp_extract(r.{c}, {cond}, 1) END
               WHEN starts_with(r.{c}, 'urn:') THEN NULL
               ELSE {ref_part("r." + c, 2)} END AS {t},
          CASE WHEN u.resource_type IS NOT NULL THEN u.resource_id
               WHEN starts_with(r.{c}, '#') THEN r.{c}
               WHEN contains(r.{c}, '?') THEN CAST(i.row_id AS VARCHAR)
               WHEN starts_with(r.{c}, 'urn:') THEN NULL
               ELSE {ref_part("r." + c, 3)} END AS {k}
        FROM ({rows}) r
        LEFT JOIN (
            SELECT source_file, full_url, any_value(resource_type) AS resource_type,
                   any_value(resource_id) AS resource_id
            FROM {urls} WHERE full_url IS NOT NULL GROUP BY ALL
        ) u ON u.source_file = r.source_file AND u.full_url = r.{c}
        LEFT JOIN (
            SELECT table_name, system, value, min(row_id) AS row_id FROM mm_identifier GROUP BY ALL
        ) i ON contains(r.{c}, '?')
           AND i.table_name = CASE regexp_extract(r.{c}, {cond}, 1) {cases} END
           AND i.system = coalesce(regexp_extract(r.{c}, {cond}, 2), '')
           AND i.value = url_decode(regexp_extract(r.{c}, {cond}, 3))
    """


def resolve_plain_sql(rows: str, column: str, urls: str) -> str:
    """`resolve_sql` for literal references only (no ``#id``, no conditional reference: the
    plain shape rules them out): a ``fullUrl`` of the same file, else the ``Type/id`` at the
    end of the URL. `urls` holds one row per ``(source_file, full_url)``.
    """
    c = ident(column)
    t, k = ident(f"{column}_type"), ident(f"{column}_key")
    return f"""
        SELECT r.*,
          CASE WHEN u.resource_type IS NOT NULL THEN u.resource_type
               WHEN r.{c} IS NULL OR starts_with(r.{c}, 'urn:') THEN NULL
               ELSE {ref_part("r." + c, 2)} END AS {t},
          CASE WHEN u.resource_type IS NOT NULL THEN u.resource_id
               WHEN r.{c} IS NULL OR starts_with(r.{c}, 'urn:') THEN NULL
               ELSE {ref_part("r." + c, 3)} END AS {k}
        FROM ({rows}) r
        LEFT JOIN {urls} u ON u.source_file = r.source_file AND u.full_url = r.{c}
    """


def _row_id(column: str, target: str) -> str:
    """The row id of a resolved reference when it is of type `target`, else NULL."""
    t, k = ident(f"{column}_type"), ident(f"{column}_key")
    conditional = f"contains({ident(column)}, '?')"
    return (
        f"CASE WHEN {t} = {literal(target)} THEN CASE WHEN {conditional} "
        f"THEN CAST({k} AS BIGINT) ELSE mm_stable_id({literal('fhir:' + target)}, {k}) END END"
    )


#: SQL predicates over a raw resource ``j`` (JSON) that say it has the plain shape the SQL
#: mapping reads exactly as the per-resource mapper would; any other resource is mapped by it.
_SHAPE_MACROS = (
    # a Reference, if present: an object whose reference is a non-empty literal (no
    # conditional or contained reference: the per-resource mapper resolves those in order)
    "mm_ref_ok(j, p) AS json_type(j, p) IS NULL OR (json_type(j, p) = 'OBJECT' "
    "AND json_type(j, p || '.reference') = 'VARCHAR' "
    "AND json_extract_string(j, p || '.reference') <> '' "
    "AND NOT contains(json_extract_string(j, p || '.reference'), '?') "
    "AND NOT starts_with(json_extract_string(j, p || '.reference'), '#'))",
    # a CodeableConcept, if present: codings are objects with string code/system/display
    "mm_cc_ok(j, p) AS json_type(j, p) IS NULL OR (json_type(j, p) = 'OBJECT' "
    "AND json_type(j, p || '.code') IS NULL AND json_type(j, p || '.system') IS NULL "
    "AND coalesce(json_type(j, p || '.text'), 'VARCHAR') = 'VARCHAR' "
    "AND (json_type(j, p || '.coding') IS NULL OR (json_type(j, p || '.coding') = 'ARRAY' "
    "AND coalesce(list_bool_and(list_transform(json_extract(j, p || '.coding[*]'), "
    "lambda c: json_type(c) = 'OBJECT' "
    "AND coalesce(json_type(c, '$.code'), 'VARCHAR') = 'VARCHAR' "
    "AND coalesce(json_extract_string(c, '$.code'), 'x') <> '' "
    "AND coalesce(json_type(c, '$.system'), 'VARCHAR') = 'VARCHAR' "
    "AND coalesce(json_type(c, '$.display'), 'VARCHAR') = 'VARCHAR')), true))))",
    # a date or dateTime, if present: FHIR's own format, at most microseconds, year 1 on
    "mm_date_ok(j, p) AS json_type(j, p) IS NULL OR (json_type(j, p) = 'VARCHAR' "
    "AND regexp_full_match(json_extract_string(j, p), '[0-9]{4}(-[0-9]{2}(-[0-9]{2}"
    "(T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2}))?)?)?') "
    "AND NOT starts_with(json_extract_string(j, p), '0000'))",
)


#: Typed reading (the loader's fast paths): `json_transform` into a structure where objects
#: and lists are STRUCTs and LISTs and every primitive read stays a JSON leaf (its JSON text),
#: so its JSON type is still known (a string leaf starts with a quote): a wrong-type
#: primitive makes the resource irregular, and the per-resource mapper quarantines it.
_CC = {
    "coding": [{"system": "JSON", "code": "JSON", "display": "JSON"}],
    "text": "JSON",
    "code": "JSON",  # a bare Coding where a CodeableConcept belongs: irregular
    "system": "JSON",
}
_REF = {"reference": "JSON"}
_TYPED_MACROS = (
    # a JSON leaf that is absent or a string / a number
    "mm_js(v) AS v IS NULL OR starts_with(v, '\"')",
    # (a JSON number's text starts with a digit or a minus sign)
    "mm_jn(v) AS v IS NULL OR ascii(v) BETWEEN 48 AND 57 OR ascii(v) = 45",
    # a Coding: an object with a known field, string system/display, a non-empty string code
    "mm_tcoding_ok(c) AS (c.code IS NOT NULL OR c.system IS NOT NULL OR c.display IS NOT NULL) "
    "AND mm_js(c.code) AND c.code IS DISTINCT FROM '\"\"' AND mm_js(c.system) "
    "AND mm_js(c.display)",
    # a CodeableConcept, if present: coding and/or text, no bare Coding fields
    "mm_tcc_ok(cc) AS cc IS NULL OR ((cc.coding IS NOT NULL OR cc.text IS NOT NULL) "
    "AND cc.code IS NULL AND cc.system IS NULL AND mm_js(cc.text) "
    "AND coalesce(list_bool_and(list_transform(cc.coding, lambda c: mm_tcoding_ok(c))), true))",
    # a Reference, if present: a non-empty literal reference (no conditional or contained one)
    "mm_tref_ok(r) AS r IS NULL OR (starts_with(r.reference, '\"') "
    "AND r.reference <> '\"\"' AND NOT contains(r.reference, '?') "
    "AND NOT starts_with(r.reference, '\"#'))",
    # a date or dateTime leaf, if present: FHIR's own format, at most microseconds, year 1 on
    "mm_tdate_ok(v) AS v IS NULL OR (starts_with(v, '\"') AND regexp_full_match(v ->> '$', "
    "'[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?"
    "(Z|[+-][0-9]{2}:[0-9]{2}))?)?)?') AND NOT starts_with(v, '\"0000'))",
    # the first coding with a code, of a CodeableConcept struct
    "mm_tcoded(cc) AS list_filter(cc.coding, lambda c: c.code IS NOT NULL)[1]",
)


def _struct(fields: dict[str, Any]) -> str:
    """A `json_transform` structure, as an SQL literal."""
    return literal(json.dumps(fields))


def _guard(objects: tuple[str, ...], lists: tuple[str, ...], extra: str = "") -> str:
    """Raw-text guard (a regular expression) for what the typed parse cannot tell: a
    modifier extension, a JSON null (read as absent), a non-object where one of `objects` is
    read (it would read as an object of NULLs), a non-list where one of `lists` is read (it
    would read as absent). A match makes the resource irregular; a match inside a string
    value only sends a plain resource to the per-resource mapper.
    """
    return (
        r"modifierExtension|:\s*null"
        + (f"|{extra}" if extra else "")
        + f'|"({"|".join(objects)})"'
        + r"\s*:\s*[^\s{]"
        + f'|"({"|".join(lists)})"'
        + r"\s*:\s*[^\s\[]"
    )


def _condition_shape(j: str) -> str:
    """SQL: the raw Condition ``j`` has the plain shape the SQL mapping covers."""
    return (
        f"(json_type({j}, '$.subject') = 'OBJECT' AND mm_ref_ok({j}, '$.subject') "
        f"AND mm_ref_ok({j}, '$.encounter') AND mm_ref_ok({j}, '$.asserter') "
        f"AND mm_ref_ok({j}, '$.recorder') AND json_type({j}, '$.code') = 'OBJECT' "
        f"AND mm_cc_ok({j}, '$.code') AND mm_cc_ok({j}, '$.clinicalStatus') "
        f"AND mm_date_ok({j}, '$.onsetDateTime') AND mm_date_ok({j}, '$.recordedDate') "
        f"AND mm_date_ok({j}, '$.abatementDateTime') AND (json_type({j}, '$.onsetPeriod') "
        f"IS NULL OR (json_type({j}, '$.onsetPeriod') = 'OBJECT' "
        f"AND mm_date_ok({j}, '$.onsetPeriod.start'))))"
    )


def mapped_conditions(con: Any, source: str, load_id: str = "") -> str:
    """SQL of the condition_occurrence rows of the Conditions in relation `source`.

    `source` has ``seq`` (an order number), ``source_file``, ``location`` and ``resource``
    (JSON text). Besides the OMOP columns, each row has ``seq``, ``source_file``,
    ``location``, ``regular`` (the resource has the plain shape the SQL covers),
    ``reason_code`` (NULL when the row loads), the references and the codes to register.

    Quarantine rules, as predicates in this order (the loader's reason codes): no subject
    reference (``missing_field``), a subject that resolves to no resource
    (``dangling_reference``) or to another type (``invalid_value``) or to a person not in the
    warehouse (``dangling_reference``), no coded or text code (``missing_field``), no date
    (``missing_field``), a date that does not parse (``invalid_date``).
    """
    register(con)
    for macro in _SHAPE_MACROS:
        con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}")
    view = dict(mapping_view("condition_occurrence"))
    # Where each row came from rides along inside the resource (keys FHIR never uses).
    first = dict(view["select"][0])
    first["column"] = [
        *first["column"],
        {"name": "seq", "path": "__seq", "type": "integer"},
        {"name": "source_file", "path": "__file", "type": "string"},
        {"name": "location", "path": "__loc", "type": "string"},
    ]
    view["select"] = [first, *view["select"][1:]]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __cond_src AS SELECT *, resource::JSON AS j FROM ({source})"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __cond_urls AS SELECT source_file, full_url, resource_type,"
        " resource_id FROM mm_fhir_resource WHERE full_url IS NOT NULL AND source_file IN "
        "(SELECT DISTINCT source_file FROM __cond_src)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __conditions AS SELECT json_merge_patch(j, "
        "json_object('__file', source_file, '__loc', location, '__seq', seq)) AS resource "
        "FROM __cond_src"
    )
    resolved = compile_view(view, "__conditions", "resource", typed=True).sql
    for column in ("subject", "encounter", "asserter", "recorder"):
        resolved = resolve_sql(resolved, column, "__cond_urls")
    regular = f"{_condition_shape('s.j')} AND NOT contains(s.resource, 'modifierExtension')"
    return _condition_rows(f"({resolved}) x JOIN __cond_src s ON s.seq = x.seq", regular)


def _condition_rows(source: str, regular: str) -> str:
    """The final projection of the Condition mapping over `source` (the view's columns with
    the references resolved, as ``x``), `regular` being the plain-shape predicate.
    """
    start = "coalesce(onset, onset_period_start, recorded)"
    provider = "CASE WHEN has_asserter THEN 'asserter' ELSE 'recorder' END"
    return f"""
        SELECT
          mm_stable_id('fhir:Condition', id) AS condition_occurrence_id,
          {_row_id("subject", "Patient")} AS person_id,
          0 AS condition_concept_id,
          mm_fhir_date({start}) AS condition_start_date,
          mm_fhir_ts({start}) AS condition_start_datetime,
          mm_fhir_date(abatement) AS condition_end_date,
          mm_fhir_ts(abatement) AS condition_end_datetime,
          {TYPE_EHR} AS condition_type_concept_id,
          {_row_id("encounter", "Encounter")} AS visit_occurrence_id,
          CASE WHEN has_asserter THEN {_row_id("asserter", "Practitioner")}
               ELSE {_row_id("recorder", "Practitioner")} END AS provider_id,
          CASE WHEN code IS NOT NULL THEN mm_vocabulary(code_system) || ':' || code
               ELSE code_text END AS condition_source_value,
          clinical_status AS condition_status_source_value,
          CASE
            WHEN subject IS NULL THEN 'missing_field'
            WHEN subject_type IS NULL THEN 'dangling_reference'
            WHEN subject_type <> 'Patient' THEN 'invalid_value'
            WHEN {_row_id("subject", "Patient")} NOT IN (SELECT person_id FROM person)
              THEN 'dangling_reference'
            WHEN code IS NULL AND coalesce(trim(code_text), '') = '' THEN 'missing_field'
            WHEN {start} IS NULL THEN 'missing_field'
            WHEN mm_fhir_date({start}) IS NULL THEN 'invalid_date'
            WHEN abatement IS NOT NULL AND mm_fhir_date(abatement) IS NULL THEN 'invalid_date'
          END AS reason_code,
          x.seq, x.source_file, x.location,
          {regular} AS regular,
          'Condition/' || id AS source_key,
          encounter, encounter_type, encounter_key,
          {provider} AS provider_field,
          CASE WHEN has_asserter THEN asserter ELSE recorder END AS provider_ref,
          CASE WHEN has_asserter THEN asserter_type ELSE recorder_type END AS provider_type,
          CASE WHEN has_asserter THEN asserter_key ELSE recorder_key END AS provider_key,
          mm_vocabulary(code_system) AS code_vocabulary, code,
          coalesce(code_display, code_text) AS code_display,
          mm_vocabulary(status_system) AS status_vocabulary, clinical_status,
          coalesce(status_display, status_text) AS status_display
        FROM {source}
    """


_CONDITION = {
    "id": "JSON",
    "subject": _REF,
    "encounter": _REF,
    "asserter": _REF,
    "recorder": _REF,
    "code": _CC,
    "clinicalStatus": _CC,
    "onsetDateTime": "JSON",
    "onsetPeriod": {"start": "JSON"},
    "recordedDate": "JSON",
    "abatementDateTime": "JSON",
}
_CONDITION_GUARD = _guard(
    ("subject", "encounter", "asserter", "recorder", "onsetPeriod"), ("coding",)
)


def fast_conditions(con: Any, source: str, load_id: str = "") -> str:
    """`mapped_conditions` for the loader: the same rows, read with one typed JSON parse per
    resource (`json_transform` into `_CONDITION`, primitives as JSON leaves) in one pipeline.

    Exact on the plain shape only (``regular``: objects where FHIR has objects, strings where
    it has strings, `_CONDITION_GUARD` not matched); the loader maps every other resource
    with the per-resource mapper, and a test checks both functions give the same rows.
    """
    register(con)
    for macro in (*_SHAPE_MACROS, *_TYPED_MACROS):
        con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __cond_purls AS SELECT source_file, full_url, "
        "any_value(resource_type) AS resource_type, any_value(resource_id) AS resource_id "
        "FROM mm_fhir_resource WHERE full_url IS NOT NULL AND source_file IN "
        f"(SELECT DISTINCT source_file FROM ({source})) GROUP BY ALL"
    )
    shape = (
        "starts_with(f.id, '\"') AND f.subject IS NOT NULL AND mm_tref_ok(f.subject) "
        "AND mm_tref_ok(f.encounter) AND mm_tref_ok(f.asserter) AND mm_tref_ok(f.recorder) "
        "AND f.code IS NOT NULL AND mm_tcc_ok(f.code) AND mm_tcc_ok(f.clinicalStatus) "
        "AND mm_tdate_ok(f.onsetDateTime) AND mm_tdate_ok(f.recordedDate) "
        "AND mm_tdate_ok(f.abatementDateTime) AND mm_tdate_ok(f.onsetPeriod.start) AND NOT odd"
    )
    code, status = "mm_tcoded(f.code)", "mm_tcoded(f.clinicalStatus)"
    rows = f"""
        SELECT seq, source_file, location, coalesce({shape}, false) AS regular,
          f.id ->> '$' AS id,
          f.subject.reference ->> '$' AS subject,
          f.encounter.reference ->> '$' AS encounter,
          f.asserter.reference ->> '$' AS asserter,
          f.asserter IS NOT NULL AS has_asserter,
          f.recorder.reference ->> '$' AS recorder,
          {code}.system ->> '$' AS code_system,
          {code}.code ->> '$' AS code,
          {code}.display ->> '$' AS code_display,
          f.code.text ->> '$' AS code_text,
          f.onsetDateTime ->> '$' AS onset,
          f.onsetPeriod.start ->> '$' AS onset_period_start,
          f.recordedDate ->> '$' AS recorded,
          f.abatementDateTime ->> '$' AS abatement,
          {status}.code ->> '$' AS clinical_status,
          {status}.system ->> '$' AS status_system,
          {status}.display ->> '$' AS status_display,
          f.clinicalStatus.text ->> '$' AS status_text
        FROM (SELECT seq, source_file, location,
                     regexp_matches(resource, {literal(_CONDITION_GUARD)}) AS odd,
                     json_transform(resource, {_struct(_CONDITION)}) AS f FROM ({source}))
    """
    for column in ("subject", "encounter", "asserter", "recorder"):
        rows = resolve_plain_sql(rows, column, "__cond_purls")
    return _condition_rows(f"({rows}) x", "x.regular")


def condition_mapping() -> Any:
    """The `SetwiseMapping` of Condition -> condition_occurrence (used by the loader)."""
    from medmine.ingest.fhir._setwise import Code, Ref, SetwiseMapping

    return SetwiseMapping(
        resource_type="Condition",
        sql=fast_conditions,
        tables=("condition_occurrence",),
        id_column="condition_occurrence_id",
        refs=(
            Ref("visit_occurrence_id", "encounter", "encounter_type", "encounter_key", "Encounter"),
            Ref("provider_id", "provider_ref", "provider_type", "provider_key", "Practitioner"),
        ),
        codes=(
            Code("code_vocabulary", "code", "code_display"),
            Code("status_vocabulary", "clinical_status", "status_display"),
        ),
        ref_table="condition_occurrence",
    )
