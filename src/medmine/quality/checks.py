"""Run the data-quality checks: expand the registry over the schema, run one SQL per check,
collect every result (a broken check gets status ``error``; the others go on) and store them in
``mm_quality_result``.

Status: for check types of severity ``error`` (impossible data, see
`medmine.quality._registry.IMPOSSIBLE`) ``fail`` as soon as one row violates; for ``rate``
types ``fail`` when the violated percentage exceeds the threshold; ``pass`` otherwise
(thresholds and severities can be overridden by a settings file, `medmine.quality.settings`);
``not_applicable`` when the table (or a table the check needs, such as the vocabulary's
``concept``) is empty or nothing is in scope, with the `reason` declared in the registry;
``error`` when the SQL failed. ``has_failing_rows`` says whether any row violates, even under
the threshold. ``mm_quality_result`` keeps a not-applicable reason in its ``error`` column
(which is empty for those results otherwise); `load_run` gives it back as `reason`.

Each stored run is compared with the previous run on the same warehouse
(`medmine.quality.compare`): ``run.comparison`` lists new failures, worse, fixed and better
checks; `QualityRun.to_dict` is the machine-readable form (ids and counts, never values).

>>> from medmine.warehouse import Warehouse
>>> run = run_checks(Warehouse(":memory:"), store=False)
>>> run.summary["error"]
0
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from medmine.quality._instances import CONSEQUENCES, generate
from medmine.quality._registry import (
    CHECK_TYPES,
    NOT_APPLICABLE_REASONS,
    NOTHING_TO_CHECK,
    RATE,
    REGISTRY,
    CheckType,
)
from medmine.quality.compare import RunComparison, compare_runs
from medmine.quality.settings import QualitySettings
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import table as table_spec
from medmine.warehouse.sql import ident

__all__ = [
    "CheckInstance",
    "CheckResult",
    "QualityRun",
    "Status",
    "instantiate",
    "not_applicable_reason",
    "run_checks",
    "violating_ids",
]

#: How many example row ids a result keeps.
N_EXAMPLES = 5


class Status(enum.StrEnum):
    """Outcome of one check."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


@dataclass(frozen=True)
class CheckInstance:
    """One check type applied to one table, column or concept, with its SQL."""

    check_id: str
    type: CheckType
    table: str | None
    column: str | None
    key: str | None
    threshold_pct: float
    description: str
    sql: str
    requires: tuple[str, ...]
    loinc: str | None = None
    severity: str = RATE


@dataclass
class CheckResult:
    """The outcome of one check instance (ids only in `example_ids`, never values)."""

    check_id: str
    check_type: str
    check_level: str
    kahn_category: str
    kahn_subcategory: str
    context: str
    table_name: str | None
    column_name: str | None
    concept_id: int | None
    description: str
    threshold_pct: float
    num_violated: int | None
    num_denominator: int | None
    pct_violated: float | None
    status: str
    has_failing_rows: bool
    example_ids: list[str]
    sql: str
    error: str | None = None
    reason: str | None = None  # why a not-applicable check does not apply
    seconds: float = 0.0  # run time of the check's SQL (not stored)
    severity: str = RATE  # error: any violating row fails; rate: the threshold decides
    consequences: int | None = None  # downstream rows explained by this failure (not stored)

    @property
    def impossible(self) -> bool:
        """Whether a single violating row fails the check (severity ``error``)."""
        return self.severity == "error"

    @property
    def flag(self) -> str:
        """Human-readable note on failing rows under the threshold (or empty)."""
        if self.status == Status.PASS and self.has_failing_rows:
            return (
                f"has failing rows ({self.num_violated:,} rows, under "
                f"{self.threshold_pct:g}% threshold)"
            )
        return ""


@dataclass
class QualityRun:
    """All results of one run with its id, time and duration."""

    run_id: str
    run_at: dt.datetime
    results: list[CheckResult] = field(default_factory=list)
    duration_s: float = 0.0
    comparison: RunComparison | None = None
    settings_source: str = "defaults"

    @property
    def summary(self) -> dict[str, int]:
        """Checks per status, plus ``pass_with_failing_rows``."""
        c = Counter(r.status for r in self.results)
        out = {s.value: c.get(s.value, 0) for s in Status}
        out["pass_with_failing_rows"] = sum(
            1 for r in self.results if r.status == Status.PASS and r.has_failing_rows
        )
        out["checks"] = len(self.results)
        out["check_types"] = len({r.check_type for r in self.results})
        return out

    def by_status(self, status: str) -> list[CheckResult]:
        """Results with `status`."""
        return [r for r in self.results if r.status == status]

    def get(self, check_id: str) -> CheckResult:
        """The result of `check_id`."""
        for r in self.results:
            if r.check_id == check_id:
                return r
        raise KeyError(check_id)

    def to_dict(self) -> dict[str, Any]:
        """Machine-readable run: summary, comparison with the previous run, every result
        (counts, thresholds, severity, reasons and example row ids; never data values).
        """
        keep = (
            "check_id", "check_type", "kahn_category", "kahn_subcategory", "table_name",
            "column_name", "severity", "threshold_pct", "num_violated", "num_denominator",
            "pct_violated", "status", "has_failing_rows", "example_ids", "reason", "error",
            "consequences",
        )  # fmt: skip
        return {
            "run_id": self.run_id,
            "run_at": str(self.run_at),
            "duration_s": round(self.duration_s, 3),
            "settings": self.settings_source,
            "summary": self.summary,
            "comparison": self.comparison.to_dict() if self.comparison else None,
            "results": [{k: getattr(r, k) for k in keep} for r in self.results],
        }

    def write_json(self, path: str | Path) -> Path:
        """Write `to_dict` as JSON to `path`."""
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=1, default=str), encoding="utf-8")
        return p


_WRAPPER = """WITH v AS (
{violated}
), c AS (
SELECT (SELECT count(*) FROM v) AS num_violated, ({denominator}) AS num_denominator
)
SELECT num_violated, num_denominator,
  CASE WHEN num_denominator > 0 THEN 100.0 * num_violated / num_denominator END AS pct_violated,
  (SELECT array_agg(CAST(row_id AS VARCHAR)) FROM (SELECT row_id FROM v ORDER BY row_id
   LIMIT {n}) e) AS example_ids
FROM c"""


def _fmt(template: str, params: dict[str, Any]) -> str:
    return template.format_map(params)


def instantiate(
    types: Iterable[str] | None = None, settings: QualitySettings | None = None
) -> list[CheckInstance]:
    """Expand the registry (or the named check types) into check instances with their SQL.

    `settings` overrides thresholds and severities by check type or check id.
    """
    settings = settings or QualitySettings()
    wanted = list(types) if types is not None else [t.name for t in CHECK_TYPES]
    out: list[CheckInstance] = []
    seen: set[str] = set()
    for name in wanted:
        ct = REGISTRY[name]
        for params in generate(ct.instances):
            p = dict(params)
            table = p.get("table")
            column = p.get("column")
            key = p.get("key")
            check_id = ct.name + ":" + ".".join(x for x in (table, column) if x)
            if key:
                check_id += f":{key}"
            if check_id in seen:
                raise ValueError(f"check id {check_id} generated twice")
            seen.add(check_id)
            sql = _WRAPPER.format(
                violated=_fmt(ct.violated, p), denominator=_fmt(ct.denominator, p), n=N_EXAMPLES
            )
            out.append(
                CheckInstance(
                    check_id=check_id,
                    type=ct,
                    table=table,
                    column=column,
                    key=key,
                    threshold_pct=settings.threshold_for(
                        check_id, ct.name, float(p.get("threshold", ct.threshold_pct))
                    ),
                    description=_fmt(ct.description, p),
                    sql=sql,
                    requires=tuple(_fmt(r, p) for r in ct.requires),
                    loinc=p.get("loinc_concept"),
                    severity=settings.severity_for(check_id, ct.name, ct.severity),
                )
            )
    return out


def violating_ids(wh: Warehouse, check_id: str, limit: int | None = None) -> list[str]:
    """Every violating row id of `check_id` (ordered; at most `limit`), not just the examples.

    >>> violating_ids(Warehouse(":memory:"), "is_required:person.person_id")
    []
    """
    type_name = check_id.split(":", 1)[0]
    if type_name not in REGISTRY:
        raise KeyError(f"unknown check type {type_name!r}")
    ct = REGISTRY[type_name]
    for params in generate(ct.instances):
        inst_id = (
            ct.name + ":" + ".".join(x for x in (params.get("table"), params.get("column")) if x)
        )
        if params.get("key"):
            inst_id += f":{params['key']}"
        if inst_id == check_id:
            sql = f"SELECT CAST(row_id AS VARCHAR) FROM ({_fmt(ct.violated, dict(params))}) v "
            sql += "ORDER BY 1" + (f" LIMIT {int(limit)}" if limit is not None else "")
            return [r[0] for r in wh.con.execute(sql).fetchall()]
    raise KeyError(f"no check {check_id!r}")


def not_applicable_reason(requires: Iterable[str], counts: dict[str, int]) -> str | None:
    """Why a check needing the tables `requires` does not apply, or None when all have rows.

    >>> not_applicable_reason(("note", "concept"), {"note": 0})
    'no rows in note; no concept table loaded: run `medmine vocab load ATHENA_DIR`'
    """
    empty = [t for t in requires if not counts.get(t)]
    if not empty:
        return None
    return "; ".join(NOT_APPLICABLE_REASONS.get(t, f"no rows in {t}") for t in empty)


def _status(
    n_viol: int, n_den: int, pct: float | None, threshold: float, severity: str = RATE
) -> str:
    if not n_den:
        return Status.NOT_APPLICABLE
    if severity == "error":
        return Status.FAIL if n_viol > 0 else Status.PASS
    return Status.FAIL if (pct or 0.0) > threshold else Status.PASS


def _result(inst: CheckInstance, **kw: Any) -> CheckResult:
    ct = inst.type
    return CheckResult(
        check_id=inst.check_id,
        check_type=ct.name,
        check_level=ct.level,
        kahn_category=ct.category,
        kahn_subcategory=ct.subcategory,
        context=ct.context,
        table_name=inst.table,
        column_name=inst.column,
        description=inst.description,
        threshold_pct=inst.threshold_pct,
        sql=inst.sql,
        severity=inst.severity,
        **kw,
    )


def run_checks(
    wh: Warehouse,
    *,
    types: Iterable[str] | None = None,
    store: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    settings: QualitySettings | None = None,
    compare: bool = True,
) -> QualityRun:
    """Run every check (or the named types) against `wh`; store results unless ``store=False``.

    Parameters
    ----------
    wh
        The warehouse (opened writable when ``store=True``).
    types
        Names of check types to run; all registered types by default.
    store
        Append the results to ``mm_quality_result``.
    progress
        Callback ``(check_id, done, total)``.
    settings
        Threshold and severity overrides (`medmine.quality.settings.load_settings`).
    compare
        Compare with the previous run stored in `wh` (``run.comparison``).
    """
    t0 = time.perf_counter()
    run_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run = QualityRun(f"quality-{run_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}", run_at)
    counts = wh.counts()
    loinc_concepts = _loinc_concepts(wh) if counts.get("concept") else {}
    settings = settings or QualitySettings()
    run.settings_source = settings.source
    instances = instantiate(types, settings)
    null_cache: dict[tuple[str, str], bool] = {}
    prefetch = getattr(wh.con, "prefetch", None)  # Spark: the checks in a few jobs, not one each
    if prefetch is not None:
        prefetch(i.sql for i in instances if not_applicable_reason(i.requires, counts) is None)
    for i, inst in enumerate(instances):
        if progress:
            progress(inst.check_id, i, len(instances))
        concept_id = loinc_concepts.get(inst.loinc) if inst.loinc else None
        reason = not_applicable_reason(inst.requires, counts)
        if reason is not None:
            run.results.append(
                _result(
                    inst,
                    concept_id=concept_id,
                    num_violated=0,
                    num_denominator=0,
                    pct_violated=None,
                    status=Status.NOT_APPLICABLE,
                    has_failing_rows=False,
                    example_ids=[],
                    error=None,
                    reason=reason,
                )  # fmt: skip
            )
            continue
        t_check = time.perf_counter()
        try:
            n_viol, n_den, pct, examples = wh.con.execute(inst.sql).fetchone()
        except Exception as exc:  # noqa: BLE001  (lazy collection: report and go on)
            run.results.append(
                _result(
                    inst,
                    concept_id=concept_id,
                    num_violated=None,
                    num_denominator=None,
                    pct_violated=None,
                    status=Status.ERROR,
                    has_failing_rows=False,
                    example_ids=[],
                    error=_error_text(exc),
                )  # fmt: skip
            )
            continue
        n_viol, n_den = int(n_viol), int(n_den or 0)
        status = _status(n_viol, n_den, pct, inst.threshold_pct, inst.severity)
        na_reason = _nothing_to_check(wh, inst, counts, null_cache) if not n_den else None
        run.results.append(
            _result(
                inst,
                concept_id=concept_id,
                num_violated=n_viol,
                num_denominator=n_den,
                pct_violated=None if pct is None else float(pct),
                status=status,
                has_failing_rows=n_viol > 0,
                example_ids=list(examples or []),
                reason=na_reason if status == Status.NOT_APPLICABLE else None,
                seconds=time.perf_counter() - t_check,
            )  # fmt: skip
        )
    if progress:
        progress("done", len(instances), len(instances))
    _count_consequences(wh, run)
    if compare:
        previous = _previous_run(wh)
        if previous is not None:
            run.comparison = compare_runs(previous, run)
    run.duration_s = time.perf_counter() - t0
    if store:
        store_results(wh, run)
    return run


def _nothing_to_check(
    wh: Warehouse, inst: CheckInstance, counts: dict[str, int], cache: dict[tuple[str, str], bool]
) -> str:
    """Why a check with rows in its tables has nothing in scope: an all-NULL column, or else."""
    table, column = inst.table, inst.column
    if table and column and counts.get(table):
        key = (table, column)
        if key not in cache:
            try:
                n = wh.con.execute(f"SELECT count({ident(column)}) FROM {ident(table)}").fetchone()[
                    0
                ]
                cache[key] = n == 0
            except Exception:  # noqa: BLE001  (a column missing: cdm_field reports it)
                cache[key] = False
        if cache[key]:
            return f"{table}.{column} is NULL in all {counts[table]:,} rows"
    return NOTHING_TO_CHECK


def _count_consequences(wh: Warehouse, run: QualityRun) -> None:
    """Count the downstream rows explained by failing cause checks (`CONSEQUENCES`)."""
    for r in run.results:
        sql = CONSEQUENCES.get(r.check_type)
        if sql is None or r.status != Status.FAIL:
            continue
        try:
            r.consequences = int(wh.con.execute(sql()).fetchone()[0])
        except Exception:  # noqa: BLE001  (informational: never fails a run)
            r.consequences = None


def _previous_run(wh: Warehouse) -> QualityRun | None:
    """The latest run stored in `wh`, or None (no run yet, or no results table)."""
    try:
        return load_run(wh)
    except KeyError:
        return None
    except Exception:  # noqa: BLE001  (an old warehouse without mm_quality_result)
        return None


def _error_text(exc: BaseException) -> str:
    """First line of an engine error, with quoted literals masked (they could be values)."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    msg = re.sub(r"'[^']*'", "'…'", msg)
    return f"{type(exc).__name__}: {msg[:300]}"


def _loinc_concepts(wh: Warehouse) -> dict[str, int]:
    rows = wh.con.execute(
        "SELECT concept_code, min(concept_id) FROM concept WHERE vocabulary_id = 'LOINC' GROUP BY 1"
    ).fetchall()
    return {code: int(cid) for code, cid in rows}


def store_results(wh: Warehouse, run: QualityRun) -> None:
    """Append a run's results to ``mm_quality_result``."""
    spec = table_spec("mm_quality_result")
    rows = []
    for r in run.results:
        d = asdict(r)
        d["example_ids"] = ",".join(r.example_ids)
        if r.status == Status.NOT_APPLICABLE:
            d["error"] = r.reason  # the column is otherwise empty for these results
        d["run_id"] = run.run_id
        d["run_at"] = run.run_at
        rows.append({c: d.get(c) for c in spec.column_names})
    batch = pa.Table.from_pylist(rows, schema=spec.arrow_schema())  # noqa: F841
    with wh.transaction() as con:
        con.execute("INSERT INTO mm_quality_result BY NAME SELECT * FROM batch")


def load_run(wh: Warehouse, run_id: str | None = None) -> QualityRun:
    """Read a stored run (the latest when `run_id` is None) back from ``mm_quality_result``."""
    if run_id is None:
        row = wh.con.execute(
            "SELECT run_id FROM mm_quality_result ORDER BY run_at DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise KeyError("no quality run stored; run `medmine quality` first")
        run_id = row[0]
    tbl = wh.sql("SELECT * FROM mm_quality_result WHERE run_id = ? ORDER BY check_id", [run_id])
    results, run_at = [], None
    names = set(CheckResult.__dataclass_fields__)
    for d in tbl.to_pylist():
        run_at = d["run_at"]
        ex = d.pop("example_ids")
        kw = {k: v for k, v in d.items() if k in names}
        if kw["status"] == Status.NOT_APPLICABLE:
            kw["reason"], kw["error"] = kw.get("error"), None
        kw["severity"] = _stored_severity(kw)
        results.append(CheckResult(example_ids=ex.split(",") if ex else [], **kw))
    return QualityRun(run_id, run_at, results)


def _stored_severity(row: dict[str, Any]) -> str:
    """Severity of a stored result: the registry's, unless the stored status shows a rate check
    run with an override (a fail at or under its threshold can only be an ``error`` check).
    """
    ct = REGISTRY.get(row["check_type"])
    severity = ct.severity if ct else RATE
    pct, thr = row.get("pct_violated"), row.get("threshold_pct")
    if row["status"] == Status.FAIL and pct is not None and thr is not None and pct <= thr:
        return "error"
    return severity
