"""`medmine vocab load` and `medmine vocab map`: counts on the terminal, one-line errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.warehouse import Warehouse

from ..quality.conftest import write_athena_folder


@pytest.fixture(scope="module")
def athena(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_athena") / "athena"
    write_athena_folder(folder)
    return str(folder)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        wh.con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
            "ethnicity_concept_id) VALUES (1, 8507, 1950, 0, 0); "
            "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
            "condition_concept_id, condition_start_date, condition_type_concept_id, "
            "condition_source_value) VALUES (1, 1, 0, DATE '2010-01-01', 32817, 'ICD10CM:K92.2'), "
            "(2, 1, 0, DATE '2010-01-01', 32817, 'SNOMED:1')"
        )
    return path


def _one_line_error(res, code: int = 1) -> str:
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    return lines[0]


def test_load_prints_rows_per_file_and_the_mapping(tmp_path, athena, db):
    res = CliRunner().invoke(app, ["vocab", "load", athena, "-w", str(db)])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "CONCEPT_ANCESTOR.csv" in out and "65,690" in out
    assert "not loaded (no such table in the warehouse schema): VOCABULARY.csv" in out
    assert "1 of 2 rows now have a standard concept" in out
    with Warehouse(db, read_only=True) as wh:
        assert wh.count("concept") == 442
        assert wh.con.execute(
            "SELECT condition_concept_id FROM condition_occurrence ORDER BY 1"
        ).fetchall() == [(0,), (192671,)]
    again = CliRunner().invoke(app, ["vocab", "load", athena, "-w", str(db)])
    assert again.exit_code == 0, again.output
    with Warehouse(db, read_only=True) as wh:
        assert wh.count("concept") == 442


def test_map_maps_codes_ingested_after_the_vocabulary(athena, db):
    runner = CliRunner()
    assert runner.invoke(app, ["vocab", "load", athena, "-w", str(db)]).exit_code == 0
    with Warehouse(db) as wh:
        wh.con.execute(
            "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
            "condition_concept_id, condition_start_date, condition_type_concept_id, "
            "condition_source_value) VALUES (3, 1, 0, DATE '2011-01-01', 32817, 'ICD10CM:K922')"
        )
    res = runner.invoke(app, ["vocab", "map", "-w", str(db)])
    assert res.exit_code == 0, res.output
    assert "1 of 2 rows now have a standard concept" in res.output


def test_bad_lines_are_counted_and_pointed_to(tmp_path, db):
    folder = tmp_path / "athena"
    folder.mkdir()
    header = (
        "concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\t"
        "standard_concept\tconcept_code\tvalid_start_date\tvalid_end_date\tinvalid_reason"
    )
    good = '1\tA "quoted" name\tCondition\tSNOMED\tClinical Finding\tS\t1\t19700101\t20991231\t'
    (folder / "CONCEPT.csv").write_text(f"{header}\n{good}\n2\ttoo short\n")
    res = CliRunner().invoke(app, ["vocab", "load", str(folder), "-w", str(db)])
    assert res.exit_code == 0, res.output
    assert "1 line(s) could not be read" in res.output and "mm_quarantine" in res.output


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "no such folder; expected the folder unzipped from the Athena"),
        ("no_concept", "no CONCEPT.csv among its 1 file(s)"),
        ("zip", "is a file; expected the folder unzipped"),
        ("commas", "given a header without tabs (comma-separated?)"),
    ],
)
def test_wrong_folders_fail_in_one_line(tmp_path, db, setup, expected):
    folder = tmp_path / "in"
    if setup == "zip":
        folder = tmp_path / "athena.zip"
        folder.write_bytes(b"PK\x03\x04")
    elif setup != "missing":
        folder.mkdir()
        if setup == "no_concept":
            (folder / "readme.txt").write_text("x")
        else:
            (folder / "CONCEPT.csv").write_text("concept_id,concept_name\n1,x\n")
    res = CliRunner().invoke(app, ["vocab", "load", str(folder), "-w", str(db)])
    line = _one_line_error(res, 3)  # an input that cannot be read: the loaders' exit code 3
    assert line.startswith("error: ") and expected in line
    with Warehouse(db, read_only=True) as wh:
        assert wh.count("concept") == 0 and wh.count("mm_load") == 0


def test_a_missing_warehouse_is_refused_not_created(tmp_path, athena):
    typo = tmp_path / "medmin.duckdb"
    line = _one_line_error(CliRunner().invoke(app, ["vocab", "load", athena, "-w", str(typo)]))
    assert "does not exist" in line and not typo.exists()


def test_map_without_a_vocabulary_says_to_load_one(db):
    line = _one_line_error(CliRunner().invoke(app, ["vocab", "map", "-w", str(db)]))
    assert "medmine vocab load ATHENA_DIR" in line
