"""Loading an OHDSI Athena vocabulary folder: counts, idempotence, updates, bad lines, errors."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import duckdb
import pytest

from medmine.errors import SourceError
from medmine.ingest import omop
from medmine.quality.athena import load_vocabulary
from medmine.warehouse import Warehouse

HEADER = (
    "concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\tstandard_concept\t"
    "concept_code\tvalid_start_date\tvalid_end_date\tinvalid_reason"
)
#: A hand-written CONCEPT.csv: line number -> what it holds (header is line 1).
BAD_LINES = [
    '1\tSays "hi" to the reader\tCondition\tSNOMED\tClinical Finding\tS\t101\t19700101\t20991231\t',
    "2\ttoo few columns\tCondition",
    "3\timpossible date\tCondition\tSNOMED\tClinical Finding\t\t103\t20201345\t20991231\t",
    '4\t"opens a quote and never closes it\tDrug\tRxNorm\tClinical Drug\tS\t104\t19700101\t'
    "20991231\tD",
    "5\tone column too many\tDrug\tRxNorm\tClinical Drug\tS\t105\t19700101\t20991231\t\textra",
    "x6\tid is not a number\tCondition\tSNOMED\tClinical Finding\tS\t106\t19700101\t20991231\t",
    "1\ta second line for id 1\tCondition\tSNOMED\tClinical Finding\tS\t101\t19700101\t20991231\t",
    "7\tAlzheimer's disease\tCondition\tSNOMED\tClinical Finding\tS\t107\t19700101\t20991231\t",
    "8\t\tCondition\tSNOMED\tClinical Finding\tS\t108\t\t20991231\t",
]


def _eunomia_counts() -> dict[str, int]:
    con = duckdb.connect(str(omop.eunomia_path()), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("concept", "concept_relationship", "concept_ancestor")
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def loaded(athena_dir, tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("athena_wh") / "v.duckdb")
    first = load_vocabulary(athena_dir, wh)
    yield wh, first
    wh.close()


def _by_file(result):
    return {f.file: f for f in result.files}


def test_every_row_of_the_eunomia_vocabulary_is_loaded(loaded):
    wh, res = loaded
    expected = _eunomia_counts()
    assert expected == {"concept": 442, "concept_relationship": 8, "concept_ancestor": 65690}
    files = _by_file(res)
    for name, n in expected.items():
        f = files[f"{name.upper()}.csv"]
        assert (f.table, f.read, f.inserted, f.rejected) == (name, n, n, 0)
        assert wh.count(name) == n
    assert res.report.reconciles and res.report.status == "committed"
    row = wh.con.execute(
        "SELECT source_kind, status, records_read, records_loaded FROM mm_load WHERE load_id = ?",
        [res.report.load_id],
    ).fetchone()
    assert row == ("athena", "committed", 442 + 8 + 65690, 442 + 8 + 65690)


def test_files_without_a_warehouse_table_are_listed_as_not_loaded(loaded):
    _, res = loaded
    skipped = {f.file for f in res.files if f.table is None}
    assert skipped == {
        "VOCABULARY.csv",
        "DOMAIN.csv",
        "CONCEPT_CLASS.csv",
        "RELATIONSHIP.csv",
        "CONCEPT_SYNONYM.csv",
        "DRUG_STRENGTH.csv",
    }
    assert all(
        "no concept_synonym table" in f.note for f in res.files if f.file.startswith("CONCEPT_S")
    )


def test_dates_quotes_and_empty_fields_keep_their_meaning(loaded):
    wh, _ = loaded
    row = wh.con.execute(
        "SELECT concept_name, standard_concept, invalid_reason, valid_start_date FROM concept "
        "WHERE concept_id = 35208414"
    ).fetchone()
    assert row == ("Gastrointestinal hemorrhage, unspecified", None, None, dt.date(2007, 1, 1))
    assert wh.con.execute(
        "SELECT concept_name FROM concept WHERE concept_id = 378419"
    ).fetchone() == ("Alzheimer's disease",)


def test_loading_the_same_folder_again_adds_nothing(loaded, athena_dir):
    wh, first = loaded
    before = wh.counts()
    again = load_vocabulary(athena_dir, wh)
    for f in again.files:
        if f.table:
            assert (f.inserted, f.updated, f.unchanged) == (0, 0, f.read), f
    assert again.report.reconciles and again.report.totals.loaded == 0
    after = wh.counts()
    assert {k: v for k, v in after.items() if not k.startswith("mm_")} == {
        k: v for k, v in before.items() if not k.startswith("mm_")
    }


def test_a_newer_release_updates_the_concepts_that_changed(athena_dir, tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    load_vocabulary(athena_dir, wh)
    newer = tmp_path / "newer"
    shutil.copytree(athena_dir, newer)
    concept = newer / "CONCEPT.csv"
    lines = concept.read_text(encoding="utf-8").splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("35208414\t"))
    cols = lines[i].split("\t")
    cols[1], cols[9] = "Gastrointestinal hemorrhage (renamed)", "U"
    lines[i] = "\t".join(cols)
    lines.append(
        "2000000001\tA local concept\tCondition\tNone\tUndefined\t\tL1\t20240101\t20991231\t"
    )
    concept.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = load_vocabulary(newer, wh)
    f = _by_file(res)["CONCEPT.csv"]
    assert (f.read, f.inserted, f.updated, f.unchanged) == (443, 1, 1, 441)
    assert wh.con.execute(
        "SELECT concept_name, invalid_reason FROM concept WHERE concept_id = 35208414"
    ).fetchone() == ("Gastrointestinal hemorrhage (renamed)", "U")
    assert wh.count("concept") == 443
    wh.close()


@pytest.fixture
def bad_folder(tmp_path):
    folder = tmp_path / "athena_bad"
    folder.mkdir()
    (folder / "CONCEPT.csv").write_text("\n".join([HEADER, *BAD_LINES]) + "\n", encoding="utf-8")
    return folder


def test_malformed_lines_are_quarantined_with_file_line_and_reason(bad_folder, wh):
    res = load_vocabulary(bad_folder, wh)
    f = _by_file(res)["CONCEPT.csv"]
    assert (f.read, f.inserted, f.unchanged, f.rejected) == (9, 3, 1, 5)
    assert res.report.reconciles
    q = wh.con.execute(
        "SELECT location, reason_code, message, record FROM mm_quarantine WHERE load_id = ? "
        "ORDER BY quarantine_id",
        [res.report.load_id],
    ).fetchall()
    assert [(loc, reason) for loc, reason, _, _ in q] == [
        ("line 3", "malformed"),
        ("line 4", "invalid_date"),
        ("line 6", "malformed"),
        ("line 7", "invalid_value"),
        ("line 10", "invalid_date"),
    ]
    messages = {loc: msg for loc, _, msg, _ in q}
    assert messages["line 3"] == "CONCEPT.csv line 3: expected 10 tab-separated columns, found 3"
    assert messages["line 4"] == "CONCEPT.csv line 4: valid_start_date is not a YYYYMMDD date"
    assert messages["line 6"].endswith("expected 10 tab-separated columns, found 11")
    assert messages["line 7"] == "CONCEPT.csv line 7: concept_id is not of type INTEGER"
    # messages name the column, never the value; the raw line is kept to be fixed and reloaded
    assert "20201345" not in messages["line 4"] and "x6" not in messages["line 7"]
    assert q[1][3] == BAD_LINES[2]


def test_quotes_are_data_and_the_first_line_of_a_repeated_key_wins(bad_folder, wh):
    load_vocabulary(bad_folder, wh)
    names = dict(wh.con.execute("SELECT concept_id, concept_name FROM concept").fetchall())
    assert names == {
        1: 'Says "hi" to the reader',
        4: '"opens a quote and never closes it',
        7: "Alzheimer's disease",
    }


def test_a_file_where_no_line_parses_stops_the_load_and_rolls_back(tmp_path, wh):
    folder = tmp_path / "dashes"
    folder.mkdir()
    row = "1\tx\tCondition\tSNOMED\tClinical Finding\tS\t1\t1970-01-01\t2099-12-31\t"
    (folder / "CONCEPT.csv").write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
    problem = "line 2: valid_end_date is not a YYYYMMDD date; valid_start_date is not a"
    with pytest.raises(SourceError, match=rf"no line could be read \({problem}"):
        load_vocabulary(folder, wh)
    assert wh.count("concept") == 0 and wh.count("mm_quarantine") == 0
    assert wh.con.execute("SELECT status FROM mm_load").fetchall() == [("rolled_back",)]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such folder; expected the folder unzipped from the Athena"),
        ("file", "is a file; expected the folder unzipped from the Athena"),
        ("no_concept", "no CONCEPT.csv among its 1 file(s)"),
        ("commas", "given a header without tabs (comma-separated?)"),
        ("short_header", "given a header of 3 column(s) without vocabulary_id, concept_class_id"),
        ("empty", "given an empty file"),
        ("header_only", "holds no concept (only a header row)"),
    ],
)
def test_a_folder_that_is_not_athena_is_refused_and_nothing_is_written(
    tmp_path, wh, setup, message
):
    folder = tmp_path / "in"
    if setup != "missing":
        folder.mkdir()
    concept = folder / "CONCEPT.csv"
    if setup == "file":
        folder = tmp_path / "vocabulary.zip"
        folder.write_bytes(b"PK\x03\x04")
    elif setup == "no_concept":
        (folder / "readme.txt").write_text("x")
    elif setup == "commas":
        concept.write_text(HEADER.replace("\t", ",") + "\n")
    elif setup == "short_header":
        concept.write_text("concept_id\tconcept_name\tdomain_id\n")
    elif setup == "empty":
        concept.write_text("")
    elif setup == "header_only":
        concept.write_text(HEADER + "\n")
    with pytest.raises(SourceError, match=re.escape(message)):
        load_vocabulary(folder, wh)
    assert wh.count("concept") == 0
