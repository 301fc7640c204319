"""Safe Harbor and expert mode, complete (issue 11, item 7): sentinel dates, persons over 89,
and the k-anonymity step of ``medmine deid --k``.

Before the fix: in expert mode the open-ended coverage end 2099-12-31 was shifted like a real
date, so ``end - 2099-12-31`` gave every person's offset; a person over 89 kept the true years
of their events (an event before the capped birth year gives the age away); there was no k.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.errors import ConfigError, PrivacyError
from medmine.privacy.deid import DeidConfig, deidentify
from medmine.privacy.risk import PERSON_QI_SQL, assess

from .conftest import build_rich, default_people

REF = dt.date(2026, 11, 23)
KEY = b"dates-test-key-0123456789abcdef0"
OPEN_END = dt.date(2099, 12, 31)


def _offsets(src: Path, out: Path) -> dict[int, int]:
    """True offset per released person: shifted minus original condition start (by visit)."""
    s = duckdb.connect(str(src), read_only=True)
    o = duckdb.connect(str(out), read_only=True)
    q = (
        "SELECT person_id, min(condition_start_date), count(*) FROM condition_occurrence "
        "GROUP BY 1 ORDER BY 3, 2"
    )
    before = sorted(s.execute(q).fetchall(), key=lambda r: r[0])
    after = o.execute(
        "SELECT person_id, min(condition_start_date) FROM condition_occurrence GROUP BY 1"
    ).fetchall()
    # match persons by their event count and the order of first events (same intervals)
    out_by_first = sorted(after, key=lambda r: r[1])
    src_by_first = sorted(before, key=lambda r: r[1])
    return {a[0]: (a[1] - b[1]).days for a, b in zip(out_by_first, src_by_first, strict=True)}


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = build_rich(tmp_path_factory.mktemp("d") / "src.duckdb", default_people())
    con = duckdb.connect(str(src))
    # a childhood event of the person born in 1931 (over 89 at the reference date)
    con.execute(
        "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
        "condition_concept_id, condition_start_date, condition_type_concept_id) "
        "VALUES (777, 1000, 0, DATE '1932-06-01', 0)"
    )
    con.execute(
        "UPDATE note SET note_text = note_text || ? WHERE person_id = 1000",
        ["\nBorn in 1931. Coverage open until 12/31/2099; seen 13.06.2006 and 2 Mai 2006."],
    )
    con.close()
    return src


def test_open_ended_dates_do_not_give_the_offset_away(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.duckdb"
    rep = deidentify(rich, out, DeidConfig(mode="expert", reference_date=REF), key=KEY)
    o = duckdb.connect(str(out), read_only=True)
    ends = o.execute(
        "SELECT person_id, payer_plan_period_end_date FROM payer_plan_period"
    ).fetchall()
    truth = _offsets(rich, out)
    recovered = sum((end - OPEN_END).days == truth[pid] for pid, end in ends)
    assert recovered == 0
    assert {e for _, e in ends} == {OPEN_END}
    assert rep.sentinel_dates_kept >= 4
    text = o.execute("SELECT string_agg(note_text, '\n') FROM note").fetchone()[0]
    assert "12/31/2099" in text


def test_safe_harbor_keeps_sentinels_as_written(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.duckdb"
    deidentify(rich, out, DeidConfig(reference_date=REF), key=KEY)
    o = duckdb.connect(str(out), read_only=True)
    assert {
        r[0]
        for r in o.execute("SELECT payer_plan_period_end_date FROM payer_plan_period").fetchall()
    } == {OPEN_END}


def test_configured_placeholder_dates_are_kept(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.duckdb"
    placeholder = dt.date(2021, 12, 31)  # observation periods end on it in the fixture
    cfg = DeidConfig(mode="expert", reference_date=REF, sentinel_dates=frozenset({placeholder}))
    deidentify(rich, out, cfg, key=KEY)
    o = duckdb.connect(str(out), read_only=True)
    ends = {
        r[0]
        for r in o.execute("SELECT observation_period_end_date FROM observation_period").fetchall()
    }
    assert ends == {placeholder}


def test_safe_harbor_aggregates_every_date_of_a_person_over_89(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.duckdb"
    rep = deidentify(rich, out, DeidConfig(reference_date=REF), key=KEY)
    assert rep.ages_capped == 1
    o = duckdb.connect(str(out), read_only=True)
    old = o.execute("SELECT person_id, year_of_birth FROM person ORDER BY year_of_birth").fetchone()
    assert old[1] == 2024 - 90  # died 2024: age shown 90
    years = set()
    for table, col in [
        ("condition_occurrence", "condition_start_date"),
        ("visit_occurrence", "visit_start_date"),
        ("measurement", "measurement_date"),
        ("observation_period", "observation_period_start_date"),
        ("death", "death_date"),
        ("note", "note_date"),
    ]:
        years |= {
            r[0]
            for r in o.execute(
                f"SELECT DISTINCT year({col}) FROM {table} WHERE person_id = ?", [old[0]]
            ).fetchall()
        }
    assert years == {2024}
    note = o.execute(
        "SELECT string_agg(note_text, '\n') FROM note WHERE person_id = ?", [old[0]]
    ).fetchone()[0]
    assert "1931" not in note and "2006" not in note and "2019" not in note
    # the others keep their years
    others = {
        r[0]
        for r in o.execute(
            "SELECT DISTINCT year(visit_start_date) FROM visit_occurrence WHERE person_id <> ?",
            [old[0]],
        ).fetchall()
    }
    assert others == {2019}


def test_expert_mode_floors_dates_of_a_person_over_89(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.duckdb"
    deidentify(rich, out, DeidConfig(mode="expert", reference_date=REF), key=KEY)
    o = duckdb.connect(str(out), read_only=True)
    pid, yob, birth = o.execute(
        "SELECT person_id, year_of_birth, birth_datetime FROM person ORDER BY year_of_birth"
    ).fetchone()
    assert yob == 2024 - 90 and birth is None
    first = o.execute(
        "SELECT min(condition_start_date) FROM condition_occurrence WHERE person_id = ?", [pid]
    ).fetchone()[0]
    assert first == dt.date(yob, 1, 1)  # the 1932 event does not predate the birth year shown
    note = o.execute(
        "SELECT string_agg(note_text, '\n') FROM note WHERE person_id = ?", [pid]
    ).fetchone()[0]
    assert "1931" not in note and "13.06.2006" not in note and "2 Mai 2006" not in note


def test_deid_k_generalises_and_suppresses_until_k(tmp_path: Path) -> None:
    people = default_people(10)
    src = build_rich(tmp_path / "s.duckdb", people)
    before = tmp_path / "b.duckdb"
    deidentify(src, before, DeidConfig(reference_date=REF), key=KEY)
    with duckdb.connect(str(before), read_only=True) as b:
        assert assess(b, PERSON_QI_SQL).k < 2
    out = tmp_path / "o.duckdb"
    rep = deidentify(src, out, DeidConfig(reference_date=REF, k=2), key=KEY)
    ka = rep.k_anonymity
    assert ka is not None and ka.target_k == 2 and ka.achieved_k >= 2
    assert any(ka.levels.values()) or ka.persons_suppressed > 0
    assert rep.rows["person"] == ka.persons - ka.persons_suppressed
    with duckdb.connect(str(out), read_only=True) as o:
        assert assess(o, PERSON_QI_SQL).k >= 2
        # suppressed persons leave no rows anywhere
        assert (
            o.execute("SELECT count(DISTINCT person_id) FROM visit_occurrence").fetchone()[0]
            == rep.rows["person"]
        )


def test_deid_k_refuses_when_k_cannot_be_reached(tmp_path: Path) -> None:
    src = build_rich(tmp_path / "s.duckdb", default_people(4))
    with pytest.raises(PrivacyError, match="k = 50"):
        deidentify(src, tmp_path / "o.duckdb", DeidConfig(reference_date=REF, k=50), key=KEY)
    assert not (tmp_path / "o.duckdb").exists()
    with pytest.raises(ConfigError, match="'k'"):
        DeidConfig(k=1).validate()


def test_cli_deid_k(tmp_path: Path, deid_key) -> None:
    src = build_rich(tmp_path / "s.duckdb", default_people(10))
    r = CliRunner().invoke(
        app,
        [
            "deid",
            "-w",
            str(src),
            "--to",
            str(tmp_path / "o.duckdb"),
            "--k",
            "2",
            "--max-suppression",
            "0.2",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "k-anonymity" in r.output and "suppressed" in r.output
