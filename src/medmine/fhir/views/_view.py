"""Validate a SQL on FHIR v2 ViewDefinition and compile it to one DuckDB statement.

A select is compiled to a list of row structs per resource: columns give one row, nested
selects and ``unionAll`` branches are crossed and concatenated with list functions,
``forEach``/``forEachOrNull``/``repeat`` map over a collection with its 0-based
``%rowIndex``. The statement unnests that list, so the whole view is one set-wise query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from medmine.fhir.views._compile import (
    Scope,
    Value,
    as_bool,
    as_coll,
    as_json,
    compile_path,
    fresh,
    let,
    lit,
)
from medmine.fhir.views._dialect import DIALECTS, DuckDB
from medmine.fhir.views._exceptions import ViewDefinitionError, ViewNotSupportedError
from medmine.fhir.views._fhirpath import parse

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SELECT_KEYS = {"column", "select", "forEach", "forEachOrNull", "unionAll", "repeat"}
_COLUMN_KEYS = {"name", "path", "type", "collection", "description", "tag"}
_NUMBER_TYPES = {"integer", "decimal", "positiveInt", "unsignedInt", "integer64"}
#: ``repeat`` is unrolled to this depth; deeper data raise an error rather than lose rows.
REPEAT_DEPTH = 8
_TYPED = {
    "boolean": "BOOLEAN",
    "integer": "BIGINT",
    "positiveInt": "BIGINT",
    "unsignedInt": "BIGINT",
    "integer64": "BIGINT",
    "decimal": "DOUBLE",
}


@dataclass(frozen=True)
class CompiledView:
    """A compiled ViewDefinition: its SQL and its output columns, in order."""

    sql: str
    columns: tuple[str, ...]


def _fail(where: str, what: str) -> ViewDefinitionError:
    return ViewDefinitionError(f"ViewDefinition {where}: {what}.")


def _constants(view: dict[str, Any]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    raw = view.get("constant", [])
    if not isinstance(raw, list):
        raise _fail("constant", "must be a list")
    for i, const in enumerate(raw):
        if not isinstance(const, dict) or not isinstance(const.get("name"), str):
            raise _fail(f"constant[{i}]", "needs a name")
        values = [k for k in const if k.startswith("value")]
        if len(values) != 1:
            raise _fail(
                f"constant {const['name']!r}", "needs exactly one value[x], e.g. valueString"
            )
        key = values[0]
        value = const[key]
        type_name = key[5:6].lower() + key[6:]
        if type_name == "boolean" and isinstance(value, bool):
            out[const["name"]] = Value("true" if value else "false", "bool")
        elif (
            type_name in _NUMBER_TYPES
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            out[const["name"]] = Value(repr(value), "num")
        elif isinstance(value, str):
            out[const["name"]] = Value(lit(value), "str")
        else:
            raise _fail(f"constant {const['name']!r}", f"{key} holds a value of the wrong type")
    return out


def _path(text: Any, where: str) -> Any:
    if not isinstance(text, str):
        raise _fail(where, f"a path must be a FHIRPath string, got {type(text).__name__}")
    return parse(text)


class _Compiler:
    def __init__(self, view: dict[str, Any], resource_sql: str, d: DuckDB) -> None:
        self.constants = _constants(view)
        self.resource = resource_sql
        self.d = d
        self.seen: set[str] = set()

    def scope(self, focus: str, row_index: str) -> Scope:
        d = self.d
        coll = f"(CASE WHEN {focus} IS NULL THEN {d.empty} ELSE {d.array(focus)} END)"
        return Scope(coll, self.resource, row_index, self.constants, d)

    def columns(self, select: dict[str, Any], where: str) -> list[str]:
        """Validate ``select`` and return its output columns in order."""
        if not isinstance(select, dict):
            raise _fail(where, "a select must be an object")
        unknown = set(select) - _SELECT_KEYS
        if unknown:
            raise _fail(where, f"unknown key(s) {sorted(unknown)}")
        iterators = [k for k in ("forEach", "forEachOrNull", "repeat") if k in select]
        if len(iterators) > 1:
            raise _fail(
                where, f"a select takes one of forEach, forEachOrNull, repeat; got {iterators}"
            )
        for key in ("forEach", "forEachOrNull"):
            if key in select:
                _path(select[key], f"{where}.{key}")
        if "repeat" in select:
            rep = select["repeat"]
            if not isinstance(rep, list) or not rep:
                raise _fail(f"{where}.repeat", "must be a non-empty list of paths")
            for j, p in enumerate(rep):
                _path(p, f"{where}.repeat[{j}]")
        names: list[str] = []
        for j, col in enumerate(select.get("column", [])):
            cw = f"{where}.column[{j}]"
            if not isinstance(col, dict) or not isinstance(col.get("name"), str):
                raise _fail(cw, "a column needs a name")
            if set(col) - _COLUMN_KEYS:
                raise _fail(cw, f"unknown key(s) {sorted(set(col) - _COLUMN_KEYS)}")
            if not _NAME.match(col["name"]):
                raise _fail(cw, f"column name {col['name']!r} must be letters, digits and _")
            if col["name"] in self.seen:
                raise _fail(cw, f"column name {col['name']!r} is used twice")
            if "collection" in col and not isinstance(col["collection"], bool):
                raise _fail(cw, "collection must be true or false")
            self.seen.add(col["name"])
            _path(col.get("path"), cw)
            names.append(col["name"])
        for j, sub in enumerate(select.get("select", [])):
            names += self.columns(sub, f"{where}.select[{j}]")
        branches = select.get("unionAll")
        if branches is not None:
            if not isinstance(branches, list) or not branches:
                raise _fail(f"{where}.unionAll", "must be a non-empty list of selects")
            first: list[str] | None = None
            seen_before = set(self.seen)
            for j, branch in enumerate(branches):
                self.seen = set(seen_before)
                cols = self.columns(branch, f"{where}.unionAll[{j}]")
                if first is None:
                    first = cols
                elif cols != first:
                    raise _fail(
                        f"{where}.unionAll[{j}]",
                        f"columns {cols} differ from the first branch's {first} "
                        "(names and order must match)",
                    )
            names += first or []
        if not names and not iterators:
            raise _fail(where, "a select needs at least one column, select or unionAll")
        return names

    def row_struct(self, select: dict[str, Any], scope: Scope) -> str:
        d, fields = self.d, []
        for col in select.get("column", []):
            value = compile_path(parse(col["path"]), scope)
            sql = d.to_json(as_coll(d, value)) if col.get("collection") else as_json(d, value)
            fields.append((col["name"], d.as_json_value(sql)))
        return d.array(d.struct(fields))

    def rows(self, select: dict[str, Any], focus: str, row_index: str) -> str:
        """SQL for the list of row structs ``select`` gives for one focus item."""
        d, scope = self.d, self.scope(focus, row_index)
        if "forEach" in select or "forEachOrNull" in select:
            text = select.get("forEach", select.get("forEachOrNull"))
            items = as_coll(d, compile_path(parse(text), scope))
        elif "repeat" in select:
            items = self.repeat(select["repeat"], focus, REPEAT_DEPTH)
        else:
            return self.inner(select, focus, row_index)
        x, i = fresh("f"), fresh("i")
        each = self.inner(select, x, d.index0(i))
        if "forEachOrNull" not in select:
            return d.flatten(d.transform(items, f"{x}, {i}", each))
        bound, empty_rows = fresh("n"), fresh("z")
        # The row of an empty forEachOrNull: its columns on a null focus, or all nulls when
        # a nested forEach would give no row at all.
        nulls = d.array(d.struct([(n, d.json_null) for n in self.names(select)]))
        none = let(
            d,
            self.inner(select, d.json_null, "0"),
            f"CASE WHEN {d.size(empty_rows)} = 0 THEN {nulls} ELSE {empty_rows} END",
            empty_rows,
        )
        body = d.flatten(d.transform(bound, f"{x}, {i}", each))
        return let(d, items, f"CASE WHEN {d.size(bound)} = 0 THEN {none} ELSE {body} END", bound)

    def repeat(self, paths: list[str], focus: str, depth: int) -> str:
        d, scope = self.d, self.scope(focus, "0")
        parts = [as_coll(d, compile_path(parse(p), scope)) for p in paths]
        children = parts[0]
        for part in parts[1:]:
            children = d.concat(children, part)
        if depth == 0:
            msg = lit(f"repeat nests deeper than {REPEAT_DEPTH} levels; raise REPEAT_DEPTH")
            return f"(CASE WHEN {d.size(children)} > 0 THEN {d.error(msg)} ELSE {d.empty} END)"
        y = fresh("r")
        below = self.repeat(paths, y, depth - 1)
        return d.flatten(d.transform(children, y, d.concat(d.array(y), below)))

    def inner(self, select: dict[str, Any], focus: str, row_index: str) -> str:
        d, scope = self.d, self.scope(focus, row_index)
        parts: list[tuple[str, list[str]]] = []
        if select.get("column"):
            parts.append((self.row_struct(select, scope), [c["name"] for c in select["column"]]))
        for sub in select.get("select", []):
            parts.append((self.rows(sub, focus, row_index), self.names(sub)))
        if select.get("unionAll"):
            branches = [self.rows(b, focus, row_index) for b in select["unionAll"]]
            union = branches[0]
            for b in branches[1:]:
                union = d.concat(union, b)
            parts.append((union, self.names(select["unionAll"][0])))
        if not parts:
            raise ViewNotSupportedError("a select with neither columns, selects nor unionAll")
        sql, names = parts[0]
        for other, other_names in parts[1:]:
            a, b = fresh("a"), fresh("b")
            fields = [(n, d.field(a, n)) for n in names] + [(n, d.field(b, n)) for n in other_names]
            sql = d.flatten(d.transform(sql, a, d.transform(other, b, d.struct(fields))))
            names = names + other_names
        return sql

    def names(self, select: dict[str, Any]) -> list[str]:
        out = [c["name"] for c in select.get("column", [])]
        for sub in select.get("select", []):
            out += self.names(sub)
        if select.get("unionAll"):
            out += self.names(select["unionAll"][0])
        return out


def validate_view(view: Any) -> tuple[str, ...]:
    """Check a ViewDefinition and return its output column names.

    Raises
    ------
    ViewDefinitionError
        With the reason: no resource, no select, a bad path, a duplicate column name,
        unionAll branches whose columns differ, a malformed constant, ...
    """
    if not isinstance(view, dict):
        raise _fail("", "must be a JSON object")
    if not isinstance(view.get("resource"), str) or not view["resource"]:
        raise _fail("resource", "is required (the FHIR resource type the view reads, e.g. Patient)")
    select = view.get("select")
    if not isinstance(select, list) or not select:
        raise _fail("select", "is required and must be a non-empty list")
    compiler = _Compiler(view, "resource", DIALECTS["duckdb"])
    names: list[str] = []
    for j, sub in enumerate(select):
        names += compiler.columns(sub, f"select[{j}]")
    where = view.get("where", [])
    if not isinstance(where, list):
        raise _fail("where", "must be a list")
    for j, w in enumerate(where):
        if not isinstance(w, dict):
            raise _fail(f"where[{j}]", "must be an object with a path")
        _path(w.get("path"), f"where[{j}].path")
    return tuple(names)


def compile_view(
    view: dict[str, Any],
    table: str = "resources",
    column: str = "resource",
    *,
    typed: bool = False,
    dialect: str = "duckdb",
) -> CompiledView:
    """Compile a ViewDefinition to one SQL statement over a table of raw resources.

    Parameters
    ----------
    view
        The ViewDefinition, as parsed JSON.
    table, column
        The table holding one FHIR resource per row and its JSON (or text) column.
    typed
        Cast columns to the SQL type their ``type`` names (strings as text, integers as
        BIGINT, ...); by default every column is a JSON value (JSON text on Spark).
    dialect
        ``duckdb`` (DuckDB 1.3+) or ``spark`` (Spark SQL 4, whose VARIANT type holds JSON).

    Raises
    ------
    ViewDefinitionError
        The view is invalid; the message says why.
    ViewNotSupportedError
        The view uses a construct this engine does not compile yet.

    >>> view = {"resource": "Patient", "select": [{"column": [{"name": "id", "path": "id"}]}]}
    >>> compile_view(view).columns
    ('id',)
    """
    if dialect not in DIALECTS:
        raise ViewDefinitionError(f"dialect must be one of {sorted(DIALECTS)}, got {dialect!r}.")
    d = DIALECTS[dialect]
    names = validate_view(view)
    compiler = _Compiler(view, "__res", d)
    rows = compiler.inner({"select": view["select"]}, "__res", "0")
    conds = [f"{d.text(d.get('__res', 'resourceType'))} = {lit(view['resource'])}"]
    for w in view.get("where", []):
        value = compile_path(parse(w["path"]), compiler.scope("__res", "0"))
        conds.append(f"coalesce({as_bool(d, value, 'a where path')}, false)")
    types: dict[str, str | None] = dict.fromkeys(names)
    if typed:
        for col in _all_columns(view["select"]):
            types[col["name"]] = (
                "collection" if col.get("collection") else col.get("type", "string")
            )
    out = []
    for n in names:
        ref, t = d.field("__row", n), types[n]
        if t is None or t == "collection":
            out.append(f"{d.out(ref)} AS {d.ident(n)}")
        elif t in _TYPED and d.name == "spark":
            out.append(f"variant_get({ref}, '$', '{_TYPED[t].lower()}') AS {d.ident(n)}")
        elif t in _TYPED:
            out.append(f"CAST({ref} AS {_TYPED[t]}) AS {d.ident(n)}")
        else:
            out.append(f"{d.text(ref)} AS {d.ident(n)}")
    sql = (
        f"SELECT {', '.join(out)} FROM (SELECT {d.explode(rows)} AS __row "
        f"FROM (SELECT {d.parse(d.ident(column))} AS __res FROM {d.ident(table)}) "
        f"WHERE {' AND '.join(conds)}) AS __rows"
    )
    return CompiledView(sql, names)


def _all_columns(selects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in selects:
        out += s.get("column", [])
        out += _all_columns(s.get("select", []))
        out += _all_columns(s.get("unionAll", []))
    return out
