"""Lab units: convert results to the canonical UCUM unit of their LOINC code with pint.

Decision (documented in docs/quality.md): the `measurement` row is never changed. Converted
values go to the extension table ``mm_measurement_norm`` (measurement id, LOINC, source value
and unit, canonical value and unit, status, reason). Conversions are computed once per
distinct (LOINC, unit) pair in Python and applied set-wise in SQL; a value that cannot be
converted gets a NULL canonical value and a status saying why, never a guess.

>>> round(convert(5.5, "mmol/L", "2345-7").value, 1)
99.1
>>> convert(7.0, "mmol/mol", "4548-4").status
'ambiguous_scale'
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from medmine.quality._reference import lab_ranges
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import domain
from medmine.warehouse.sql import ident

__all__ = [
    "Conversion",
    "LinearMap",
    "NormalizationReport",
    "accepted_units",
    "canonical_unit",
    "convert",
    "linear_map",
    "loinc_code_sql",
    "normalize_measurements",
    "wrong_dimension_units",
]

#: UCUM unit strings that pint spells differently.
UCUM_TO_PINT = {
    "Cel": "degC",
    "[degF]": "degF",
    "degF": "degF",
    "[lb_av]": "lb",
    "[in_i]": "inch",
    "mm[Hg]": "mmHg",
    "/min": "1/min",
    "{beats}/min": "1/min",
    "{breaths}/min": "1/min",
    "%": "percent",
    "10*3/uL": "1/nL",
    "10*9/L": "1/nL",
    "10*6/uL": "1/pL",
    "10*12/L": "1/pL",
    "kg/m2": "kg/m**2",
    "mmol/mol": "mmol/mol",
}
#: Units tried when listing accepted alternatives per LOINC code.
CANDIDATE_UNITS = (
    "mg/dL", "mmol/L", "umol/L", "g/dL", "g/L", "mg/L", "mEq/L", "%", "10*3/uL", "10*9/L",
    "10*6/uL", "10*12/L", "/min", "Cel", "[degF]", "kg", "g", "[lb_av]", "cm", "m", "[in_i]",
    "mm[Hg]", "kg/m2", "U/L",
)  # fmt: skip

#: Units tried when listing units of another dimension per LOINC code (any unit pint reads
#: that cannot be converted to the canonical unit, even with the analyte's molar mass).
DIMENSION_PROBES = (
    *CANDIDATE_UNITS, "mL", "L", "dL", "s", "min", "h", "d", "wk", "mo", "a", "mm", "m2",
    "mmol", "mg", "ug", "ng", "ng/mL", "pg/mL", "ug/mL", "U/mL", "[ft_i]", "[oz_av]", "K",
    "kPa", "/uL", "/L", "/h", "mL/min", "L/min", "mmol/mol", "g/mol",
)  # fmt: skip


@dataclass(frozen=True)
class LinearMap:
    """``canonical = source * factor + offset`` for one (LOINC, unit) pair, or why not."""

    status: str  # converted | identity | no_unit | unknown_loinc | unknown_unit | ...
    factor: float | None = None
    offset: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class Conversion:
    """A converted value (``None`` when not convertible) with its unit, status and reason."""

    value: float | None
    unit: str | None
    status: str
    reason: str = ""


@functools.cache
def _ureg() -> Any:
    import pint

    return pint.UnitRegistry()


@functools.cache
def _by_loinc() -> dict[str, dict[str, str]]:
    return {r["loinc"]: r for r in lab_ranges()}


def canonical_unit(loinc: str) -> str | None:
    """Canonical UCUM unit of a LOINC code, or ``None`` for codes not in the shipped table."""
    r = _by_loinc().get(loinc)
    return r["unit"] if r else None


def _pint_unit(unit: str) -> Any:
    ureg = _ureg()
    s = UCUM_TO_PINT.get(unit, unit)
    tokens = re.split(r"([/*.])", s)  # mg/dl -> mg/dL (a litre token, not the l of mmol)
    s = "".join(t[:-1] + "L" if re.fullmatch(r"[dcmunµ]?l", t) else t for t in tokens)
    s = s.replace("mEq", "mmol")
    return ureg.Unit(s)


@functools.cache
def linear_map(loinc: str, unit: str | None) -> LinearMap:
    """How to convert values of `loinc` in `unit` to its canonical unit (cached per pair)."""
    row = _by_loinc().get(loinc)
    if row is None:
        return LinearMap("unknown_loinc", reason="LOINC code not in the canonical-unit table")
    if unit is None or not unit.strip():
        return LinearMap("no_unit", reason="no unit recorded")
    unit = unit.strip()
    canon = row["unit"]
    if unit == canon:
        return LinearMap("identity", 1.0)
    try:
        src, dst = _pint_unit(unit), _pint_unit(canon)
    except Exception:  # noqa: BLE001  (pint raises several parse errors)
        return LinearMap("unknown_unit", reason="unit not understood")
    if src.dimensionless and dst.dimensionless:
        return LinearMap(
            "ambiguous_scale",
            reason=f"dimensionless units {unit} and {canon} may measure different scales",
        )
    factor = 1.0
    if "mEq" in unit:
        valence = row.get("valence") or ""
        if not valence:
            return LinearMap("needs_valence", reason="mEq needs the ion's valence")
        factor /= float(valence)
    ureg = _ureg()
    mass_per_mol = ureg.Unit("g/mol")
    try:
        if src.dimensionality == dst.dimensionality:
            q0 = ureg.Quantity(0.0, src).to(dst).magnitude
            q1 = ureg.Quantity(1.0, src).to(dst).magnitude
            return LinearMap("converted", factor * (q1 - q0), q0 * factor)
        molar = row.get("molar_mass_g_per_mol") or ""
        if (src * mass_per_mol).dimensionality == dst.dimensionality:
            if not molar:
                return LinearMap("needs_molar_mass", reason="no molar mass for this analyte")
            f = ureg.Quantity(float(molar), src * mass_per_mol).to(dst).magnitude
            return LinearMap("converted", factor * f)
        if (src / mass_per_mol).dimensionality == dst.dimensionality:
            if not molar:
                return LinearMap("needs_molar_mass", reason="no molar mass for this analyte")
            f = ureg.Quantity(1.0 / float(molar), src / mass_per_mol).to(dst).magnitude
            return LinearMap("converted", factor * f)
    except Exception as exc:  # noqa: BLE001
        return LinearMap("incompatible_unit", reason=type(exc).__name__)
    return LinearMap("incompatible_unit", reason=f"{unit} does not convert to {canon}")


def convert(value: float | None, unit: str | None, loinc: str) -> Conversion:
    """Convert one value to the canonical unit of `loinc` (``value=None`` if not possible)."""
    m = linear_map(loinc, unit)
    canon = canonical_unit(loinc)
    if m.factor is None:
        return Conversion(None, canon, m.status, m.reason)
    if value is None:
        return Conversion(None, canon, "no_value", "no numeric value")
    return Conversion(value * m.factor + m.offset, canon, m.status, m.reason)


@functools.cache
def accepted_units() -> dict[str, tuple[str, ...]]:
    """Per listed LOINC code, the canonical unit and the candidate units that convert to it."""
    out = {}
    for loinc, row in _by_loinc().items():
        units = [row["unit"]]
        units += [u for u in CANDIDATE_UNITS if u != row["unit"] and linear_map(loinc, u).factor]
        out[loinc] = tuple(units)
    return out


@functools.cache
def wrong_dimension_units(loinc: str) -> tuple[str, ...]:
    """Units (lower-cased) in which a value of `loinc` cannot be, whatever its number.

    A unit is of the wrong dimension when pint reads it and it converts to the canonical unit
    neither directly nor through the analyte's molar mass: glucose in kg, heart rate in cm.

    >>> "kg" in wrong_dimension_units("2345-7") and "mmol/l" not in wrong_dimension_units("2345-7")
    True
    """
    out = {
        u.lower() for u in DIMENSION_PROBES if linear_map(loinc, u).status == "incompatible_unit"
    }
    out -= {u.lower() for u in DIMENSION_PROBES if linear_map(loinc, u).factor is not None}
    return tuple(sorted(out))


@dataclass
class NormalizationReport:
    """What `normalize_measurements` did: rows per status and coverage."""

    run_id: str
    rows: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    pairs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def converted(self) -> int:
        """Rows with a canonical value."""
        return self.by_status.get("converted", 0) + self.by_status.get("identity", 0)

    @property
    def coverage_pct(self) -> float | None:
        """Converted rows among rows with a value and a listed LOINC code."""
        eligible = sum(
            n for s, n in self.by_status.items() if s not in ("no_value", "unknown_loinc")
        )
        return 100.0 * self.converted / eligible if eligible else None


def loinc_code_sql(alias: str | None = None) -> str:
    """SQL for the LOINC code of a measurement row: its source value without a ``LOINC:`` prefix.

    `alias` qualifies the column (``m`` gives ``m."measurement_source_value"``).

    >>> loinc_code_sql("m").startswith('CASE WHEN m."measurement_source_value" LIKE')
    True
    """
    col = ident(domain("measurement").source_value_column)
    if alias:
        col = f"{alias}.{col}"
    return f"CASE WHEN {col} LIKE 'LOINC:%' THEN substr({col}, 7) ELSE {col} END"


def normalize_measurements(wh: Warehouse) -> NormalizationReport:
    """Fill ``mm_measurement_norm`` for every measurement (replacing an earlier run).

    >>> wh = Warehouse(":memory:")
    >>> normalize_measurements(wh).rows
    0
    """
    con = wh.con
    run_id = f"units-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    d = domain("measurement")
    table = ident(d.table)
    pairs = con.execute(
        f"SELECT DISTINCT {loinc_code_sql()} AS loinc, unit_source_value FROM {table}"
    ).fetchall()
    rows = []
    for loinc, unit in pairs:
        m = linear_map(loinc or "", unit)
        rows.append(
            {
                "loinc": loinc,
                "unit": unit,
                "factor": m.factor,
                "offset": m.offset,
                "canonical": canonical_unit(loinc or ""),
                "status": m.status,
                "reason": m.reason,
            }
        )
    schema = pa.schema(
        [("loinc", pa.string()), ("unit", pa.string()), ("factor", pa.float64()),
         ("offset", pa.float64()), ("canonical", pa.string()), ("status", pa.string()),
         ("reason", pa.string())]
    )  # fmt: skip
    unit_map = pa.Table.from_pylist(rows, schema=schema)  # noqa: F841  (read by DuckDB)
    with wh.transaction():
        con.execute("DELETE FROM mm_measurement_norm")
        con.execute(
            f"""
            INSERT INTO mm_measurement_norm BY NAME
            SELECT m.{ident(d.id_column)} AS measurement_id, m.person_id, u.loinc,
                   m.value_as_number AS source_value,
                   m.unit_source_value AS source_unit,
                   CASE WHEN m.value_as_number IS NOT NULL AND u.factor IS NOT NULL
                        THEN m.value_as_number * u.factor + u."offset" END AS value_canonical,
                   u.canonical AS unit_canonical,
                   CASE WHEN u.factor IS NOT NULL AND m.value_as_number IS NULL THEN 'no_value'
                        ELSE u.status END AS status,
                   CASE WHEN u.factor IS NOT NULL AND m.value_as_number IS NULL
                        THEN 'no numeric value' ELSE nullif(u.reason, '') END AS reason,
                   CAST(? AS VARCHAR) AS run_id
            FROM {table} m JOIN unit_map u
              ON u.loinc IS NOT DISTINCT FROM ({loinc_code_sql("m")})
             AND u.unit IS NOT DISTINCT FROM m.unit_source_value
            """,
            [run_id],
        )
    by_status = dict(
        con.execute("SELECT status, count(*) FROM mm_measurement_norm GROUP BY 1").fetchall()
    )
    return NormalizationReport(
        run_id=run_id, rows=sum(by_status.values()), by_status=by_status, pairs=rows
    )
