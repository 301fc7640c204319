"""Repeated measurements: the same value at the same time for the same person, under other ids.

Synthea writes each vital sign twice per visit, under two resource ids; other sources repeat
results when an interface resends them. The readers load what the source says (docs/mapping.md),
so the repetitions are in the warehouse; this check counts them so a report shows them, and
covariate builders are expected to count a repetition once.

`REPEATED_MEASUREMENT` is an entry of the check registry (instances over the tables with
numeric values and units: measurement, observation), so `medmine quality` runs it with the
others; `count_repeated` runs it on its own.

>>> from medmine.warehouse import Warehouse
>>> count_repeated(Warehouse(":memory:"))
{'measurement': (0, 0), 'observation': (0, 0)}
"""

from __future__ import annotations

from medmine.quality._instances import generate
from medmine.quality._registry import REGISTRY, SAME_MEASUREMENT, CheckType
from medmine.warehouse import Warehouse

#: What makes two rows the same measurement (besides being of the same table).
SAME = SAME_MEASUREMENT

REPEATED_MEASUREMENT: CheckType = REGISTRY["repeated_measurement"]


def without_repeats(table: str = "measurement") -> str:
    """SQL of `table` (measurement or observation) with each repetition kept once (the row with
    the smallest id): the subquery a covariate count should read instead of the table.

    >>> "row_number()" in without_repeats()
    True
    """
    params = next(p for p in generate(REPEATED_MEASUREMENT.instances) if p["table"] == table)
    same = SAME.format(**params)
    return (
        f"(SELECT * FROM {params['t']} QUALIFY row_number() OVER (PARTITION BY {same} "
        f"ORDER BY {params['id']}) = 1)"
    )


def count_repeated(wh: Warehouse) -> dict[str, tuple[int, int]]:
    """Per table: (repeated rows beyond the first of each group, numeric rows checked)."""
    out: dict[str, tuple[int, int]] = {}
    ct = REPEATED_MEASUREMENT
    for params in generate(ct.instances):
        violated = ct.violated.format(**params)
        denominator = ct.denominator.format(**params)
        n = wh.con.execute(f"SELECT count(*) FROM ({violated}) v").fetchone()[0]
        d = wh.con.execute(denominator).fetchone()[0]
        out[params["table"]] = (int(n), int(d))
    return out
