"""`SparkWarehouse`: a warehouse on Spark that the DuckDB-SQL stages run on unchanged.

medmine's stages (quality checks, profiling, cohorts, covariates, transactions) write their
warehouse work as DuckDB SQL restricted to what SQLGlot transpiles (ARCHITECTURE.md, Engines).
`SparkConnection` is the small part of DuckDB's connection API those stages use (``execute``
with ``fetchone``/``fetchall``/``df``/``fetchnumpy``/``arrow``, ``register``), implemented by
transpiling every statement to Spark SQL with SQLGlot and running it on a SparkSession. So the
SQL is written once and the same functions run on both engines; where a statement uses a
DuckDB-only construct, Spark refuses it and the stage reports that check or step as an error.

Temporary tables become cached temporary views; ``?`` parameters are passed to Spark's own
parameter binding (never formatted into the text). ``SUMMARIZE <query>`` (DuckDB's column
statistics, which profiling uses) is answered by one Spark SQL aggregation over the query
(`summarize`), with DuckDB's result columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlglot
from sqlglot import exp

from medmine.errors import WarehouseError
from medmine.warehouse.schema import TABLES
from medmine.warehouse.sql import ident, literal

__all__ = [
    "SUMMARIZE_COLUMNS",
    "SparkConnection",
    "SparkResult",
    "SparkWarehouse",
    "duckdb_type",
    "summarize_rows",
    "to_spark_sql",
]

_CREATE_TEMP = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+(?:TABLE|VIEW)\s+(\"[^\"]+\"|\w+)\s+AS\s+",
    re.IGNORECASE | re.DOTALL,
)
_INFO_SCHEMA = re.compile(r"\binformation_schema\.tables\b", re.IGNORECASE)
_DROP = re.compile(
    r"^\s*DROP\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?(\"[^\"]+\"|\w+)\s*;?\s*$", re.IGNORECASE
)
_SUMMARIZE = re.compile(r"^\s*SUMMARIZE\s+", re.IGNORECASE)
_RENAME = re.compile(
    r"^\s*ALTER\s+(?:TABLE|VIEW)\s+(\"[^\"]+\"|\w+)\s+RENAME\s+TO\s+(\"[^\"]+\"|\w+)\s*;?\s*$",
    re.IGNORECASE,
)
#: Every column name of the warehouse schema: a WHERE name that is one of these is a column,
#: never a select-list alias (see `_where_aliases`).
_SCHEMA_COLUMNS = frozenset(c.name for t in TABLES for c in t.columns)
#: DuckDB's SUMMARIZE result columns, in its order.
SUMMARIZE_COLUMNS = (
    "column_name",
    "column_type",
    "min",
    "max",
    "approx_unique",
    "avg",
    "std",
    "q25",
    "q50",
    "q75",
    "count",
    "null_percentage",
)


def to_spark_sql(query: str) -> str:
    """Transpile one DuckDB statement to Spark SQL (SQLGlot; raises on what it cannot write).

    SQLGlot's Spark writer moves every ``WITH`` to the top of the statement; two subqueries
    that each define a CTE of the same name (the covariate analyses all say ``agg``) would
    then clash, so nested CTEs are first renamed uniquely within their own scope.
    """
    trees = sqlglot.parse(query, read="duckdb")
    if len(trees) != 1 or trees[0] is None:
        raise WarehouseError(f"expected one SQL statement, got {len(trees)}")
    tree = trees[0]
    n = 0
    for with_ in list(tree.find_all(exp.With)):
        scope = with_.parent
        if scope is None or scope is tree:
            continue
        for cte in with_.expressions:
            old, n = cte.alias, n + 1
            new = f"{old}__{n}"
            cte.set("alias", exp.TableAlias(this=exp.to_identifier(new)))
            for t in scope.find_all(exp.Table):
                if t.name == old and not t.db:
                    t.set("this", exp.to_identifier(new))
    _where_aliases(tree)
    _discrete_quantiles(tree)
    _round_even(tree)
    _date_sub_years(tree)
    _ordered_aggregates(tree)
    _star_replace(tree)
    _list_lengths(tree)
    _double_results(tree)
    return tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)


def _where_aliases(tree: exp.Expression) -> None:
    """DuckDB lets WHERE name a select-list alias (``SELECT year(d) AS y ... WHERE y IS NOT
    NULL``); Spark does not, so such names are replaced by the aliased expression. A name that
    is a column of the warehouse schema is left alone (DuckDB binds it to the column first).
    """
    for select in tree.find_all(exp.Select):
        where = select.args.get("where")
        if where is None:
            continue
        aliases = {
            e.alias: e.this
            for e in select.expressions
            if isinstance(e, exp.Alias) and e.alias not in _SCHEMA_COLUMNS
        }
        if not aliases:
            continue
        for col in list(where.find_all(exp.Column)):
            if not col.table and col.name in aliases:
                col.replace(aliases[col.name].copy())


def _round_even(tree: exp.Expression) -> None:
    """DuckDB's ``round_even(x, d)`` (half to even) -> Spark's ``bround(x, d)`` (the same);
    ``fsum(x)`` (compensated sum) -> ``sum(x)``: Spark has no compensated sum, so sums of
    doubles agree within a few ulps, not bit for bit.
    """
    for node in list(tree.find_all(exp.Anonymous)):
        if str(node.this).lower() in ("fsum", "sumkahan", "kahan_sum"):
            node.replace(exp.Sum(this=node.expressions[0].copy()))
            continue
        if str(node.this).lower() == "round_even":
            node.set("this", "bround")  # in place: a nested round_even is renamed too


def _double_results(tree: exp.Expression) -> None:
    """DuckDB's ``/`` and ``avg`` always give DOUBLE; Spark keeps DECIMAL for a DECIMAL operand
    (``avg(CASE WHEN .. THEN 1.0 ELSE 0.0 END)`` is ``DECIMAL(6,5)`` there: five digits), so
    their operands are cast to DOUBLE first (a no-op for doubles and integers). The operand is
    moved, not copied, so a nested ``/`` is still found and cast.
    """
    for node in list(tree.find_all(exp.Avg)):
        arg = node.this
        if not (isinstance(arg, exp.Cast) and arg.to.is_type("double")):
            node.set("this", exp.Cast(this=arg, to=exp.DataType.build("double")))
    for node in list(tree.find_all(exp.Div)):
        left = node.this
        if not (isinstance(left, exp.Cast) and left.to.is_type("double")):
            node.set("this", exp.Cast(this=left, to=exp.DataType.build("double")))


def _date_sub_years(tree: exp.Expression) -> None:
    """DuckDB's ``date_sub('year', a, b)`` (whole years from a to b, truncated toward zero, as
    an age) -> Spark SQL; Spark's own ``date_sub(d, n)`` subtracts days, so the call cannot
    pass through.
    """
    for node in list(tree.find_all(exp.Anonymous)):
        args = node.expressions
        if str(node.this).lower() != "date_sub" or len(args) != 3:
            continue
        part = args[0]
        if not (isinstance(part, exp.Literal) and part.this.lower() in ("year", "years")):
            continue
        a, b = (x.sql(dialect="spark") for x in args[1:])

        def whole(lo: str, hi: str) -> str:
            return (
                f"(year({hi}) - year({lo}) - CASE WHEN month({hi}) < month({lo}) OR "
                f"(month({hi}) = month({lo}) AND day({hi}) < day({lo}) "
                f"AND {hi} <> last_day({hi})) THEN 1 ELSE 0 END)"
            )

        text = f"CASE WHEN {b} >= {a} THEN {whole(a, b)} ELSE -{whole(b, a)} END"
        node.replace(sqlglot.parse_one(text, read="spark"))


def _ordered_aggregates(tree: exp.Expression) -> None:
    """DuckDB's ordered aggregates, which Spark SQL does not have, in Spark's own terms.

        ``list(x ORDER BY k, ...)`` -> ``transform(array_sort(collect_list(struct(k, ..., x))),
        e -> e.x)``: the values sorted by the keys (then by the value among equal keys: the order
        DuckDB leaves unspecified becomes a fixed one; a NULL value stays in the list, as DuckDB
        keeps it). ``first(x ORDER BY k)`` -> ``min_by(x, k)`` (``last`` or ``DESC`` -> ``max_by``;
    one key; a row whose key is NULL is never the one chosen).
        ``list_slice(l, a, b)`` (1-based, both ends included) -> ``slice(l, a, b - a + 1)``;
    ``l[i]`` -> ``element_at(l, i)`` (both 1-based).
        A descending list key or an explicit NULLS FIRST is left alone (Spark then refuses the
        query rather than give another order).
    """
    for node in list(tree.find_all(exp.ArrayAgg)):
        order = node.this
        if not isinstance(order, exp.Order):
            continue
        keys = order.expressions
        if any(k.args.get("desc") or k.args.get("nulls_first") for k in keys):
            continue
        fields = [
            exp.PropertyEQ(this=exp.to_identifier(f"k{i}"), expression=k.this.copy())
            for i, k in enumerate(keys)
        ]
        fields.append(exp.PropertyEQ(this=exp.to_identifier("v"), expression=order.this.copy()))
        text = "transform(array_sort(collect_list(__s)), e -> e.v)"
        new = sqlglot.parse_one(text, read="spark")
        holder = next(n for n in new.find_all(exp.Column) if n.name == "__s")
        holder.replace(exp.Struct(expressions=fields))
        node.replace(new)
    for node in list(tree.find_all(exp.First, exp.Last)):
        order = node.this
        if not isinstance(order, exp.Order) or len(order.expressions) != 1:
            continue
        key = order.expressions[0]
        if key.args.get("nulls_first"):
            continue
        smallest = isinstance(node, exp.First) != bool(key.args.get("desc"))
        node.replace(
            exp.Anonymous(
                this="min_by" if smallest else "max_by",
                expressions=[order.this.copy(), key.this.copy()],
            )
        )
    for node in list(tree.find_all(exp.Bracket)):
        # DuckDB's list[i] counts from 1, Spark's from 0; element_at counts from 1 (and reads
        # a map by key). A string key (a struct field) and a slice are left as they are.
        idx = node.expressions
        if len(idx) != 1 or isinstance(idx[0], exp.Slice) or idx[0].is_string:
            continue
        node.replace(
            exp.Anonymous(this="element_at", expressions=[node.this.copy(), idx[0].copy()])
        )
    for node in list(tree.find_all(exp.Anonymous)):
        if str(node.this).lower() != "list_slice" or len(node.expressions) != 3:
            continue
        lst, a, b = (e.copy() for e in node.expressions)
        length = exp.Add(
            this=exp.Sub(this=b, expression=a.copy()), expression=exp.Literal.number(1)
        )
        node.replace(exp.Anonymous(this="slice", expressions=[lst, a, length]))


#: Expressions that make a list: DuckDB's ``len`` of one is Spark's ``size``, not ``length``.
_LIST_MAKERS = ("Transform", "Split", "ArrayAgg", "Array", "StringToArray", "ArraySort")
_LIST_FUNCTIONS = frozenset({"transform", "slice", "array_sort", "split", "sequence"})


def _list_lengths(tree: exp.Expression) -> None:
    """``len(<list expression>)`` -> ``size(...)`` (SQLGlot writes DuckDB's ``len`` as
    Spark's ``length``, which measures strings only).
    """
    for node in list(tree.find_all(exp.Length)):
        arg = node.this
        name = str(arg.this).lower() if isinstance(arg, exp.Anonymous) else ""
        if type(arg).__name__ in _LIST_MAKERS or name in _LIST_FUNCTIONS:
            node.replace(exp.ArraySize(this=arg.copy()))


def _star_replace(tree: exp.Expression) -> None:
    """DuckDB's ``SELECT * REPLACE (e AS c)`` -> Spark's ``SELECT * EXCEPT (c), e AS c``: the
    same columns and values, the replaced ones moved to the end of the row (callers that
    read columns by name, as the stages do, see no difference).
    """
    for select in list(tree.find_all(exp.Select)):
        items = select.expressions
        for pos, star in enumerate(items):
            if not isinstance(star, exp.Star) or not star.args.get("replace"):
                continue
            repl = [a.copy() for a in star.args["replace"]]
            plain = exp.Star(except_=[exp.column(a.alias) for a in repl])
            select.set("expressions", [*items[:pos], plain, *repl, *items[pos + 1 :]])
            break


def _discrete_quantiles(tree: exp.Expression) -> None:
    """DuckDB's ``quantile_disc(x, q)`` -> Spark's ``percentile_disc(q) WITHIN GROUP (ORDER BY
    x)`` (both: the smallest value whose cumulative share is at least q).

    SQLGlot's own Spark spelling is ``percentile_approx``, which is not the same value.
    """
    for node in list(tree.find_all(exp.PercentileDisc)):
        if isinstance(node.parent, exp.WithinGroup) or node.expression is None:
            continue
        value, q = node.this, node.expression
        node.replace(
            exp.WithinGroup(
                this=exp.Anonymous(this="percentile_disc", expressions=[q.copy()]),
                expression=exp.Order(expressions=[exp.Ordered(this=value.copy())]),
            )
        )


def _name(token: str) -> str:
    return token[1:-1].replace('""', '"') if token.startswith('"') else token


class SparkResult:
    """The rows of one statement, fetched the ways DuckDB's result offers."""

    def __init__(self, df: Any, rows: list[tuple[Any, ...]] | None = None) -> None:
        self._df = df
        self._rows: list[tuple[Any, ...]] | None = rows
        self._pos = 0

    def _collect(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            self._rows = [tuple(r) for r in self._df.collect()] if self._df is not None else []
        return self._rows

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row (None when there is none)."""
        rows = self._collect()
        if self._pos >= len(rows):
            return None
        self._pos += 1
        return rows[self._pos - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The remaining rows as tuples."""
        rows = self._collect()[self._pos :]
        self._pos = len(self._collect())
        return rows

    def df(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame (through Arrow)."""
        return self.arrow().to_pandas()

    def fetchdf(self) -> pd.DataFrame:
        """Same as `df`."""
        return self.df()

    def fetchnumpy(self) -> dict[str, np.ndarray]:
        """Column name -> numpy array."""
        frame = self.df()
        return {c: frame[c].to_numpy() for c in frame.columns}

    def arrow(self) -> pa.Table:
        """The rows as an Arrow table."""
        if self._df is None:
            return pa.table({})
        return self._df.toArrow()

    to_arrow_table = arrow


class SparkConnection:
    """DuckDB-connection-shaped access to a SparkSession (see the module docstring)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._cached: dict[str, Any] = {}
        #: query text -> (rows, description) answered ahead by `prefetch`, used once.
        self._prefetched: dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = {}
        #: (name, type, None, None, None, None, None) per column of the last result, as
        #: DuckDB's ``description`` (None after a statement without rows).
        self.description: list[tuple[Any, ...]] | None = None

    def execute(self, query: str, params: Sequence[Any] | None = None) -> SparkResult:
        """Run one DuckDB-dialect statement on Spark (or return its `prefetch`-ed rows)."""
        self.description = None
        ahead = None if params else self._prefetched.pop(query, None)
        if ahead is not None:
            rows, self.description = ahead
            return SparkResult(None, rows)
        summarize = _SUMMARIZE.match(query)
        if summarize:
            rows = summarize_rows(self._sql(query[summarize.end() :], params))
            self.description = [(c, None, None, None, None, None, None) for c in SUMMARIZE_COLUMNS]
            return SparkResult(None, rows)
        drop = _DROP.match(query)
        if drop:
            self.drop(_name(drop.group(1)))
            return SparkResult(None)
        rename = _RENAME.match(query)
        if rename:  # a temp table made here: the same cached rows under the new name
            old, new = _name(rename.group(1)), _name(rename.group(2))
            df = self._cached.pop(old, None)
            if df is None:
                df = self.session.table(old).cache()
            self.drop(new)
            df.createOrReplaceTempView(new)
            self._cached[new] = df
            self.session.catalog.dropTempView(old)
            return SparkResult(None)
        create = _CREATE_TEMP.match(query)
        if create:
            name = _name(create.group(1))
            df = self._sql(query[create.end() :], params)
            self.drop(name)
            df = df.cache()
            df.createOrReplaceTempView(name)
            self._cached[name] = df
            return SparkResult(None)
        df = self._sql(query, params)
        self.description = [
            (f.name, f.dataType.simpleString(), None, None, None, None, None)
            for f in df.schema.fields
        ]
        return SparkResult(df)

    def prefetch(self, queries: Iterable[str], batch: int = 64) -> int:
        """Answer many read-only queries of at most one row each in a few Spark jobs.

        Queries whose results have the same column types are run as one ``UNION ALL`` (each
        branch tagged with its position), up to `batch` queries a job; the next `execute` of
        the same text returns the stored rows without running Spark again. Quality checks are
        each one aggregate row, so a run of ~70 checks costs a handful of jobs instead of ~70
        (Spark's per-job scheduling dominates small checks). A query that Spark cannot
        analyse, a batch that fails, or a result of more than one row (whose order a union
        would not keep) is left out: its `execute` runs it alone and reports its own error.

        Returns
        -------
        int
            How many queries were answered ahead.
        """
        from pyspark.sql import functions as F  # noqa: N812

        groups: dict[str, list[tuple[str, Any]]] = {}
        for q in dict.fromkeys(queries):
            if _SUMMARIZE.match(q) or _DROP.match(q) or _CREATE_TEMP.match(q):
                continue
            try:
                df = self._sql(q, None)
            except Exception:  # noqa: BLE001  (its own execute reports the error)
                continue
            groups.setdefault(df.schema.simpleString(), []).append((q, df))
        done = 0
        for members in groups.values():
            for start in range(0, len(members), batch):
                chunk = members[start : start + batch]
                union = None
                for i, (_q, df) in enumerate(chunk):
                    tagged = df.select(F.lit(i).alias("__mm_i"), "*")
                    union = tagged if union is None else union.unionAll(tagged)
                try:
                    rows = union.collect()
                except Exception:  # noqa: BLE001  (each runs alone and reports its own error)
                    continue
                by: dict[int, list[tuple[Any, ...]]] = {}
                for r in rows:
                    by.setdefault(r[0], []).append(tuple(r)[1:])
                for i, (q, df) in enumerate(chunk):
                    got = by.get(i, [])
                    if len(got) > 1:
                        continue
                    desc = [
                        (f.name, f.dataType.simpleString(), None, None, None, None, None)
                        for f in df.schema.fields
                    ]
                    self._prefetched[q] = (got, desc)
                    done += 1
        return done

    def sql(self, query: str, params: Sequence[Any] | None = None) -> Any:
        """A Spark DataFrame of a DuckDB-dialect query."""
        return self._sql(query, params)

    def _sql(self, query: str, params: Sequence[Any] | None) -> Any:
        if _INFO_SCHEMA.search(query):
            self._catalog_view()
            query = _INFO_SCHEMA.sub("mm_information_schema_tables", query)
        text = to_spark_sql(query)
        if params:  # named ($name -> :name) or positional (?) parameters, bound by Spark
            args = dict(params) if isinstance(params, dict) else list(params)
            return self.session.sql(text, args=args)
        return self.session.sql(text)

    def _catalog_view(self) -> None:
        """``information_schema.tables`` (which Spark lacks) as a temp view of the catalog."""
        self.session.sql("SHOW TABLES").selectExpr(
            "tableName AS table_name", "'main' AS table_schema"
        ).createOrReplaceTempView("mm_information_schema_tables")

    def register(self, name: str, data: Any) -> None:
        """Make an Arrow table or pandas DataFrame queryable as `name`."""
        frame = data.to_pandas() if isinstance(data, pa.Table) else data
        schema = _spark_schema(data) if isinstance(data, pa.Table) else None
        df = self.session.createDataFrame(frame, schema=schema)
        df.createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        """Forget `name` (a registered frame or temp table)."""
        self.drop(name)

    def drop(self, name: str) -> None:
        """Drop temp view `name` and free its cache."""
        cached = self._cached.pop(name, None)
        if cached is not None:
            cached.unpersist()
        self.session.catalog.dropTempView(name)

    def close(self) -> None:
        """Drop every temp table this connection made (the session stays up)."""
        for name in list(self._cached):
            self.drop(name)


def duckdb_type(spark_type: Any) -> str:
    """The DuckDB name of a Spark SQL type (as DuckDB's SUMMARIZE reports ``column_type``)."""
    name = spark_type.simpleString()
    simple = {
        "tinyint": "TINYINT",
        "smallint": "SMALLINT",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "float": "FLOAT",
        "double": "DOUBLE",
        "string": "VARCHAR",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP WITH TIME ZONE",
        "timestamp_ntz": "TIMESTAMP",
        "binary": "BLOB",
    }
    if name in simple:
        return simple[name]
    if name.startswith("decimal"):
        return name.upper()
    return name.upper()


_NUMERIC_SPARK = ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal")


def summarize_rows(df: Any) -> list[tuple[Any, ...]]:
    """DuckDB's ``SUMMARIZE`` of Spark DataFrame `df`, from one Spark SQL aggregation.

    One row per column with `SUMMARIZE_COLUMNS`: ``min``/``max`` as text (Spark's cast to
    string, which for numbers, dates and timestamps reads back to the same value),
    ``approx_unique`` (HyperLogLog, ``approx_count_distinct``; DuckDB's is approximate too),
    ``avg``, ``std`` (sample) and ``q25``/``q50``/``q75`` (``percentile_approx``) for numbers,
    ``avg`` also for dates and timestamps as DuckDB gives it, ``count`` (all rows) and
    ``null_percentage`` (``DECIMAL(9,2)``).
    """
    from decimal import Decimal

    from pyspark.sql import functions as F  # noqa: N812

    fields = df.schema.fields
    aggs = [F.count(F.lit(1)).alias("__n")]
    for i, f in enumerate(fields):
        c = F.col(f"`{f.name}`")
        kind = f.dataType.simpleString()
        numeric = kind.startswith(_NUMERIC_SPARK)
        aggs += [
            F.count(c).alias(f"c{i}"),
            F.min(c).cast("string").alias(f"mn{i}"),
            F.max(c).cast("string").alias(f"mx{i}"),
            F.approx_count_distinct(c).alias(f"u{i}"),
        ]
        if numeric:
            d = c.cast("double")
            aggs += [
                F.avg(d).alias(f"a{i}"),
                F.stddev_samp(d).alias(f"s{i}"),
                F.percentile_approx(d, [0.25, 0.5, 0.75]).alias(f"q{i}"),
            ]
    got = df.agg(*aggs).collect()[0].asDict()
    n = int(got["__n"])
    rows = []
    for i, f in enumerate(fields):
        count = int(got[f"c{i}"])
        qs = got.get(f"q{i}")
        avg, std = got.get(f"a{i}"), got.get(f"s{i}")
        nulls = Decimal(100 * (n - count)) / Decimal(n) if n else Decimal(0)
        rows.append(
            (
                f.name,
                duckdb_type(f.dataType),
                got[f"mn{i}"],
                got[f"mx{i}"],
                int(got[f"u{i}"]),
                None if avg is None else repr(float(avg)),
                None if std is None else repr(float(std)),
                *(qs if qs else (None, None, None)),
                n,
                nulls.quantize(Decimal("0.01")),
            )
        )
    return rows


def _spark_schema(data: pa.Table) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(data.schema)


def check_lake(path: str | Path) -> Path:
    """`path` as a Path when it is a folder (a lake or an export), else a WarehouseError."""
    root = Path(path)
    if not root.is_dir():
        raise WarehouseError(
            f"{root} is not a folder; give a Parquet lake written by "
            "`medmine ingest fhir --engine spark` or a `medmine warehouse export` folder"
        )
    return root


class SparkWarehouse:
    """A warehouse stored as Parquet, queried through Spark with the stages' own SQL.

    Parameters
    ----------
    path
        A lake written by `medmine.spark.Lake` (committed loads only), or a folder of
        ``<table>.parquet`` files (``medmine warehouse export``).
    session
        A SparkSession (`medmine.spark.spark_session`).

    Every table of the warehouse schema is visible: those absent from `path` as empty
    tables of the declared types, so checks and cohorts find the tables they expect.
    The warehouse is read-only: results are returned, not stored back.
    """

    read_only = True

    def __init__(self, path: str | Path, session: Any) -> None:
        from medmine.spark.lake import Lake

        self.path = str(path)
        self.session = session
        self.con = SparkConnection(session)
        root = check_lake(path)
        self.frames: dict[str, Any] = {}
        if Lake.is_lake(root):
            self.frames.update(Lake(root).frames(session))
        else:
            for f in sorted(root.glob("*.parquet")):
                self.frames[f.stem] = session.read.parquet(str(f))
        if not self.frames:
            raise WarehouseError(f"no Parquet tables in {root}")
        known = {t.name for t in TABLES}
        for spec in TABLES:
            if spec.name not in self.frames:
                empty = pa.Table.from_batches([], schema=spec.arrow_schema())
                self.frames[spec.name] = session.createDataFrame([], schema=_spark_schema(empty))
        for name, df in self.frames.items():
            df.createOrReplaceTempView(name)
        self._extra = sorted(set(self.frames) - known)

    def __enter__(self) -> SparkWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the temp tables made by queries (the session stays up)."""
        self.con.close()

    @staticmethod
    def transpile(query: str, engine: str = "spark") -> str:
        """DuckDB SQL -> Spark SQL."""
        return query if engine == "duckdb" else to_spark_sql(query)

    def table_names(self) -> list[str]:
        """Every table visible (schema tables and any extra Parquet tables)."""
        return sorted(self.frames)

    def counts(self) -> dict[str, int]:
        """Row count of every table, in schema order then extra tables (one Spark job)."""
        ordered = [t.name for t in TABLES if t.name in self.frames] + self._extra
        union = " UNION ALL ".join(
            f"SELECT {literal(n)} AS t, count(*) AS n FROM {ident(n)}" for n in ordered
        )
        got = dict(self.con.execute(union).fetchall())
        return {n: int(got[n]) for n in ordered}

    def count(self, name: str) -> int:
        """Row count of one table."""
        return int(self.con.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()[0])

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a DuckDB-dialect query on Spark; an Arrow table."""
        return self.con.execute(query, params).arrow()

    def df(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a DuckDB-dialect query on Spark; a pandas DataFrame."""
        return self.con.execute(query, params).df()

    def tables(self, names: Iterable[str]) -> dict[str, Any]:
        """The Spark DataFrames of some tables."""
        return {n: self.frames[n] for n in names}
