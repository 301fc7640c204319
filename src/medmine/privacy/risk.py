"""Re-identification risk: k-anonymity, l-diversity, prosecutor and journalist risk over
quasi-identifiers, and generalisation plus suppression to reach a target k (in SQL).

>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE f AS SELECT * FROM (VALUES (1950, 'F'), (1950, 'F'), "
...                 "(1951, 'M')) t(year_of_birth, sex)")
>>> r = assess(con, "SELECT * FROM f", ["year_of_birth", "sex"])
>>> r.k, r.prosecutor_max
(1, 1.0)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from medmine.warehouse.sql import ident

#: The person-level quasi-identifier frame of a (de-identified) warehouse.
PERSON_QI_SQL = (
    "SELECT p.person_id, p.year_of_birth, p.gender_concept_id AS sex, p.race_concept_id AS race,"
    " p.ethnicity_concept_id AS ethnicity, l.zip AS zip3, l.state AS state "
    "FROM person p LEFT JOIN location l ON l.location_id = p.location_id"
)
DEFAULT_QI = ("year_of_birth", "sex", "zip3", "race", "ethnicity")

#: Generalisation hierarchies: per column, SQL expressions from finest to suppressed (NULL).
HIERARCHIES: dict[str, tuple[str, ...]] = {
    "year_of_birth": (
        "year_of_birth",
        "(year_of_birth // 5) * 5",
        "(year_of_birth // 10) * 10",
        "(year_of_birth // 20) * 20",
        "NULL",
    ),
    "zip3": ("zip3", "state", "NULL"),
    "race": (
        "race",
        "CASE WHEN race = 8527 THEN 'white' WHEN race IS NULL OR race = 0 THEN 'unknown' "
        "ELSE 'other' END",
        "NULL",
    ),
}


@dataclass
class RiskReport:
    """Risk figures for one frame and set of quasi-identifiers."""

    quasi_identifiers: tuple[str, ...]
    records: int
    classes: int
    k: int
    class_sizes: dict[int, int]  # class size -> number of classes of that size
    prosecutor_max: float
    prosecutor_avg: float
    records_in_small_classes: dict[int, int]  # k threshold -> records in classes smaller
    journalist_max: float
    journalist_avg: float
    journalist_note: str = ""
    l_diversity: int | None = None
    sensitive: str | None = None


def _grp(cols: Sequence[str]) -> str:
    return ", ".join(ident(c) for c in cols)


def assess(
    con: Any,
    frame_sql: str,
    quasi_identifiers: Sequence[str] = DEFAULT_QI,
    *,
    sensitive: str | None = None,
    population_sql: str | None = None,
    thresholds: Sequence[int] = (2, 5, 11),
) -> RiskReport:
    """Measure re-identification risk of the rows of `frame_sql`.

    Parameters
    ----------
    sensitive
        Column for l-diversity (minimum number of distinct values per class).
    population_sql
        Population frame with the same quasi-identifier columns (one row per person, or a
        column ``n`` with counts). Without it, journalist risk equals prosecutor risk.
    """
    qi = tuple(quasi_identifiers)
    g = _grp(qi)
    sens = f", count(DISTINCT {ident(sensitive)}) AS l" if sensitive else ", NULL AS l"
    classes = f"SELECT {g}, count(*) AS f{sens} FROM ({frame_sql}) GROUP BY ALL"
    n, nc, k, pavg, lmin = con.execute(
        f"SELECT sum(f), count(*), min(f), count(*) / sum(f), min(l) FROM ({classes})"
    ).fetchone()
    n = int(n or 0)
    if n == 0:
        return RiskReport(qi, 0, 0, 0, {}, 0.0, 0.0, {}, 0.0, 0.0, "empty frame")
    sizes = dict(
        con.execute(f"SELECT f, count(*) FROM ({classes}) GROUP BY f ORDER BY f").fetchall()
    )
    small = {
        t: int(
            con.execute(
                f"SELECT coalesce(sum(f), 0) FROM ({classes}) WHERE f < {int(t)}"
            ).fetchone()[0]
        )
        for t in thresholds
    }
    if population_sql:
        cnt = "sum(n)" if "n" in _columns(con, population_sql) else "count(*)"
        pop = f"SELECT {g}, {cnt} AS F FROM ({population_sql}) GROUP BY ALL"
        on = " AND ".join(f"s.{ident(c)} IS NOT DISTINCT FROM p.{ident(c)}" for c in qi)
        jmax, javg = con.execute(
            f"SELECT max(1.0 / greatest(coalesce(p.F, s.f), s.f)), "
            f"sum(s.f / greatest(coalesce(p.F, s.f), s.f)) / sum(s.f) "
            f"FROM ({classes}) s LEFT JOIN ({pop}) p ON {on}"
        ).fetchone()
        note = "journalist risk against the given population frame"
    else:
        jmax, javg = 1.0 / k, float(pavg)
        note = "no population frame given: journalist risk reported equal to prosecutor risk"
    return RiskReport(
        quasi_identifiers=qi,
        records=n,
        classes=int(nc),
        k=int(k),
        class_sizes={int(a): int(b) for a, b in sizes.items()},
        prosecutor_max=1.0 / int(k),
        prosecutor_avg=float(pavg),
        records_in_small_classes=small,
        journalist_max=float(jmax),
        journalist_avg=float(javg),
        journalist_note=note,
        l_diversity=None if lmin is None else int(lmin),
        sensitive=sensitive,
    )


def _columns(con: Any, sql: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]


@dataclass
class AnonymizationResult:
    """The generalisation chosen, what it cost, and the risk after it."""

    target_k: int
    levels: dict[str, int]  # column -> hierarchy level (0 = unchanged)
    generalised_sql: str  # SELECT producing the generalised, suppressed frame
    rows_suppressed: int
    records: int
    information_loss: float  # mean normalised hierarchy height, in [0, 1]
    achieved: bool
    risk: RiskReport | None = None
    tried: int = field(default=0)


def anonymize(
    con: Any,
    frame_sql: str,
    quasi_identifiers: Sequence[str] = DEFAULT_QI,
    target_k: int = 5,
    *,
    max_suppression: float = 0.05,
    hierarchies: dict[str, tuple[str, ...]] | None = None,
) -> AnonymizationResult:
    """Find the least generalisation (then suppression of the rows still in classes smaller
    than `target_k`, up to `max_suppression` of rows) that makes the frame k-anonymous.

    Searches the full lattice of hierarchy levels in order of information loss (mean
    normalised height), so the first acceptable node is a minimal-loss one.
    """
    hier = {**HIERARCHIES, **(hierarchies or {})}
    qi = tuple(quasi_identifiers)
    levels = [hier.get(c, (ident(c), "NULL")) for c in qi]
    n = int(con.execute(f"SELECT count(*) FROM ({frame_sql})").fetchone()[0])
    nodes = sorted(
        itertools.product(*[range(len(h)) for h in levels]),
        key=lambda node: (sum(i / (len(h) - 1) for i, h in zip(node, levels, strict=True)), node),
    )
    best: AnonymizationResult | None = None
    for tried, node in enumerate(nodes, start=1):
        exprs = [f"{h[i]} AS {ident(c)}" for c, h, i in zip(qi, levels, node, strict=True)]
        others = [c for c in _columns(con, frame_sql) if c not in qi]
        select = ", ".join([*(ident(c) for c in others), *exprs])
        gen = f"SELECT {select} FROM ({frame_sql})"
        g = _grp(qi)
        small = int(
            con.execute(
                f"SELECT coalesce(sum(f), 0) FROM (SELECT count(*) AS f FROM ({gen}) "
                f"GROUP BY {g}) WHERE f < {int(target_k)}"
            ).fetchone()[0]
        )
        loss = sum(i / (len(h) - 1) for i, h in zip(node, levels, strict=True)) / len(qi)
        if small <= max_suppression * n:
            kept = (
                f"SELECT * EXCLUDE (_f) FROM (SELECT *, count(*) OVER (PARTITION BY {g}) AS _f "
                f"FROM ({gen})) WHERE _f >= {int(target_k)}"
            )
            best = AnonymizationResult(
                target_k,
                dict(zip(qi, node, strict=True)),
                kept,
                small,
                n,
                loss,
                True,
                tried=tried,
            )
            break
    if best is None:
        return AnonymizationResult(target_k, {}, frame_sql, 0, n, 1.0, False, tried=len(nodes))
    best.risk = assess(con, best.generalised_sql, qi)
    return best
