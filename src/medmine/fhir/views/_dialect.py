"""The SQL each engine needs for JSON collections: DuckDB (JSON) and Spark 4 (VARIANT).

SQLGlot translates SQL syntax between engines, but not the meaning of JSON values: DuckDB's
``JSON[]`` lists and ``json_type`` have no Spark spelling SQLGlot knows, while Spark 4's
``VARIANT`` (``parse_json``, ``variant_get``, ``schema_of_variant``) carries the same typed
JSON. So the compiler asks a dialect for each primitive instead of transpiling afterwards.
"""

from __future__ import annotations

from medmine.fhir.views._exceptions import ViewNotSupportedError
from medmine.warehouse.sql import ident as duck_ident


class DuckDB:
    """DuckDB: collections are ``JSON[]``, lambdas ``lambda x: ...``, lists 1-based."""

    name = "duckdb"
    empty = "CAST([] AS JSON[])"
    json_null = "CAST(NULL AS JSON)"

    def ident(self, name: str) -> str:
        return duck_ident(name)

    def lam(self, params: str, body: str) -> str:
        return f"lambda {params}: {body}"

    def transform(self, coll: str, params: str, body: str) -> str:
        return f"list_transform({coll}, {self.lam(params, body)})"

    def filter(self, coll: str, param: str, cond: str) -> str:
        return f"list_filter({coll}, {self.lam(param, cond)})"

    def flatten(self, coll: str) -> str:
        return f"flatten({coll})"

    def size(self, coll: str) -> str:
        return f"len({coll})"

    def concat(self, a: str, b: str) -> str:
        return f"list_concat({a}, {b})"

    def distinct(self, coll: str) -> str:
        return f"list_distinct({coll})"

    def array(self, item: str) -> str:
        return f"[{item}]"

    def at(self, coll: str, n1: str) -> str:
        """The item at 1-based position ``n1`` (NULL outside the list)."""
        return f"({coll})[{n1}]"

    def one_at(self, coll: str, n1: str) -> str:
        """The list of the item at 1-based position ``n1`` (empty outside the list)."""
        return f"({coll})[{n1}:{n1}]"

    def last(self, coll: str) -> str:
        return f"({coll})[-1:]"

    def index0(self, i: str) -> str:
        """A lambda's position parameter as a 0-based index."""
        return f"({i} - 1)"

    def get(self, x: str, name: str) -> str:
        return f"json_extract({x}, '$.{name}')"

    def kind_is(self, x: str, kind: str) -> str:
        types = {
            "array": "('ARRAY')",
            "null": "('NULL')",
            "boolean": "('BOOLEAN')",
            "string": "('VARCHAR')",
            "number": "('BIGINT', 'UBIGINT', 'DOUBLE')",
        }[kind]
        return f"json_type({x}) IN {types}"

    def as_list(self, x: str) -> str:
        return f"CAST({x} AS JSON[])"

    def as_json_value(self, x: str) -> str:
        return f"CAST({x} AS JSON)"

    def to_json(self, scalar: str) -> str:
        return f"to_json({scalar})"

    def text(self, x: str) -> str:
        return f"({x} ->> '$')"

    def as_boolean(self, x: str) -> str:
        return f"CAST({x} AS BOOLEAN)"

    def as_double(self, x: str) -> str:
        return f"TRY_CAST({x} AS DOUBLE)"

    def error(self, message_sql: str) -> str:
        return f"error({message_sql})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "{" + ", ".join(f"'{n}': {v}" for n, v in fields) + "}"

    def field(self, s: str, name: str) -> str:
        return f"{s}['{name}']"

    def join(self, texts: str, sep: str) -> str:
        return f"array_to_string({texts}, {sep})"

    def parse(self, column: str) -> str:
        return f"CAST({column} AS JSON)"

    def explode(self, rows: str) -> str:
        return f"unnest({rows})"

    def out(self, x: str) -> str:
        return x

    def matches(self, s: str, pattern: str) -> str:
        return f"regexp_matches({s}, '{pattern}')"

    def round(self, x: str, places: str) -> str:
        return f"round({x}, {places})"

    def month_end(self, month: str) -> str:
        return f"strftime(last_day(CAST({month} || '-01' AS DATE)), '%Y-%m-%d')"


class Spark(DuckDB):
    """Spark 4: collections are ``ARRAY<VARIANT>``, lambdas ``x -> ...``, lists 0-based."""

    name = "spark"
    empty = "CAST(array() AS ARRAY<VARIANT>)"
    json_null = "CAST(NULL AS VARIANT)"

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def lam(self, params: str, body: str) -> str:
        return f"({params}) -> {body}" if "," in params else f"{params} -> {body}"

    def transform(self, coll: str, params: str, body: str) -> str:
        return f"transform({coll}, {self.lam(params, body)})"

    def filter(self, coll: str, param: str, cond: str) -> str:
        return f"filter({coll}, {self.lam(param, cond)})"

    def size(self, coll: str) -> str:
        return f"size({coll})"

    def concat(self, a: str, b: str) -> str:
        return f"concat({a}, {b})"

    def distinct(self, coll: str) -> str:
        # Spark has no distinct over VARIANT arrays: the union operator `|` is refused there
        raise ViewNotSupportedError("the union operator '|' (distinct values) on Spark")

    def array(self, item: str) -> str:
        return f"array({item})"

    def at(self, coll: str, n1: str) -> str:
        return f"try_element_at({coll}, {n1})"

    def one_at(self, coll: str, n1: str) -> str:
        return f"(CASE WHEN {n1} >= 1 THEN slice({coll}, {n1}, 1) ELSE {self.empty} END)"

    def last(self, coll: str) -> str:
        return f"(CASE WHEN size({coll}) = 0 THEN {self.empty} ELSE slice({coll}, -1, 1) END)"

    def index0(self, i: str) -> str:
        return i

    def get(self, x: str, name: str) -> str:
        return f"variant_get({x}, '$.{name}')"

    def kind_is(self, x: str, kind: str) -> str:
        s = f"schema_of_variant({x})"
        return {
            "array": f"{s} LIKE 'ARRAY%'",
            "null": f"{s} = 'VOID'",
            "boolean": f"{s} = 'BOOLEAN'",
            "string": f"{s} = 'STRING'",
            "number": f"({s} IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT') "
            f"OR {s} LIKE 'DECIMAL%')",
        }[kind]

    def as_list(self, x: str) -> str:
        return f"CAST({x} AS ARRAY<VARIANT>)"

    def as_json_value(self, x: str) -> str:
        return f"CAST({x} AS VARIANT)"

    def to_json(self, scalar: str) -> str:
        return f"CAST({scalar} AS VARIANT)"

    def text(self, x: str) -> str:
        return f"variant_get({x}, '$', 'string')"

    def as_boolean(self, x: str) -> str:
        return f"variant_get({x}, '$', 'boolean')"

    def as_double(self, x: str) -> str:
        return f"try_variant_get({x}, '$', 'double')"

    def error(self, message_sql: str) -> str:
        return f"raise_error({message_sql})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "named_struct(" + ", ".join(f"'{n}', {v}" for n, v in fields) + ")"

    def field(self, s: str, name: str) -> str:
        return f"{s}.`{name}`"

    def join(self, texts: str, sep: str) -> str:
        return f"array_join({texts}, {sep})"

    def parse(self, column: str) -> str:
        return f"parse_json({column})"

    def explode(self, rows: str) -> str:
        return f"explode({rows})"

    def out(self, x: str) -> str:
        return f"to_json({x})"

    def matches(self, s: str, pattern: str) -> str:
        return f"regexp_like({s}, '{pattern}')"

    def round(self, x: str, places: str) -> str:
        # Spark's round() takes only a constant scale.
        return f"(floor(({x}) * pow(10, {places}) + 0.5) / pow(10, {places}))"

    def month_end(self, month: str) -> str:
        return f"date_format(last_day(CAST({month} || '-01' AS DATE)), 'yyyy-MM-dd')"


DIALECTS = {"duckdb": DuckDB(), "spark": Spark()}
