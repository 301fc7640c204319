"""Our compiled FHIRPath against fhirpathpy (a per-resource Python evaluator) as an oracle.

Every column path of the official suite that is evaluated on the resource itself (not inside
a forEach) is run both ways on that file's resources; the collections must match. Skipped
when fhirpathpy is not installed (it is a test oracle, not a dependency).
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pytest

from medmine.fhir.views import compile_view
from tests.fhir.sof_suite import FILES

fhirpathpy = pytest.importorskip("fhirpathpy")

#: Functions fhirpathpy does not evaluate the way SQL on FHIR defines them (or at all).
_NOT_IN_ORACLE = ("%rowIndex", "getResourceKey", "getReferenceKey", "Boundary", "ofType")


def _cases() -> list[tuple[str, str, str, str]]:
    out = set()
    for file, data in FILES.items():
        for test in data["tests"]:
            view = test["view"]
            if test.get("expectError") or "resource" not in view:
                continue
            constants = json.dumps(view.get("constant", []))
            for select in view.get("select", []):
                if {"forEach", "forEachOrNull", "repeat"} & set(select):
                    continue
                for col in select.get("column", []):
                    if not any(x in col["path"] for x in _NOT_IN_ORACLE):
                        out.add((file, view["resource"], col["path"], constants))
    return sorted(out)


def _oracle(resource: dict[str, Any], path: str, constants: list[dict[str, Any]]) -> list[Any]:
    env = {c["name"]: next(v for k, v in c.items() if k.startswith("value")) for c in constants}
    result = fhirpathpy.evaluate(resource, path, env)
    # SQL on FHIR (and its suite) defines join() of nothing as '', fhirpathpy as empty.
    if path.rstrip().endswith(")") and ".join(" in path and result == []:
        return [""]
    return result


@pytest.mark.parametrize(("file", "resource_type", "path", "constants"), _cases())
def test_compiled_path_matches_fhirpathpy(
    file: str, resource_type: str, path: str, constants: str
) -> None:
    resources = [
        r for r in FILES[file]["resources"] if r["resourceType"] == resource_type and "id" in r
    ]
    if not resources:
        pytest.skip("the file's resources of this type have no id to match rows by")
    con = duckdb.connect()
    con.execute("CREATE TABLE resources (resource VARCHAR)")
    con.executemany("INSERT INTO resources VALUES (?)", [(json.dumps(r),) for r in resources])
    view = {
        "resource": resource_type,
        "constant": json.loads(constants),
        "select": [
            {
                "column": [
                    {"name": "k", "path": "id"},
                    {"name": "x", "path": path, "collection": True},
                ]
            }
        ],
    }
    ours = {json.loads(k): json.loads(x) for k, x in con.sql(compile_view(view).sql).fetchall()}
    oracle = {r["id"]: _oracle(r, path, json.loads(constants)) for r in resources}
    assert ours == oracle
