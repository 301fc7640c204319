"""Compile a FHIRPath syntax tree to a DuckDB SQL expression over JSON.

Every path value is a FHIRPath collection held as a DuckDB ``JSON[]`` list; navigation,
``where``, ``first()`` and indexing are list functions with lambdas, so one SQL expression
evaluates the path for every resource at once. Scalars that come out of operators
(booleans, strings, numbers) stay SQL scalars, with SQL ``NULL`` for the empty collection.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from medmine.fhir.views._boundary import boundary
from medmine.fhir.views._exceptions import ViewDefinitionError, ViewNotSupportedError
from medmine.fhir.views._fhirpath import Node

EMPTY = "CAST([] AS JSON[])"
_NUMERIC_JSON = "('BIGINT', 'UBIGINT', 'DOUBLE')"
_names = itertools.count()


def fresh(prefix: str = "v") -> str:
    """Return a lambda parameter name unused anywhere else in the statement."""
    return f"{prefix}{next(_names)}"


def lit(text: str) -> str:
    """Quote ``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Value:
    """A compiled expression: its SQL and its kind (``coll``, ``bool``, ``str``, ``num``)."""

    sql: str
    kind: str


@dataclass
class Scope:
    """What a path can see: its focus collection, the resource, ``%rowIndex``, constants."""

    focus: str
    resource: str
    row_index: str
    constants: dict[str, Value] = field(default_factory=dict)


def let(expr: str, body: str, name: str) -> str:
    """SQL evaluating ``expr`` once and ``body`` with it bound to ``name``.

    DuckDB does not share repeated subexpressions inside lambdas, so a path used twice
    (``len(c)`` and ``c[1]``) would be evaluated twice.
    """
    return f"list_transform([{expr}], lambda {name}: {body})[1]"


def as_coll(v: Value) -> str:
    """Return ``v`` as a ``JSON[]`` collection."""
    if v.kind == "coll":
        return v.sql
    return f"(CASE WHEN ({v.sql}) IS NULL THEN {EMPTY} ELSE [to_json({v.sql})] END)"


def as_json(v: Value) -> str:
    """Return ``v`` as one JSON value (NULL when empty); error when it holds several."""
    if v.kind != "coll":
        return f"to_json({v.sql})"
    c = fresh("c")
    return let(
        v.sql,
        f"CASE WHEN len({c}) > 1 THEN error('a column path returned several values; "
        f"mark the column collection: true or pick one with first()') ELSE {c}[1] END",
        c,
    )


def as_bool(v: Value, what: str = "a boolean expression") -> str:
    """Return ``v`` as a SQL boolean (NULL when empty); error when it is not boolean."""
    if v.kind == "bool":
        return v.sql
    if v.kind != "coll":
        raise ViewDefinitionError(f"{what} must give a boolean, this one gives a {v.kind}.")
    c = fresh("c")
    msg = lit(f"{what} gave a value that is not a boolean")
    return let(
        v.sql,
        f"CASE WHEN len({c}) = 0 THEN NULL WHEN len({c}) = 1 AND json_type({c}[1]) = 'BOOLEAN' "
        f"THEN CAST({c}[1] AS BOOLEAN) ELSE error({msg}) END",
        c,
    )


def _as_text(v: Value) -> str:
    if v.kind == "coll":
        return f"({v.sql}[1] ->> '$')"
    return f"CAST({v.sql} AS VARCHAR)"


def _as_num(v: Value) -> str:
    if v.kind == "coll":
        return f"TRY_CAST({v.sql}[1] AS DOUBLE)"
    return f"TRY_CAST({v.sql} AS DOUBLE)"


def _member(coll: str, name: str) -> str:
    # Extract once per item, then wrap: DuckDB does not share a repeated json_extract
    # inside a lambda, and each one would parse the whole item again.
    x, e = fresh(), fresh("e")
    values = f"list_transform({coll}, lambda {x}: json_extract({x}, {lit('$.' + name)}))"
    return (
        f"flatten(list_transform({values}, lambda {e}: CASE WHEN {e} IS NULL THEN {EMPTY} "
        f"WHEN json_type({e}) = 'ARRAY' THEN list_filter(CAST({e} AS JSON[]), "
        f"lambda {e}i: json_type({e}i) <> 'NULL') "
        f"WHEN json_type({e}) = 'NULL' THEN {EMPTY} ELSE [{e}] END))"
    )


def _filter(coll: str, node: Node, scope: Scope) -> str:
    x = fresh()
    inner = Scope(f"[{x}]", scope.resource, scope.row_index, scope.constants)
    cond = as_bool(compile_path(node, inner), "where()")
    return f"list_filter({coll}, lambda {x}: coalesce({cond}, false))"


_CHOICE_TYPES = {
    "boolean", "integer", "string", "decimal", "uri", "url", "canonical", "base64Binary",
    "instant", "date", "dateTime", "time", "code", "oid", "id", "markdown", "unsignedInt",
    "positiveInt", "uuid", "integer64",
}  # fmt: skip


def _compare(op: str, a: Value, b: Value) -> Value:
    """Compare two values; a collection of several items is unequal, and cannot be ordered."""
    bound: list[tuple[str, str]] = []
    operands = []
    for v in (a, b):
        if v.kind == "coll":
            name = fresh("k")
            bound.append((v.sql, name))
            v = Value(name, "coll")
        operands.append(v)
    result = _compare_single(op, *operands).sql
    if not bound:
        return Value(result, "bool")
    many = " OR ".join(f"len({name}) > 1" for _, name in bound)
    if op in ("=", "~"):
        outcome = "false"
    elif op in ("!=", "!~"):
        outcome = "true"
    else:
        outcome = f"error({lit(f'{op} needs single values on both sides, got a collection')})"
    sql = f"CASE WHEN {many} THEN {outcome} ELSE {result} END"
    for expr, name in reversed(bound):
        sql = let(expr, sql, name)
    return Value(f"({sql})", "bool")


def _compare_single(op: str, a: Value, b: Value) -> Value:
    sql_op = {"=": "=", "!=": "<>", "~": "=", "!~": "<>"}.get(op, op)
    kinds = {a.kind, b.kind}
    if "num" in kinds:
        return Value(f"({_as_num(a)} {sql_op} {_as_num(b)})", "bool")
    if "str" in kinds:
        return Value(f"({_as_text(a)} {sql_op} {_as_text(b)})", "bool")
    if kinds == {"bool"}:
        return Value(f"({a.sql} {sql_op} {b.sql})", "bool")
    ja, jb = as_json(a), as_json(b)
    num = f"json_type({ja}) IN {_NUMERIC_JSON} AND json_type({jb}) IN {_NUMERIC_JSON}"
    return Value(
        f"(CASE WHEN {num} THEN TRY_CAST({ja} AS DOUBLE) {sql_op} TRY_CAST({jb} AS DOUBLE) "
        f"ELSE ({ja} ->> '$') {sql_op} ({jb} ->> '$') END)",
        "bool",
    )


def _binop(node: Node, scope: Scope) -> Value:
    op = node.name
    a, b = (compile_path(arg, scope) for arg in node.args)
    if op in ("and", "or"):
        return Value(f"({as_bool(a)} {op.upper()} {as_bool(b)})", "bool")
    if op == "xor":
        return Value(f"({as_bool(a)} <> {as_bool(b)})", "bool")
    if op == "implies":
        return Value(f"((NOT {as_bool(a)}) OR {as_bool(b)})", "bool")
    if op in ("=", "!=", "<", ">", "<=", ">=", "~", "!~"):
        return _compare(op, a, b)
    if op in ("+", "-", "*", "/"):
        if op == "+" and "str" in (a.kind, b.kind):
            return Value(f"({_as_text(a)} || {_as_text(b)})", "str")
        return Value(f"({_as_num(a)} {op} {_as_num(b)})", "num")
    if op == "&":
        return Value(f"(coalesce({_as_text(a)}, '') || coalesce({_as_text(b)}, ''))", "str")
    if op == "|":
        return Value(f"list_distinct(list_concat({as_coll(a)}, {as_coll(b)}))", "coll")
    raise ViewNotSupportedError(f"FHIRPath operator {op!r} is not compiled yet.")


def _type_name(node: Node) -> str:
    if node.kind != "member" or node.base is not None:
        raise ViewDefinitionError("ofType() takes a type name, e.g. ofType(Quantity).")
    return node.name.removeprefix("FHIR.").removeprefix("System.")


def _call(node: Node, scope: Scope) -> Value:
    name, args = node.name, node.args
    if name == "ofType":
        if len(args) != 1:
            raise ViewDefinitionError("ofType() takes exactly one type name.")
        type_name = _type_name(args[0])
        base = node.base
        if base is None or base.kind != "member":
            raise ViewNotSupportedError(
                f"ofType({type_name}) is compiled only on a choice element, "
                "such as value.ofType(Quantity)."
            )
        suffix = type_name[0].upper() + type_name[1:]
        choice = compile_path(Node("member", base=base.base, name=base.name + suffix), scope)
        # Without the FHIR model, ofType() is read as a choice element (value[x] -> valueT).
        # Data holding the plain element instead would need a type test: refuse, not guess.
        plain = compile_path(base, scope).sql
        msg = lit(f"ofType({type_name}) on {base.name}, which is not a choice element here")
        return Value(
            f"(CASE WHEN len({plain}) > 0 THEN error({msg}) ELSE {choice.sql} END)", "coll"
        )
    base = compile_path(node.base, scope) if node.base is not None else Value(scope.focus, "coll")
    coll = as_coll(base)
    if name == "first" and not args:
        return Value(f"{coll}[1:1]", "coll")
    if name == "last" and not args:
        return Value(f"{coll}[-1:]", "coll")
    if name == "exists":
        c = _filter(coll, args[0], scope) if args else coll
        return Value(f"(len({c}) > 0)", "bool")
    if name == "empty" and not args:
        return Value(f"(len({coll}) = 0)", "bool")
    if name == "count" and not args:
        return Value(f"len({coll})", "num")
    if name == "where" and len(args) == 1:
        return Value(_filter(coll, args[0], scope), "coll")
    if name == "not" and not args:
        return Value(f"(NOT {as_bool(base, 'not()')})", "bool")
    if name == "join" and len(args) <= 1:
        sep = _as_text(compile_path(args[0], scope)) if args else "''"
        x = fresh()
        return Value(
            f"array_to_string(list_transform({coll}, lambda {x}: {x} ->> '$'), {sep})", "str"
        )
    if name == "extension" and len(args) == 1:
        url = _as_text(compile_path(args[0], scope))
        x = fresh()
        return Value(
            f"list_filter({_member(coll, 'extension')}, lambda {x}: ({x} ->> '$.url') = {url})",
            "coll",
        )
    if name == "getResourceKey" and not args:
        return Value(_member(coll, "id"), "coll")
    if name == "getReferenceKey" and len(args) <= 1:
        x = fresh()
        refs = _member(coll, "reference")
        if args:
            want = lit(_type_name(args[0]))
            refs = f"list_filter({refs}, lambda {x}: split_part({x} ->> '$', '/', -2) = {want})"
        y = fresh()
        return Value(
            f"list_transform({refs}, lambda {y}: to_json(split_part({y} ->> '$', '/', -1)))", "coll"
        )
    if name in ("lowBoundary", "highBoundary") and not args:
        typed = node.base is not None and node.base.kind == "call" and node.base.name == "ofType"
        type_name = _type_name(node.base.args[0]) if typed else None  # type: ignore[union-attr]
        x = fresh()
        each = boundary(x, type_name, name == "highBoundary")
        mapped = f"list_transform({coll}, lambda {x}: {each})"
        return Value(f"list_filter({mapped}, lambda {x}n: {x}n IS NOT NULL)", "coll")
    raise ViewNotSupportedError(f"FHIRPath function {name}() is not compiled yet.")


def compile_path(node: Node, scope: Scope) -> Value:
    """Compile ``node`` in ``scope`` to SQL.

    Raises
    ------
    ViewDefinitionError
        An undefined constant or a malformed function call.
    ViewNotSupportedError
        A construct this compiler does not handle yet; never a silently wrong result.
    """
    kind = node.kind
    if kind == "this":
        return Value(scope.focus, "coll")
    if kind == "member":
        base = Value(scope.focus, "coll") if node.base is None else compile_path(node.base, scope)
        return Value(_member(as_coll(base), node.name), "coll")
    if kind == "call":
        return _call(node, scope)
    if kind == "index":
        base = as_coll(compile_path(node.base, scope))  # type: ignore[arg-type]
        idx = _as_num(compile_path(node.args[0], scope))
        return Value(f"{base}[CAST({idx} AS BIGINT) + 1:CAST({idx} AS BIGINT) + 1]", "coll")
    if kind == "binop":
        return _binop(node, scope)
    if kind == "neg":
        return Value(f"(-{_as_num(compile_path(node.base, scope))})", "num")  # type: ignore[arg-type]
    if kind == "str":
        return Value(lit(str(node.value)), "str")
    if kind == "num":
        return Value(str(node.value), "num")
    if kind == "bool":
        return Value("true" if node.value else "false", "bool")
    if kind == "date":
        return Value(lit(str(node.value)), "str")
    if kind == "const":
        if node.name == "rowIndex":
            return Value(scope.row_index, "num")
        if node.name in ("resource", "rootResource"):
            return Value(f"[{scope.resource}]", "coll")
        if node.name not in scope.constants:
            raise ViewDefinitionError(
                f"FHIRPath refers to %{node.name}, which the view's constant list does not define."
            )
        return scope.constants[node.name]
    raise ViewNotSupportedError(f"FHIRPath construct {kind!r} is not compiled yet.")
