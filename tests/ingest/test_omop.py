from __future__ import annotations

import shutil

import duckdb
import pytest

from medmine.errors import SchemaError, SourceError
from medmine.ingest import omop
from medmine.warehouse import CLINICAL_TABLES, Warehouse

from ..conftest import TEST_DATA

OMOP_CSV = TEST_DATA / "omop_csv"


@pytest.fixture(scope="module")
def eunomia_wh(tmp_path_factory):
    w = Warehouse(tmp_path_factory.mktemp("omop") / "eunomia.duckdb")
    report = omop.load(omop.eunomia_path(), w)
    yield w, report
    w.close()


def _source_counts() -> dict[str, int]:
    con = duckdb.connect(str(omop.eunomia_path()), read_only=True)
    out = {}
    for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        cols = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
        junk = all(c.lower().startswith("column") for c in cols)
        out[name.lower()] = (
            0 if junk else con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        )
    con.close()
    return out


def test_eunomia_clinical_row_counts_identical_to_source(eunomia_wh):
    wh, report = eunomia_wh
    src = _source_counts()
    counts = wh.counts()
    for t in CLINICAL_TABLES:
        if t in src:
            assert counts[t] == src[t], t
    assert counts["person"] == 2694
    assert counts["drug_exposure"] == 67707  # includes 4,384 re-keyed id collisions
    assert report.reconciles and report.totals.quarantined == 0


def test_eunomia_concepts_come_along(eunomia_wh):
    wh, _ = eunomia_wh
    name = wh.con.execute("SELECT concept_name FROM concept WHERE concept_id = 192671").fetchone()
    assert name == ("Gastrointestinal hemorrhage",)
    assert wh.count("concept_ancestor") == 65690


def test_eunomia_id_collisions_are_rekeyed_not_lost(eunomia_wh):
    wh, report = eunomia_wh
    assert report.warning_reasons["id_collision_rekeyed"] == 4384 + 2183 + 6
    ids = wh.con.execute("SELECT count(DISTINCT drug_exposure_id) FROM drug_exposure").fetchone()
    assert ids == (67707,)


def test_placeholder_tables_are_reported_as_skipped(eunomia_wh):
    _, report = eunomia_wh
    assert report.counts["death"].skipped == 1 and report.counts["death"].loaded == 0
    assert report.skip_reasons["placeholder_row"] == 11


def test_eunomia_reload_adds_nothing(eunomia_wh):
    wh, _ = eunomia_wh
    before = wh.counts()
    again = omop.load(omop.eunomia_path(), wh)
    assert again.totals.loaded == 0 and again.reconciles
    after = wh.counts()
    assert {k: v for k, v in after.items() if not k.startswith("mm_")} == {
        k: v for k, v in before.items() if not k.startswith("mm_")
    }


def test_csv_folder_quarantines_bad_rows_and_loads_the_rest(wh):
    report = omop.load(OMOP_CSV, wh)
    assert report.reconciles
    person = report.counts["person"]
    assert (person.read, person.loaded, person.quarantined) == (5, 3, 2)
    q = dict(
        wh.con.execute(
            "SELECT location, reason_code FROM mm_quarantine WHERE resource_type = 'person'"
        ).fetchall()
    )
    assert q == {"row 3": "invalid_value", "row 4": "missing_field"}
    msg = wh.con.execute(
        "SELECT message FROM mm_quarantine WHERE location = 'row 3' AND resource_type='person'"
    ).fetchone()[0]
    assert "year_of_birth" in msg and "nineteen" not in msg  # names the column, not the value
    # YYYYMMDD dates parse; 30 February does not.
    visits = report.counts["visit_occurrence"]
    assert (visits.loaded, visits.quarantined) == (2, 1)
    assert wh.con.execute(
        "SELECT visit_start_date::VARCHAR, discharged_to_concept_id FROM visit_occurrence "
        "ORDER BY 1"
    ).fetchall() == [("2020-01-01", 8536), ("2020-03-01", 0)]
    # Two different records sharing id 100: both kept.
    assert wh.count("condition_occurrence") == 3


def test_missing_required_column_stops_before_writing(wh, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(OMOP_CSV, bad)
    (bad / "person.csv").write_text("person_id,year_of_birth\n1,1950\n")
    with pytest.raises(SchemaError, match="gender_concept_id"):
        omop.load(bad, wh)
    assert wh.count("visit_occurrence") == 0


def test_missing_source_is_a_clear_error(wh, tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        omop.load(tmp_path / "nothing.duckdb", wh)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no OMOP CDM tables"):
        omop.load(empty, wh)


def test_cli_ingest_omop_and_info(tmp_path):
    from typer.testing import CliRunner

    from medmine.cli import app

    runner = CliRunner()
    target = str(tmp_path / "cli.duckdb")
    res = runner.invoke(app, ["ingest", "omop", str(OMOP_CSV), "--warehouse", target])
    assert res.exit_code == 0, res.output
    assert "quarantined" in res.output
    res = runner.invoke(app, ["warehouse", "info", "--warehouse", target])
    assert res.exit_code == 0 and "person" in res.output
    res = runner.invoke(app, ["ingest", "omop", str(tmp_path / "nope"), "--warehouse", target])
    assert res.exit_code == 3  # an input that cannot be read


@pytest.mark.parametrize(
    ("folder", "suffix"),
    [
        ("o'brien export", ""),  # a quote in the folder
        ("export", ".2024'); DROP TABLE mm_audit; --"),  # and in the file name itself
    ],
)
def test_csv_paths_with_quotes_load_and_cannot_inject_sql(wh, tmp_path, folder, suffix):
    src = tmp_path / folder
    src.mkdir()
    for f in OMOP_CSV.iterdir():
        stem, ext = f.name.split(".", 1)
        shutil.copy(f, src / f"{stem}{suffix}.{ext}")
    audit_before = wh.count("mm_audit")
    report = omop.load(src, wh)
    assert report.reconciles
    person = report.counts["person"]
    assert (person.read, person.loaded, person.quarantined) == (5, 3, 2)
    assert wh.count("person") == 3 and wh.count("mm_audit") == audit_before + 1
    files = {
        r[0] for r in wh.con.execute("SELECT DISTINCT source_file FROM mm_source_record").fetchall()
    }
    assert files == {str(src / f"{t}{suffix}.csv") for t in ("person", "visit_occurrence",
                                                              "condition_occurrence")}  # fmt: skip
