"""Shared plumbing of the per-type view mappings (`_viewmap_procedure`, `_viewmap_drug`,
`_viewmap_note`, `_viewmap_allergy`), the same stages as `_viewmap.mapped_conditions`.

Every ``mapped_*`` function returns the SQL of one row per resource of relation `source`
(``seq``, ``source_file``, ``location``, ``resource``), with the OMOP columns of its target
table and these columns for the loader:

``reason_code``
    NULL when the row loads, else the per-resource loader's reason code (quarantine).
``skip_code``
    NULL, or the reason a resource is skipped by design (``not_mapped``: a report without
    inline text). Only `mapped_notes` sets it; a skipped row has no reason code.
``regular``
    The resource has the plain shape the SQL reads exactly as the per-resource mapper does;
    any other resource must go to the per-resource mapper (it writes the exact messages).
``seq``, ``source_file``, ``location``, ``source_key``
    Where the row came from (``source_key`` is ``Type/id``, the provenance key).
``visit_ref``, ``visit_type``, ``visit_key``; ``provider_ref``, ``provider_type``, ``provider_key``
    The optional references as written and what they resolve to (type and identity), for
    ``mm_reference`` (a reference that resolves to nothing, or to a type the column does
    not take, is kept there by the loader).
``code_vocabulary``, ``code``, ``code_display``
    The coding registered in ``mm_source_concept`` (NULL when the concept is text only).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from medmine.fhir.views import compile_view
from medmine.ingest.fhir._viewmap import _SHAPE_MACROS, register, resolve_plain_sql, resolve_sql
from medmine.warehouse.sql import ident, literal

#: Python's ``str.strip()`` whitespace (``str.isspace``), as an RE2 character class.
_SPACE = (
    r"[\t-\r\x1c-\x20\x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}"
    r"\x{205f}\x{3000}]"
)

#: Macros of the per-type mappings, beside `_viewmap._SHAPE_MACROS`.
_MACROS = (
    # text that Python's strip() empties (a required concept given as blank text is missing)
    f"mm_blank(s) AS s IS NULL OR regexp_full_match(s, '{_SPACE}*')",
    # a JSON number, if present (the loader's number(): a bool or a string is invalid_value)
    "mm_num_ok(j, p) AS json_type(j, p) IS NULL OR json_type(j, p) IN "
    "('NULL', 'BIGINT', 'UBIGINT', 'DOUBLE')",
    # a string, if present
    "mm_str_ok(j, p) AS json_type(j, p) IS NULL OR json_type(j, p) = 'VARCHAR'",
    # an object, if present
    "mm_obj_ok(j, p) AS json_type(j, p) IS NULL OR json_type(j, p) = 'OBJECT'",
    # a list whose first element is {actor: Reference} (or absent / empty), the loader's
    # performer[0].actor; a bare Reference as first element is left to the per-resource mapper
    "mm_actor_ok(j, p) AS json_type(j, p) IS NULL OR (json_type(j, p) = 'ARRAY' AND "
    "(json_array_length(j, p) = 0 OR (json_type(j, p || '[0]') = 'OBJECT' "
    "AND json_type(j, p || '[0].reference') IS NULL AND mm_ref_ok(j, p || '[0].actor'))))",
    # a list whose first element is a Reference (or absent / empty): the loader's _first()
    "mm_ref0_ok(j, p) AS json_type(j, p) IS NULL OR (json_type(j, p) = 'ARRAY' AND "
    "(json_array_length(j, p) = 0 OR (json_type(j, p || '[0]') = 'OBJECT' "
    "AND mm_ref_ok(j, p || '[0]'))))",
)


@cache
def view_file(name: str) -> dict[str, Any]:
    """The ViewDefinition (parsed JSON) in ``views/<name>.json``."""
    text = resources.files("medmine.ingest.fhir").joinpath("views", f"{name}.json").read_text()
    return json.loads(text)


def prepare(con: Any, view_name: str, source: str, tag: str) -> str:
    """Stage `source` and return the SQL of view `view_name` over it, with ``seq``,
    ``source_file`` and ``location`` added to its columns.

    Creates the temporary table ``__<tag>_src`` (`source` materialised)
    and the view ``__<tag>_res`` the compiled view reads.
    """
    register(con)
    for macro in (*_SHAPE_MACROS, *_MACROS):
        con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}")
    view = dict(view_file(view_name))
    # Where each row came from rides along inside the resource (keys FHIR never uses).
    first = dict(view["select"][0])
    first["column"] = [
        *first["column"],
        {"name": "seq", "path": "__seq", "type": "integer"},
        {"name": "source_file", "path": "__file", "type": "string"},
        {"name": "location", "path": "__loc", "type": "string"},
    ]
    view["select"] = [first, *view["select"][1:]]
    src, res = ident(f"__{tag}_src"), ident(f"__{tag}_res")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {src} AS SELECT * FROM ({source})")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {res} AS SELECT json_merge_patch(resource::JSON, "
        f"json_object('__file', source_file, '__loc', location, '__seq', seq)) AS resource "
        f"FROM {src}"
    )
    return compile_view(view, f"__{tag}_res", "resource", typed=True).sql


#: SQL types of the typed view columns (as `medmine.fhir.views` casts them).
_CASTS = {"string": "VARCHAR", "decimal": "DOUBLE", "integer": "BIGINT", "boolean": "BOOLEAN"}
_CODED = "where(code.exists())"
_INLINE = "where(data.exists())"


def _steps(path: str) -> list[str]:
    """FHIRPath `path` split at its top-level dots."""
    out, depth, cur = [], 0, ""
    for ch in path:
        if ch == "." and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    return [*out, cur]


def plain_column(path: str, typ: str | None) -> str:
    """SQL over ``f`` (the resource's top-level fields, each as JSON) giving what FHIRPath
    `path` gives on a resource of the plain shape (objects where FHIR has objects, a first
    element that is not null): ``a.b.first().c`` -> ``f.a ->> '$.b[0].c'``,
    ``x.ofType(dateTime)`` -> ``f.xDateTime``, ``x.ofType(Period).start``,
    ``getResourceKey()``, ``x.exists()``, ``cc.coding.where(code.exists()).first().k``
    (the first coding with a code) and, for a collection, ``list.where(data.exists())``.

    Only these forms (all the mapping views use) are translated; any other raises
    `ValueError`. A member step reads an object: a list must be entered with ``first()``
    (or ``where(...)`` above), as every mapping view does; the tests run every view both
    ways against the per-resource loader, so an edit that breaks this shows there.
    """
    steps = _steps(path)
    if steps == ["getResourceKey()"]:
        return "(f.\"id\" ->> '$')"
    top, rest = steps[0], steps[1:]
    if not re.fullmatch(r"[A-Za-z]+", top):
        raise ValueError(f"not a plain path: {path}")
    if rest[:1] in (["ofType(dateTime)"], ["ofType(Period)"]):
        top += "DateTime" if rest[0] == "ofType(dateTime)" else "Period"
        rest = rest[1:]
    field = f"f.{ident(top)}"
    json_path, tail = "$", None
    for i, step in enumerate(rest):
        if step == "first()":
            json_path += "[0]"
        elif re.fullmatch(r"[A-Za-z]+", step):
            json_path += f".{step}"
        elif step in ("exists()", _INLINE) or (
            step == _CODED and rest[i + 1 : i + 2] == ["first()"]
        ):
            tail = (step, rest[i + 1 :])
            break
        else:
            raise ValueError(f"not a plain path: {path}")
    if tail is None:
        value = f"({field} ->> {literal(json_path)})"
        return value if typ in (None, "string") else f"TRY_CAST({value} AS {_CASTS[typ]})"
    step, after = tail
    if step == "exists()" and not after and json_path == "$":
        return f"({field} IS NOT NULL)"
    if step == _INLINE and not after:  # a list (of objects): the items with inline data
        return (
            f"list_filter(coalesce(json_extract({field}, {literal('$[*]' + json_path[1:])}), "
            "[]::JSON[]), lambda a: coalesce(json_type(a, '$.data'), 'NULL') <> 'NULL')"
        )
    if step == _CODED and len(after) == 2 and re.fullmatch(r"[A-Za-z]+", after[1]):
        coded = (
            f"list_filter(coalesce(json_extract({field}, {literal(json_path + '[*]')}), "
            "[]::JSON[]), lambda c: coalesce(json_type(c, '$.code'), 'NULL') <> 'NULL')[1]"
        )
        return f"({coded} ->> {literal('$.' + after[1])})"
    raise ValueError(f"not a plain path: {path}")


def prepare_plain(con: Any, view_name: str, source: str, tag: str) -> str:
    """`prepare` for the loader: the same columns as the compiled view, read by
    `plain_column` from one `json_transform` of the resource's top-level fields (one JSON
    parse per resource instead of one per FHIRPath step). Exact on the plain shape only,
    which is what ``regular`` certifies; the tests hold both to the per-resource loader.
    """
    register(con)
    for macro in (*_SHAPE_MACROS, *_MACROS):
        con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}")
    view = view_file(view_name)
    cols = [c for sel in view["select"] for c in sel["column"]]
    fields: set[str] = set()
    items = []
    for c in cols:
        sql = plain_column(c["path"], None if c.get("collection") else c.get("type", "string"))
        fields |= set(re.findall(r'f\."?([A-Za-z]+)"?', sql))
        items.append(f"{sql} AS {ident(c['name'])}")
    shape = literal(json.dumps(dict.fromkeys(sorted(fields), "JSON")))
    src = ident(f"__{tag}_src")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {src} AS SELECT * FROM ({source})")
    return (
        f"SELECT {', '.join(items)}, seq, source_file, location FROM "
        f"(SELECT seq, source_file, location, json_transform(resource, {shape}) AS f "
        f"FROM {src} WHERE json_extract_string(resource, '$.resourceType') = "
        f"{literal(view['resource'])})"
    )


def resolved(con: Any, sql: str, tag: str, *columns: str, plain: bool = False) -> str:
    """SQL of view `sql`'s rows with each reference column of `columns` resolved
    (``<c>_type``, ``<c>_key``, by `resolve_sql`).

    The view's rows are kept in ``__<tag>_view``, and the ``fullUrl`` index the joins read
    (``__<tag>_urls``) holds only the raw-store entries those references name in their own
    file: every `resolve_sql` join groups that index, so it is kept to what can match
    rather than every entry of every file (which made the cost grow with the raw store).
    With `plain`, references are resolved by `resolve_plain_sql` (literal references only:
    the plain shape, which ``regular`` certifies, has no conditional or contained one).
    """
    view, urls = ident(f"__{tag}_view"), ident(f"__{tag}_urls")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS {sql}")
    named = " UNION ".join(
        f"SELECT source_file, {ident(c)} AS ref FROM {view} WHERE {ident(c)} IS NOT NULL"
        for c in columns
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {urls} AS SELECT r.source_file, r.full_url, "
        "any_value(r.resource_type) AS resource_type, any_value(r.resource_id) AS resource_id "
        f"FROM mm_fhir_resource r SEMI JOIN ({named}) w "
        "ON r.source_file = w.source_file AND r.full_url = w.ref GROUP BY ALL"
    )
    out = f"SELECT * FROM {view}"
    for column in columns:
        if plain:
            out = resolve_plain_sql(out, column, urls)
        else:
            out = resolve_sql(out, column, f"__{tag}_urls")
    return out


def row_id(column: str, target: str) -> str:
    """SQL: the row id of resolved reference `column` when it is of type `target`, else NULL."""
    t, k = ident(f"{column}_type"), ident(f"{column}_key")
    conditional = f"contains({ident(column)}, '?')"
    return (
        f"CASE WHEN {t} = {literal(target)} THEN CASE WHEN {conditional} "
        f"THEN CAST({k} AS BIGINT) ELSE mm_stable_id({literal('fhir:' + target)}, {k}) END END"
    )


def subject_rules(column: str) -> str:
    """CASE branches: the required Patient reference `column` (the loader's ``ctx.person``)."""
    c, t = ident(column), ident(f"{column}_type")
    return (
        f"WHEN {c} IS NULL THEN 'missing_field' "
        f"WHEN {t} IS NULL THEN 'dangling_reference' "
        f"WHEN {t} <> 'Patient' THEN 'invalid_value' "
    )


def unknown_person_rule(column: str) -> str:
    """CASE branch: the Patient is neither in this load nor in the warehouse. Last, because
    the loader lets such a record wait for its Patient and decides at the end of the load.
    """
    return (
        f"WHEN {row_id(column, 'Patient')} NOT IN (SELECT person_id FROM person) "
        "THEN 'dangling_reference' "
    )


def code_rule(prefix: str) -> str:
    """CASE branch: a required concept with no coded value and no (non-blank) text."""
    p = ident(prefix)
    return f"WHEN {p} IS NULL AND mm_blank({ident(prefix + '_text')}) THEN 'missing_field' "


def date_rules(start: str, *ends: str) -> str:
    """CASE branches: no start date (``missing_field``), a start or end that does not parse."""
    out = f"WHEN {start} IS NULL THEN 'missing_field' "
    out += f"WHEN mm_fhir_date({start}) IS NULL THEN 'invalid_date' "
    for end in ends:
        out += f"WHEN {end} IS NOT NULL AND mm_fhir_date({end}) IS NULL THEN 'invalid_date' "
    return out


def source_value(prefix: str, *, text: bool) -> str:
    """SQL: ``VOCAB:code`` of the coding in columns `prefix`, `prefix`_system; with `text`,
    a concept given only as text gives the text itself (the loader's required concepts).
    """
    p, s = ident(prefix), ident(prefix + "_system")
    coded = f"mm_vocabulary({s}) || ':' || {p}"
    if not text:
        return f"CASE WHEN {p} IS NOT NULL THEN {coded} END"
    return f"CASE WHEN {p} IS NOT NULL THEN {coded} ELSE {ident(prefix + '_text')} END"


def code_columns(prefix: str, out: str = "code") -> str:
    """SQL select items: the coding of `prefix` to register in ``mm_source_concept``."""
    p = ident(prefix)
    return (
        f"CASE WHEN {p} IS NOT NULL THEN mm_vocabulary({ident(prefix + '_system')}) END "
        f"AS {ident(out + '_vocabulary')}, {p} AS {ident(out)}, "
        f"CASE WHEN {p} IS NOT NULL THEN coalesce({ident(prefix + '_display')}, "
        f"{ident(prefix + '_text')}) END AS {ident(out + '_display')}"
    )


def ref_columns(column: str, out: str) -> str:
    """SQL select items: reference `column` as written and resolved, named `out`_ref/_type/_key."""
    c = ident(column)
    return (
        f"{c} AS {ident(out + '_ref')}, {ident(column + '_type')} AS {ident(out + '_type')}, "
        f"{ident(column + '_key')} AS {ident(out + '_key')}"
    )


def cc_shape(j: str, path: str) -> str:
    """SQL: the CodeableConcept at `path` (if present) has the plain shape."""
    return f"mm_cc_ok({j}, {literal(path)})"


def ref_shape(j: str, path: str) -> str:
    """SQL: the Reference at `path` (if present) has the plain shape. A required reference
    may be absent too: its rule (``missing_field``) is the loader's.
    """
    return f"mm_ref_ok({j}, {literal(path)})"


def date_shape(j: str, *paths: str) -> str:
    """SQL: each date or dateTime of `paths` (if present) is in FHIR's format."""
    return " AND ".join(f"mm_date_ok({j}, {literal(p)})" for p in paths)


def common_shape(j: str, resource: str) -> str:
    """SQL: a string id and no ``modifierExtension`` anywhere (the loader's checks)."""
    return (
        f"json_type({j}, '$.id') = 'VARCHAR' AND json_extract_string({j}, '$.id') <> '' "
        f"AND NOT contains({resource}, 'modifierExtension')"
    )


#: ``s.j, '$.field<rest>'`` in a shape predicate over the raw resource ``s.j``.
_ON_RESOURCE = re.compile(r"s\.j, '\$\.([A-Za-z_]+)((?:[.\[][^']*)?)'")


def regular_sql(shape: str, tag: str) -> tuple[str, str]:
    """Shape predicates over ``s.j`` made cheap: each top-level field they read is parsed
    out of the resource once (one ``json_extract`` with a list of paths), and the predicates
    read those small fragments instead of re-parsing the whole resource each time.

    Returns the predicate (over ``s.f``) and the relation ``s`` to join on ``seq``.
    """
    fields: list[str] = []

    def frag(m: re.Match[str]) -> str:
        if m.group(1) not in fields:
            fields.append(m.group(1))
        return f"s.f[{fields.index(m.group(1)) + 1}], '${m.group(2)}'"

    expr = _ON_RESOURCE.sub(frag, shape)
    if "s.j" in expr:
        raise ValueError("a shape predicate reads the resource other than by a path")
    paths = ", ".join(literal(f"$.{f}") for f in fields)
    src = ident(f"__{tag}_src")
    return (
        f"coalesce({expr}, false)",
        f"(SELECT seq, resource, json_extract(resource, [{paths}]) AS f FROM {src})",
    )
