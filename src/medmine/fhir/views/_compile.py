"""Compile a FHIRPath syntax tree to a DuckDB SQL expression over JSON.

Every path value is a FHIRPath collection held as a list of JSON values (DuckDB
``JSON[]``, Spark ``ARRAY<VARIANT>``; the dialect spells each primitive); navigation,
``where``, ``first()`` and indexing are list functions with lambdas, so one SQL expression
evaluates the path for every resource at once. Scalars that come out of operators
(booleans, strings, numbers) stay SQL scalars, with SQL ``NULL`` for the empty collection.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from medmine.fhir.views._boundary import boundary
from medmine.fhir.views._dialect import DIALECTS, DuckDB
from medmine.fhir.views._exceptions import ViewDefinitionError, ViewNotSupportedError
from medmine.fhir.views._fhirpath import Node

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
    d: DuckDB = field(default_factory=lambda: DIALECTS["duckdb"])

    def at(self, focus: str) -> Scope:
        """The same scope with another focus collection."""
        return Scope(focus, self.resource, self.row_index, self.constants, self.d)


def let(d: DuckDB, expr: str, body: str, name: str) -> str:
    """SQL evaluating ``expr`` once and ``body`` with it bound to ``name``.

    Engines do not share repeated subexpressions inside lambdas, so a path used twice
    (its length and its first item) would be evaluated twice.
    """
    return d.at(d.transform(d.array(expr), name, body), "1")


def as_coll(d: DuckDB, v: Value) -> str:
    """Return ``v`` as a collection (a list of JSON values)."""
    if v.kind == "coll":
        return v.sql
    return f"(CASE WHEN ({v.sql}) IS NULL THEN {d.empty} ELSE {d.array(d.to_json(v.sql))} END)"


def as_json(d: DuckDB, v: Value) -> str:
    """Return ``v`` as one JSON value (NULL when empty); error when it holds several."""
    if v.kind != "coll":
        return d.to_json(v.sql)
    c = fresh("c")
    msg = lit(
        "a column path returned several values; "
        "mark the column collection: true or pick one with first()"
    )
    return let(
        d, v.sql, f"CASE WHEN {d.size(c)} > 1 THEN {d.error(msg)} ELSE {d.at(c, '1')} END", c
    )


def as_bool(d: DuckDB, v: Value, what: str = "a boolean expression") -> str:
    """Return ``v`` as a SQL boolean (NULL when empty); error when it is not boolean."""
    if v.kind == "bool":
        return v.sql
    if v.kind != "coll":
        raise ViewDefinitionError(f"{what} must give a boolean, this one gives a {v.kind}.")
    c = fresh("c")
    first = d.at(c, "1")
    msg = lit(f"{what} gave a value that is not a boolean")
    return let(
        d,
        v.sql,
        f"CASE WHEN {d.size(c)} = 0 THEN NULL "
        f"WHEN {d.size(c)} = 1 AND {d.kind_is(first, 'boolean')} THEN {d.as_boolean(first)} "
        f"ELSE {d.error(msg)} END",
        c,
    )


def _as_text(d: DuckDB, v: Value) -> str:
    if v.kind == "coll":
        return d.text(d.at(v.sql, "1"))
    return f"CAST({v.sql} AS STRING)" if d.name == "spark" else f"CAST({v.sql} AS VARCHAR)"


def _as_num(d: DuckDB, v: Value) -> str:
    if v.kind == "coll":
        return d.as_double(d.at(v.sql, "1"))
    return f"TRY_CAST({v.sql} AS DOUBLE)"


def _member(d: DuckDB, coll: str, name: str) -> str:
    # Extract once per item, then wrap: engines do not share a repeated extraction inside a
    # lambda, and each one would parse the whole item again.
    x, e, i = fresh(), fresh("e"), fresh("e")
    values = d.transform(coll, x, d.get(x, name))
    items = d.filter(d.as_list(e), i, f"NOT ({d.kind_is(i, 'null')})")
    wrap = (
        f"CASE WHEN {e} IS NULL THEN {d.empty} WHEN {d.kind_is(e, 'array')} THEN {items} "
        f"WHEN {d.kind_is(e, 'null')} THEN {d.empty} ELSE {d.array(e)} END"
    )
    return d.flatten(d.transform(values, e, wrap))


def _filter(coll: str, node: Node, scope: Scope) -> str:
    d, x = scope.d, fresh()
    cond = as_bool(d, compile_path(node, scope.at(d.array(x))), "where()")
    return d.filter(coll, x, f"coalesce({cond}, false)")


def _compare(d: DuckDB, op: str, a: Value, b: Value) -> Value:
    """Compare two values; a collection of several items is unequal, and cannot be ordered."""
    bound: list[tuple[str, str]] = []
    operands = []
    for v in (a, b):
        if v.kind == "coll":
            name = fresh("k")
            bound.append((v.sql, name))
            v = Value(name, "coll")
        operands.append(v)
    result = _compare_single(d, op, *operands).sql
    if not bound:
        return Value(result, "bool")
    many = " OR ".join(f"{d.size(name)} > 1" for _, name in bound)
    if op in ("=", "~"):
        outcome = "false"
    elif op in ("!=", "!~"):
        outcome = "true"
    else:
        outcome = d.error(lit(f"{op} needs single values on both sides, got a collection"))
    sql = f"CASE WHEN {many} THEN {outcome} ELSE {result} END"
    for expr, name in reversed(bound):
        sql = let(d, expr, sql, name)
    return Value(f"({sql})", "bool")


def _compare_single(d: DuckDB, op: str, a: Value, b: Value) -> Value:
    sql_op = {"=": "=", "!=": "<>", "~": "=", "!~": "<>"}.get(op, op)
    kinds = {a.kind, b.kind}
    if "num" in kinds:
        return Value(f"({_as_num(d, a)} {sql_op} {_as_num(d, b)})", "bool")
    if "str" in kinds:
        return Value(f"({_as_text(d, a)} {sql_op} {_as_text(d, b)})", "bool")
    if kinds == {"bool"}:
        return Value(f"({a.sql} {sql_op} {b.sql})", "bool")
    ja, jb = as_json(d, a), as_json(d, b)
    num = f"{d.kind_is(ja, 'number')} AND {d.kind_is(jb, 'number')}"
    return Value(
        f"(CASE WHEN {num} THEN {d.as_double(ja)} {sql_op} {d.as_double(jb)} "
        f"ELSE {d.text(ja)} {sql_op} {d.text(jb)} END)",
        "bool",
    )


_KIND_NAMES = {"bool": "a boolean", "str": "a string", "num": "a number"}


def _check_operands(op: str, a: Value, b: Value) -> None:
    """Refuse operands whose types are known here and do not fit ``op``."""
    known = sorted({a.kind, b.kind} - {"coll"})
    if op in ("and", "or", "xor", "implies", "|"):
        return
    wrong = len(known) > 1
    if op in ("-", "*", "/") and ("str" in known or "bool" in known):
        wrong = True
    if op in ("+", "<", ">", "<=", ">=") and "bool" in known:
        wrong = True
    if op == "&" and ("bool" in known or "num" in known):
        wrong = True
    if wrong:
        kinds = " and ".join(_KIND_NAMES[k] for k in [a.kind, b.kind] if k != "coll")
        raise ViewDefinitionError(f"FHIRPath operator {op!r} cannot take {kinds}.")


def _binop(node: Node, scope: Scope) -> Value:
    d, op = scope.d, node.name
    a, b = (compile_path(arg, scope) for arg in node.args)
    _check_operands(op, a, b)
    if op in ("and", "or"):
        return Value(f"({as_bool(d, a)} {op.upper()} {as_bool(d, b)})", "bool")
    if op == "xor":
        return Value(f"({as_bool(d, a)} <> {as_bool(d, b)})", "bool")
    if op == "implies":
        return Value(f"((NOT {as_bool(d, a)}) OR {as_bool(d, b)})", "bool")
    if op in ("=", "!=", "<", ">", "<=", ">=", "~", "!~"):
        return _compare(d, op, a, b)
    if op in ("+", "-", "*", "/"):
        if op == "+" and "str" in (a.kind, b.kind):
            return Value(f"({_as_text(d, a)} || {_as_text(d, b)})", "str")
        return Value(f"({_as_num(d, a)} {op} {_as_num(d, b)})", "num")
    if op == "&":
        return Value(f"(coalesce({_as_text(d, a)}, '') || coalesce({_as_text(d, b)}, ''))", "str")
    if op == "|" and d.name == "duckdb":
        return Value(d.distinct(d.concat(as_coll(d, a), as_coll(d, b))), "coll")
    raise ViewNotSupportedError(f"FHIRPath operator {op!r} is not compiled yet on {d.name}.")


def _type_name(node: Node) -> str:
    if node.kind != "member" or node.base is not None:
        raise ViewDefinitionError("ofType() takes a type name, e.g. ofType(Quantity).")
    return node.name.removeprefix("FHIR.").removeprefix("System.")


def _of_type(node: Node, scope: Scope) -> Value:
    d, args, base = scope.d, node.args, node.base
    if len(args) != 1:
        raise ViewDefinitionError("ofType() takes exactly one type name.")
    type_name = _type_name(args[0])
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
        f"(CASE WHEN {d.size(plain)} > 0 THEN {d.error(msg)} ELSE {choice.sql} END)", "coll"
    )


def _call(node: Node, scope: Scope) -> Value:
    d, name, args = scope.d, node.name, node.args
    if name == "ofType":
        return _of_type(node, scope)
    base = compile_path(node.base, scope) if node.base is not None else Value(scope.focus, "coll")
    coll = as_coll(d, base)
    x = fresh()
    if name == "first" and not args:
        return Value(d.one_at(coll, "1"), "coll")
    if name == "last" and not args:
        return Value(d.last(coll), "coll")
    if name == "exists":
        c = _filter(coll, args[0], scope) if args else coll
        return Value(f"({d.size(c)} > 0)", "bool")
    if name == "empty" and not args:
        return Value(f"({d.size(coll)} = 0)", "bool")
    if name == "count" and not args:
        return Value(d.size(coll), "num")
    if name == "where" and len(args) == 1:
        return Value(_filter(coll, args[0], scope), "coll")
    if name == "not" and not args:
        return Value(f"(NOT {as_bool(d, base, 'not()')})", "bool")
    if name == "join" and len(args) <= 1:
        sep = _as_text(d, compile_path(args[0], scope)) if args else "''"
        return Value(d.join(d.transform(coll, x, d.text(x)), sep), "str")
    if name == "extension" and len(args) == 1:
        url = _as_text(d, compile_path(args[0], scope))
        cond = f"{d.text(d.get(x, 'url'))} = {url}"
        return Value(d.filter(_member(d, coll, "extension"), x, cond), "coll")
    if name == "getResourceKey" and not args:
        return Value(_member(d, coll, "id"), "coll")
    if name == "getReferenceKey" and len(args) <= 1:
        refs = _member(d, coll, "reference")
        if args:
            want = lit(_type_name(args[0]))
            refs = d.filter(refs, x, f"split_part({d.text(x)}, '/', -2) = {want}")
        y = fresh()
        return Value(d.transform(refs, y, d.to_json(f"split_part({d.text(y)}, '/', -1)")), "coll")
    if name in ("lowBoundary", "highBoundary") and not args:
        typed = node.base is not None and node.base.kind == "call" and node.base.name == "ofType"
        type_name = _type_name(node.base.args[0]) if typed else None  # type: ignore[union-attr]
        each = boundary(d, x, type_name, name == "highBoundary")
        n = fresh()
        return Value(d.filter(d.transform(coll, x, each), n, f"{n} IS NOT NULL"), "coll")
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
    d, kind = scope.d, node.kind
    if kind == "this":
        return Value(scope.focus, "coll")
    if kind == "member":
        base = Value(scope.focus, "coll") if node.base is None else compile_path(node.base, scope)
        return Value(_member(d, as_coll(d, base), node.name), "coll")
    if kind == "call":
        return _call(node, scope)
    if kind == "index":
        base = as_coll(d, compile_path(node.base, scope))  # type: ignore[arg-type]
        idx = _as_num(d, compile_path(node.args[0], scope))
        return Value(d.one_at(base, f"(CAST({idx} AS BIGINT) + 1)"), "coll")
    if kind == "binop":
        return _binop(node, scope)
    if kind == "neg":
        return Value(f"(-{_as_num(d, compile_path(node.base, scope))})", "num")  # type: ignore[arg-type]
    if kind in ("str", "date"):
        return Value(lit(str(node.value)), "str")
    if kind == "num":
        return Value(str(node.value), "num")
    if kind == "bool":
        return Value("true" if node.value else "false", "bool")
    if kind == "const":
        if node.name == "rowIndex":
            return Value(scope.row_index, "num")
        if node.name in ("resource", "rootResource"):
            return Value(d.array(scope.resource), "coll")
        if node.name not in scope.constants:
            raise ViewDefinitionError(
                f"FHIRPath refers to %{node.name}, which the view's constant list does not define."
            )
        return scope.constants[node.name]
    raise ViewNotSupportedError(f"FHIRPath construct {kind!r} is not compiled yet.")
