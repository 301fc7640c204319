"""Check a resource's mapped rows against the warehouse column types before they are batched.

FHIR JSON can hold an object or a list where R4 has a primitive (``coding.display``,
``valueQuantity.unit``...). Mappers copy such values into rows as they are, and a single one
would make the whole batch fail to convert to Arrow (aborting the load). Checking each
resource's rows here quarantines just that resource (``invalid_value``), and also catches a
required column left empty and an integer out of its column's range.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache
from typing import Any

from medmine.warehouse import Reason, Rejected
from medmine.warehouse.schema import table as table_spec

_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
#: Python types pyarrow converts to each logical column type.
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "bigint": (int, float),
    "int": (int, float),
    "double": (int, float, bool),
    "varchar": (str,),
    "date": (dt.date, dt.datetime),
    "timestamp": (dt.datetime, dt.date),
    "bool": (bool,),
}


@cache
def _spec(name: str) -> tuple[dict[str, tuple[str, tuple[type, ...]]], tuple[str, ...]]:
    """``column -> (logical type, accepted Python types)`` and the required columns."""
    spec = table_spec(name)
    cols = {c.name: (c.type, _ACCEPTS[c.type]) for c in spec.columns}
    return cols, tuple(c.name for c in spec.columns if c.required)


def check_rows(rtype: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Raise `Rejected` (invalid_value) when a row holds a value its column cannot take."""
    for name, row in rows:
        cols, required = _spec(name)
        for col, v in row.items():
            if v is None:
                continue
            typ = cols.get(col)
            if typ is None:  # an unknown column is a mapper bug, reported by rows_to_arrow
                continue
            logical, accepts = typ
            if type(v) not in accepts:
                raise Rejected(
                    Reason.INVALID_VALUE,
                    f"{rtype} has a value of the wrong JSON type for {name}.{col} "
                    f"({type(v).__name__} where a {logical} is expected)",
                )
            if logical in _INT_RANGE and not _int_fits(v, logical):
                raise Rejected(
                    Reason.INVALID_VALUE, f"{rtype} has a number out of range for {name}.{col}"
                )
        for col in required:
            if row.get(col) is None:
                raise Rejected(Reason.MISSING_FIELD, f"{rtype} gives no value for {name}.{col}")


def _int_fits(v: int | float, logical: str) -> bool:
    lo, hi = _INT_RANGE[logical]
    if type(v) is float and not math.isfinite(v):
        return False
    return lo <= v <= hi


def check_modifiers(rtype: str, node: Any) -> None:
    """Raise `Rejected` (unsupported_modifier) when `node` holds a ``modifierExtension``.

    A modifier extension changes the meaning of the element that holds it (a "not done", a
    negation); FHIR forbids processing the element as if it were absent, and the loader
    understands none, so the resource is set aside with the extension's URL.
    """
    found = _modifier(node, rtype)
    if found is not None:
        path, url = found
        raise Rejected(
            Reason.UNSUPPORTED_MODIFIER,
            f"{path}.modifierExtension {url} is not understood by the loader (FHIR forbids "
            "reading the element without it)",
        )


def _modifier(node: Any, path: str) -> tuple[str, str] | None:
    stack = [(node, path)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            mod = node.get("modifierExtension")
            if mod:
                first = mod[0] if isinstance(mod, list) else mod
                url = first.get("url") if isinstance(first, dict) else None
                return path, url[:200] if isinstance(url, str) else "(no url)"
            for k, v in node.items():
                if isinstance(v, dict | list):
                    stack.append((v, f"{path}.{k}"))
        elif isinstance(node, list):
            stack.extend((v, path) for v in node if isinstance(v, dict | list))
    return None
