"""Value-less Observations and panels (docs/mapping.md, issue 13 R5): no row of their own.

A panel's components become rows; the panel, a value-less Observation, and a value-less
component do not. An Observation that writes no row is skipped (``not_mapped``), and one that
is broken is still quarantined. Per resource and set-wise give the same warehouse.
"""

from __future__ import annotations

import json

import pytest

from medmine.ingest.fhir import load
from medmine.warehouse import Warehouse

LOINC = "http://loinc.org"


def _cc(code: str) -> dict:
    return {"coding": [{"system": LOINC, "code": code}]}


def _mmhg(v: float) -> dict:
    return {"value": v, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}


PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1970-02-03", "gender": "male"}
BASE = {
    "resourceType": "Observation",
    "status": "final",
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2020-01-02T03:04:05Z",
}
BP_PANEL = {
    **BASE,
    "id": "bp",
    "code": _cc("85354-9"),
    "component": [
        {"code": _cc("8480-6"), "valueQuantity": _mmhg(123.6)},
        {"code": _cc("8462-4"), "valueQuantity": _mmhg(71.3)},
    ],
}
BMI_PERCENTILE_NO_VALUE = {**BASE, "id": "bmi", "code": _cc("59576-9")}
ORIENTATION_NO_VALUE = {
    **BASE,
    "id": "so",
    "code": _cc("76690-7"),
    "category": [{"coding": [{"code": "social-history"}]}],
}
PANEL_ONE_EMPTY_COMPONENT = {
    **BASE,
    "id": "half",
    "code": _cc("85354-9"),
    "component": [
        {"code": _cc("8480-6"), "valueQuantity": _mmhg(118.0)},
        {"code": _cc("8462-4"), "valueQuantity": {"unit": "mm[Hg]"}},  # no value
    ],
}
EMPTY_PANEL = {
    **BASE,
    "id": "empty",
    "code": _cc("85354-9"),
    "component": [{"code": _cc("8480-6")}],
}
NO_CODE_NO_VALUE = {**BASE, "id": "broken", "code": {"coding": [{"system": LOINC}]}}
GLUCOSE = {**BASE, "id": "glu", "code": _cc("2339-0"), "valueQuantity": {"value": 5.5}}

ALL = [
    PATIENT,
    BP_PANEL,
    BMI_PERCENTILE_NO_VALUE,
    ORIENTATION_NO_VALUE,
    PANEL_ONE_EMPTY_COMPONENT,
    EMPTY_PANEL,
    NO_CODE_NO_VALUE,
    GLUCOSE,
]


def _load(tmp_path, setwise: bool) -> tuple[Warehouse, object]:
    f = tmp_path / f"in-{setwise}.ndjson"
    f.write_text("".join(json.dumps(r) + "\n" for r in ALL))
    wh = Warehouse(tmp_path / f"w-{setwise}.duckdb")
    rep = load([f], wh, setwise=setwise)
    assert rep.reconciles and rep.status == "committed"
    return wh, rep


@pytest.mark.parametrize("setwise", [False, True])
def test_panels_give_their_components_and_value_less_observations_no_row(tmp_path, setwise):
    wh, rep = _load(tmp_path, setwise)
    rows = wh.con.execute(
        "SELECT measurement_source_value, value_as_number FROM measurement ORDER BY 1, 2"
    ).fetchall()
    assert rows == [
        ("LOINC:2339-0", 5.5),
        ("LOINC:8462-4", 71.3),
        ("LOINC:8480-6", 118.0),
        ("LOINC:8480-6", 123.6),
    ]
    assert wh.con.execute("SELECT count(*) FROM observation").fetchone() == (0,)
    obs = rep.counts["Observation"]
    # read 7 = loaded 3 (bp, half, glu) + skipped 3 (bmi, so, empty) + quarantined 1 (broken)
    assert (obs.read, obs.loaded, obs.skipped, obs.quarantined) == (7, 3, 3, 1)
    codes = {
        c
        for (c,) in wh.con.execute(
            "SELECT code FROM mm_source_concept WHERE vocabulary_id = 'LOINC'"
        ).fetchall()
    }
    assert "85354-9" not in codes and "59576-9" not in codes and "8480-6" in codes
    # a panel's record is its first written row, so its provenance points at a component
    keys = wh.con.execute(
        "SELECT count(*) FROM mm_source_record WHERE source_key = 'Observation/bp'"
    ).fetchone()
    assert keys == (2,)
    wh.close()


def test_per_resource_and_set_wise_agree_on_panels(tmp_path):
    a, _ = _load(tmp_path, False)
    b, _ = _load(tmp_path, True)
    for table in ("measurement", "observation", "mm_source_concept", "mm_source_record"):
        skip = {"load_id", "source_file"}
        cols = [
            c for (c,) in a.con.execute(f"SELECT name FROM pragma_table_info('{table}')").fetchall()
        ]
        names = ", ".join(c for c in cols if c not in skip)
        ra = a.con.execute(f"SELECT {names} FROM {table} ORDER BY ALL").fetchall()
        rb = b.con.execute(f"SELECT {names} FROM {table} ORDER BY ALL").fetchall()
        assert ra == rb, table
    a.close()
    b.close()


def test_reload_counts_nothing_twice(tmp_path):
    f = tmp_path / "in.ndjson"
    f.write_text("".join(json.dumps(r) + "\n" for r in ALL))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load([f], wh)
        rep = load([f], wh)
        assert rep.reconciles
        assert rep.counts["Observation"].loaded == 0
        n = wh.con.execute("SELECT count(*) FROM measurement").fetchone()
        assert n == (4,)
