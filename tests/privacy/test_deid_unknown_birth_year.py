"""A person loaded without a birth date (year unknown) goes through de-identification."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from medmine.privacy.deid import DeidConfig, deidentify

from .conftest import build_identified, default_people

REF = dt.date(2026, 11, 23)
KEY = b"unit-test-key"


@pytest.mark.parametrize("mode", ["safe_harbor", "expert"])
def test_unknown_year_of_birth_stays_unknown_and_is_not_capped(tmp_path: Path, mode) -> None:
    src = build_identified(tmp_path / "s.duckdb", default_people())
    con = duckdb.connect(str(src))
    pid = con.execute("SELECT min(person_id) FROM person").fetchone()[0]
    con.execute(
        "UPDATE person SET year_of_birth = NULL, month_of_birth = NULL, day_of_birth = NULL, "
        "birth_datetime = NULL WHERE person_id = ?",
        [pid],
    )
    n = con.execute("SELECT count(*) FROM person").fetchone()[0]
    capped_before = con.execute(
        f"SELECT count(*) FROM person WHERE {REF.year} - year_of_birth > 89"
    ).fetchone()[0]
    con.close()
    out = tmp_path / "o.duckdb"
    rep = deidentify(src, out, DeidConfig(mode=mode, reference_date=REF), key=KEY)
    o = duckdb.connect(str(out), read_only=True)
    years = [r[0] for r in o.execute("SELECT year_of_birth FROM person").fetchall()]
    assert len(years) == n and years.count(None) == 1
    assert rep.ages_capped == capped_before
