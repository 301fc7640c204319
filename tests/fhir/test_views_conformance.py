"""The official SQL on FHIR v2 test suite, every test, on DuckDB.

Tests the engine does not pass yet are in ``KNOWN_FAILURES`` with their reason and run as
``xfail(strict=True)``: the suite stays green, the count stays honest, and a test that
starts passing fails until it is taken off the list. The module also writes the suite's
own test report (``test-report.schema.json``) to ``bench/results/sof-test-report.json``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import duckdb
import pytest

from medmine.fhir.views import ViewDefinitionError, ViewNotSupportedError, compile_view
from tests.fhir.sof_suite import (
    CASES,
    FILES,
    REPORT,
    judge,
    report_lock,
    result_entry,
    suite_test,
)

#: (suite file, test title) -> why the engine does not pass it yet.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


@functools.cache
def _connection(file: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE resources (resource JSON)")
    rows = [(json.dumps(r),) for r in FILES[file].get("resources", [])]
    if rows:
        con.executemany("INSERT INTO resources VALUES (?)", rows)
    return con


@functools.cache
def run_case(file: str, title: str) -> tuple[bool, str]:
    """Run one suite test; return (passed, what went wrong)."""
    test = suite_test(file, title)
    con = _connection(file)
    try:
        compiled = compile_view(test["view"])
        rel = con.sql(compiled.sql)
        names = list(rel.columns)
        raw = rel.fetchall()
    except ViewNotSupportedError as exc:
        return False, f"not supported: {exc}"
    except (ViewDefinitionError, duckdb.Error) as exc:
        # A refusal is the compiler's ViewDefinitionError or the engine's error() call
        # (InvalidInputException), never a binder or parser error from a compiler bug.
        refused = isinstance(exc, ViewDefinitionError | duckdb.InvalidInputException)
        if test.get("expectError") and refused:
            return True, ""
        return False, f"{type(exc).__name__}: {exc}"
    return judge(test, names, raw)


@pytest.fixture(scope="module", autouse=True)
def _write_report():
    yield
    results = {(file, title): result_entry(*run_case(file, title)) for file, title in CASES}
    with report_lock():
        # Keep the Spark module's results (``result.details.spark``) when it did not run now.
        previous: dict[tuple[str, str], Any] = {}
        if REPORT.exists():
            for f, entry in json.loads(REPORT.read_text()).items():
                for t in entry.get("tests", []):
                    spark = t.get("result", {}).get("details", {}).get("spark")
                    if spark is not None:
                        previous[(f, t["name"])] = spark
        report: dict[str, Any] = {}
        for file, title in CASES:
            result = results[(file, title)]
            if (file, title) in previous:
                result.setdefault("details", {})["spark"] = previous[(file, title)]
            entry = {"name": title, "result": result}
            report.setdefault(file, {"tests": []})["tests"].append(entry)
        REPORT.write_text(json.dumps(report, indent=2) + "\n")


@pytest.mark.parametrize(
    ("file", "title"),
    [
        pytest.param(
            f,
            t,
            id=f"{f}::{t}",
            marks=[pytest.mark.xfail(reason=KNOWN_FAILURES[(f, t)], strict=True)]
            if (f, t) in KNOWN_FAILURES
            else [],
        )
        for f, t in CASES
    ],
)
def test_suite_case(file: str, title: str) -> None:
    passed, error = run_case(file, title)
    assert passed, error


def test_every_known_failure_names_a_real_case() -> None:
    assert set(KNOWN_FAILURES) <= set(CASES)
