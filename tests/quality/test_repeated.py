from __future__ import annotations

import datetime as dt

from medmine.quality._registry import REGISTRY
from medmine.quality.repeated import REPEATED_MEASUREMENT, count_repeated, without_repeats
from medmine.warehouse import Warehouse


def _measurement(mid: int, value: float | None, unit: str = "mm[Hg]", code: str = "8480-6"):
    t = dt.datetime(2020, 3, 1, 10, 0)
    return {
        "measurement_id": mid,
        "person_id": 1,
        "measurement_concept_id": 0,
        "measurement_date": t.date(),
        "measurement_datetime": t,
        "measurement_type_concept_id": 32817,
        "value_as_number": value,
        "unit_source_value": unit,
        "measurement_source_value": f"LOINC:{code}",
    }


def test_counts_repeated_values_once_per_extra_copy():
    wh = Warehouse(":memory:")
    rows = [
        _measurement(1, 120.0),
        _measurement(2, 120.0),  # repeated under another id
        _measurement(3, 120.0),  # and again
        _measurement(4, 121.0),  # another value: not a repetition
        _measurement(5, 120.0, unit="kPa"),  # another unit
        _measurement(6, 120.0, code="8462-4"),  # another code
        _measurement(7, None),  # no value: not checked
    ]
    for r in rows:
        wh.con.execute(
            f"INSERT INTO measurement ({', '.join(r)}) VALUES ({', '.join('?' * len(r))})",
            list(r.values()),
        )
    assert count_repeated(wh)["measurement"] == (2, 6)


def test_declared_like_the_registry_checks_and_not_twice():
    assert REPEATED_MEASUREMENT.instances == "unit_tables"
    registered = REGISTRY.get("repeated_measurement")
    assert registered is None or registered == REPEATED_MEASUREMENT


def test_without_repeats_keeps_one_row_per_repetition():
    wh = Warehouse(":memory:")
    for r in [_measurement(1, 120.0), _measurement(2, 120.0), _measurement(3, 121.0)]:
        wh.con.execute(
            f"INSERT INTO measurement ({', '.join(r)}) VALUES ({', '.join('?' * len(r))})",
            list(r.values()),
        )
    ids = wh.con.execute(f"SELECT measurement_id FROM {without_repeats()} ORDER BY 1").fetchall()
    assert ids == [(1,), (3,)]
