"""``medmine notes nlp`` and ``medmine notes extract``; `medmine.nlp.note_nlp` behind them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.nlp import Pipeline, build_terminology
from medmine.nlp.note_nlp import run_notes
from medmine.warehouse import Warehouse

runner = CliRunner()
NOTES = {
    1: "HPI: Denies chest pain. Mother had breast cancer.\nPMH: HTN",
    2: "Assessment: possible pneumonia. Return if fever.",
    3: "Nothing clinical here.",
}


def _off(note: int, word: str) -> str:
    a = NOTES[note].index(word)
    return f"{a}-{a + len(word)}"


def _warehouse(path: Path) -> None:
    with Warehouse(str(path)) as wh:
        wh.con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
            "ethnicity_concept_id) VALUES (1, 0, 1950, 0, 0)"
        )
        wh.con.execute(
            "INSERT INTO concept (concept_id, concept_name, domain_id, vocabulary_id, "
            "concept_class_id, concept_code, valid_start_date, valid_end_date) VALUES "
            "(320128, 'Essential hypertension', 'Condition', 'SNOMED', 'Clinical Finding', "
            "'59621000', DATE '2000-01-01', DATE '2099-12-31')"
        )
        for nid, text in NOTES.items():
            wh.con.execute(
                "INSERT INTO note (note_id, person_id, note_date, note_type_concept_id, "
                "note_class_concept_id, note_text, encoding_concept_id, language_concept_id) "
                "VALUES (?, 1, ?, 0, 0, ?, 0, 0)",
                [nid, dt.date(2024, 1, nid), text],
            )


def test_notes_nlp_fills_note_nlp_and_resumes(tmp_path: Path) -> None:
    wh_path = tmp_path / "wh.duckdb"
    _warehouse(wh_path)
    res = runner.invoke(app, ["notes", "nlp", "--warehouse", str(wh_path)])
    assert res.exit_code == 0, res.output
    with Warehouse(str(wh_path), read_only=True) as wh:
        rows = wh.con.execute(
            'SELECT note_id, lexical_variant, "offset", term_exists, term_temporal, '
            "term_modifiers, nlp_system FROM note_nlp ORDER BY note_id, note_nlp_id"
        ).fetchall()
    got = [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
    assert got == [
        (1, "chest pain", _off(1, "chest pain"), "N", "present"),
        (1, "breast cancer", _off(1, "breast cancer"), "N", "present"),
        (1, "HTN", _off(1, "HTN"), "Y", "past"),
        (2, "pneumonia", _off(2, "pneumonia"), "Y", "present"),
        (2, "fever", _off(2, "fever"), "N", "present"),
    ]
    assert "experiencer=mother;family=true" in rows[1][5]
    assert "uncertain=true" in rows[3][5] and "hypothetical=true" in rows[4][5]
    # a second run skips every note processed by the same pipeline version
    res2 = runner.invoke(app, ["notes", "nlp", "-w", str(wh_path)])
    assert res2.exit_code == 0
    assert "0 notes processed" in res2.output
    with Warehouse(str(wh_path), read_only=True) as wh:
        assert wh.count("note_nlp") == 5


def test_run_notes_replaces_rows_of_an_older_version_and_links_concepts(tmp_path: Path) -> None:
    wh_path = tmp_path / "wh.duckdb"
    _warehouse(wh_path)
    with Warehouse(str(wh_path)) as wh:
        first = run_notes(wh, Pipeline())
        assert (first.notes_processed, first.mentions) == (3, 5)
        t = build_terminology([(320128, "hypertension", "Condition")])
        second = run_notes(wh, Pipeline(t), jobs=2, batch=2)
        assert second.notes_processed == 3 and second.notes_skipped == 0
        assert wh.count("note_nlp") == 5
        cid = wh.con.execute(
            "SELECT note_nlp_concept_id FROM note_nlp WHERE lexical_variant = 'HTN'"
        ).fetchone()[0]
        assert cid == 320128
        assert (
            len({r[0] for r in wh.con.execute("SELECT note_nlp_id FROM note_nlp").fetchall()}) == 5
        )


def test_notes_extract_writes_mentions_and_reports_bad_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": "a", "text": "No fever.\nFH: father with MI."}) + "\n"
        "not json\n" + json.dumps({"id": "b"}) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["notes", "extract", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "in.jsonl:2: not valid JSON" in res.output and "in.jsonl:3: no 'text'" in res.output
    (obj,) = [json.loads(x) for x in out.read_text().splitlines()]
    ms = obj["mentions"]
    assert [(m["text"], m["negated"], m["family"], m["section"]) for m in ms] == [
        ("fever", True, False, None),
        ("MI", False, True, "Family History"),
    ]
    assert set(ms[0]) >= {
        "start",
        "end",
        "concept_id",
        "concept_name",
        "domain",
        "historical",
        "hypothetical",
        "uncertain",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["notes", "extract", "missing.jsonl", "--out", "x.jsonl"], "file not found"),
        (["notes", "nlp", "--warehouse", "missing.duckdb"], "does not exist"),
        (["notes", "nlp", "--warehouse", "x.duckdb", "--jobs", "0"], "--jobs must be"),
    ],
)
def test_bad_input_fails_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(tmp_path / a) if a.endswith((".jsonl", ".duckdb")) else a for a in args]
    res = runner.invoke(app, args)
    assert res.exit_code != 0
    assert message in res.output
    assert "Traceback" not in res.output
