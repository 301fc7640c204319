"""Profile a warehouse: per table and column null rates, distinct counts and ranges (DuckDB's
SUMMARIZE), top codes with names, records per year and per person; compare two profiles.

No data value that could identify a person is shown: ranges are given for numeric columns and,
for dates, as years only; text columns get null rates and distinct counts, never values. Top
codes are shown only for concept ids and coded source values.

>>> from medmine.warehouse import Warehouse
>>> profile_warehouse(Warehouse(":memory:")).total_rows
0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medmine.quality._instances import _coded
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import TABLES
from medmine.warehouse.sql import ident as q

__all__ = [
    "ColumnProfile",
    "ProfileDelta",
    "TableProfile",
    "WarehouseProfile",
    "compare_profiles",
    "profile_warehouse",
]

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
#: Tables never profiled beyond row counts (direct identifiers, audit trail, own results).
_SKIP = ("mm_person_identity", "mm_identifier", "mm_audit", "mm_quality_result", "mm_quarantine")
TOP_N = 10


@dataclass
class ColumnProfile:
    """Statistics of one column (ranges only for numbers, and years only for dates)."""

    column: str
    type: str
    null_pct: float
    distinct: int
    min: Any = None
    max: Any = None
    mean: float | None = None


@dataclass
class TableProfile:
    """Statistics of one table."""

    name: str
    rows: int
    columns: dict[str, ColumnProfile] = field(default_factory=dict)
    top_codes: dict[str, list[tuple[str, str | None, int]]] = field(default_factory=dict)
    by_year: dict[int, int] = field(default_factory=dict)
    year_column: str | None = None
    per_person: dict[str, float] = field(default_factory=dict)
    per_person_hist: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class WarehouseProfile:
    """Profiles of every non-empty table."""

    path: str
    tables: dict[str, TableProfile] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        """Rows in all tables."""
        return sum(self.row_counts.values())


def _columns(wh: Warehouse, name: str) -> dict[str, ColumnProfile]:
    rows = wh.con.execute(f"SUMMARIZE SELECT * FROM {q(name)}").fetchall()
    names = [d[0] for d in wh.con.description]
    out = {}
    for r in rows:
        d = dict(zip(names, r, strict=True))
        typ = str(d["column_type"])
        col = ColumnProfile(
            column=d["column_name"],
            type=typ,
            null_pct=float(d["null_percentage"] or 0.0),
            distinct=int(d["approx_unique"] or 0),
        )
        if typ.startswith(_NUMERIC) and d["min"] is not None:
            col.min, col.max = float(d["min"]), float(d["max"])
            col.mean = float(d["avg"]) if d["avg"] is not None else None
        elif typ in ("DATE", "TIMESTAMP") and d["min"] is not None:
            col.min, col.max = int(str(d["min"])[:4]), int(str(d["max"])[:4])
        out[col.column] = col
    return out


def _exact_distinct(wh: Warehouse, name: str, cols: dict[str, ColumnProfile]) -> None:
    """Replace SUMMARIZE's approximate distinct counts by exact ones (one scan)."""
    exprs = ", ".join(f"count(DISTINCT {q(c)})" for c in cols)
    got = wh.con.execute(f"SELECT {exprs} FROM {q(name)}").fetchone()
    for c, n in zip(cols, got, strict=True):
        cols[c].distinct = int(n)


def _top_codes(wh: Warehouse, spec: Any, has_concepts: bool) -> dict[str, list]:
    out: dict[str, list] = {}
    for cc, sv, _sc, required in _coded(spec):
        if not required:
            continue
        join = "LEFT JOIN concept k ON k.concept_id = t.c" if has_concepts else ""
        name = "k.concept_name" if has_concepts else "NULL"
        out[cc] = [
            (str(c), n_, int(cnt))
            for c, n_, cnt in wh.con.execute(
                f"SELECT t.c, {name}, t.n FROM (SELECT {q(cc)} AS c, count(*) AS n "
                f"FROM {q(spec.name)} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP_N}) t {join} "
                "ORDER BY t.n DESC, t.c"
            ).fetchall()
        ]
        out[sv] = [
            (str(c), n_, int(cnt))
            for c, n_, cnt in wh.con.execute(
                f"SELECT t.c, s.display, t.n FROM (SELECT {q(sv)} AS c, count(*) AS n "
                f"FROM {q(spec.name)} WHERE {q(sv)} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 "
                f"LIMIT {TOP_N}) t LEFT JOIN mm_source_concept s ON s.vocabulary_id || ':' || "
                "s.code = t.c ORDER BY t.n DESC, t.c"
            ).fetchall()
        ]
    return out


def _per_person(wh: Warehouse, spec: Any, persons: int) -> tuple[dict, list]:
    pc = q(spec.person_column)
    stats = wh.con.execute(
        f"SELECT count(*), min(n), quantile_disc(n, 0.5), quantile_disc(n, 0.9), "
        f"quantile_disc(n, 0.99), max(n), avg(n) FROM (SELECT {pc}, count(*) AS n "
        f"FROM {q(spec.name)} GROUP BY 1) x"
    ).fetchone()
    keys = ("persons_with_rows", "min", "median", "p90", "p99", "max", "mean")
    d = {k: float(v) if v is not None else None for k, v in zip(keys, stats, strict=True)}
    d["pct_persons_with_rows"] = 100.0 * d["persons_with_rows"] / persons if persons else None
    hist = wh.con.execute(
        f"SELECT n, count(*) FROM (SELECT {pc}, count(*) AS n FROM {q(spec.name)} GROUP BY 1) x "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return d, [(int(a), int(b)) for a, b in hist]


def profile_warehouse(wh: Warehouse) -> WarehouseProfile:
    """Profile every non-empty schema table of `wh`."""
    counts = wh.counts()
    prof = WarehouseProfile(str(wh.path), row_counts={k: v for k, v in counts.items() if v})
    has_concepts = bool(counts.get("concept"))
    persons = counts.get("person", 0)
    for spec in TABLES:
        n = counts.get(spec.name, 0)
        if not n or spec.name in _SKIP:
            continue
        tp = TableProfile(spec.name, n)
        tp.columns = _columns(wh, spec.name)
        _exact_distinct(wh, spec.name, tp.columns)
        if spec.role in ("clinical", "derived", "claims"):
            tp.top_codes = _top_codes(wh, spec, has_concepts)
            dates = [c.name for c in spec.columns if c.type == "date" and c.required]
            if dates:
                tp.year_column = dates[0]
                tp.by_year = {
                    int(y): int(c)
                    for y, c in wh.con.execute(
                        f"SELECT year({q(dates[0])}) AS y, count(*) FROM {q(spec.name)} "
                        "WHERE y IS NOT NULL GROUP BY 1 ORDER BY 1"
                    ).fetchall()
                }
            if spec.person_column and spec.name != "person":
                tp.per_person, tp.per_person_hist = _per_person(wh, spec, persons)
        prof.tables[spec.name] = tp
    return prof


@dataclass
class ProfileDelta:
    """Differences between a profile (``new``) and another one (``old``)."""

    new: str
    old: str
    rows: list[dict[str, Any]]  # per table: rows old/new, delta, pct change
    columns: list[dict[str, Any]]  # per column with a changed null rate or distinct count
    years: list[dict[str, Any]]  # per table and year: counts old/new


def _change(a: float, b: float) -> float | None:
    return 100.0 * (b - a) / a if a else None


def compare_profiles(new: WarehouseProfile, old: WarehouseProfile) -> ProfileDelta:
    """Deltas of row counts, null rates, distinct counts and yearly counts (new minus old)."""
    rows = []
    for t in sorted(set(new.row_counts) | set(old.row_counts)):
        a, b = old.row_counts.get(t, 0), new.row_counts.get(t, 0)
        rows.append({"table": t, "old": a, "new": b, "delta": b - a, "pct_change": _change(a, b)})
    cols = []
    for t in sorted(set(new.tables) & set(old.tables)):
        for c, cp in new.tables[t].columns.items():
            op = old.tables[t].columns.get(c)
            if op is None:
                continue
            if abs(cp.null_pct - op.null_pct) > 1e-9 or cp.distinct != op.distinct:
                cols.append(
                    {"table": t, "column": c, "null_pct_old": op.null_pct,
                     "null_pct_new": cp.null_pct, "null_pct_delta": cp.null_pct - op.null_pct,
                     "distinct_old": op.distinct, "distinct_new": cp.distinct}
                )  # fmt: skip
    years = []
    for t in sorted(set(new.tables) | set(old.tables)):
        ny = new.tables[t].by_year if t in new.tables else {}
        oy = old.tables[t].by_year if t in old.tables else {}
        for y in sorted(set(ny) | set(oy)):
            if ny.get(y, 0) != oy.get(y, 0):
                years.append({"table": t, "year": y, "old": oy.get(y, 0), "new": ny.get(y, 0)})
    return ProfileDelta(new.path, old.path, rows, cols, years)
