"""The official SQL on FHIR v2 suite as data, and the one way its results are judged."""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SUITE = Path(__file__).resolve().parents[1] / "data" / "sql-on-fhir-v2" / "tests"
REPORT = Path(__file__).resolve().parents[2] / "bench" / "results" / "sof-test-report.json"

FILES: dict[str, dict[str, Any]] = {
    p.name: json.loads(p.read_text()) for p in sorted(SUITE.glob("*.json"))
}


@contextlib.contextmanager
def report_lock() -> Iterator[None]:
    """Hold an exclusive lock on the report while reading and rewriting it (the DuckDB and
    Spark modules may run in two pytest-xdist workers at once)."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with open(REPORT.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


CASES = [(name, test["title"]) for name, data in FILES.items() for test in data["tests"]]


def suite_test(file: str, title: str) -> dict[str, Any]:
    """The suite test called ``title`` in ``file``."""
    return next(t for t in FILES[file]["tests"] if t["title"] == title)


def _norm(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


def judge(test: dict[str, Any], names: list[str], raw: list[tuple[Any, ...]]) -> tuple[bool, str]:
    """Compare rows of JSON texts (``None`` for SQL NULL) with the test's expectation."""
    if test.get("expectError"):
        return False, "expected an error, the view ran"
    rows = [
        {n: _norm(None if v is None else json.loads(v)) for n, v in zip(names, r, strict=True)}
        for r in raw
    ]
    if "expectColumns" in test:
        if names != test["expectColumns"]:
            return False, f"columns {names}, expected {test['expectColumns']}"
        return True, ""
    expect = [_norm(r) for r in test.get("expect", [])]
    # A JSON object's key order means nothing: ``expect`` fixes the column set, not the order.
    if expect and sorted(names) != sorted(expect[0]):
        return False, f"columns {names}, expected {sorted(expect[0])}"
    if sorted(map(_key, rows)) != sorted(map(_key, expect)):
        return False, f"rows {rows}, expected {expect}"
    return True, ""


def result_entry(passed: bool, error: str) -> dict[str, Any]:
    """One result in the suite's test-report format."""
    out: dict[str, Any] = {"passed": passed}
    if error:
        out["error"] = error[:500]
    return out
