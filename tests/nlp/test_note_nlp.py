"""`mm_nlp_note` is declared in the warehouse schema and makes `run_notes` resumable."""

from __future__ import annotations

import datetime as dt

import pytest

from medmine.nlp import Pipeline
from medmine.nlp.note_nlp import DONE_TABLE, run_notes
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import table

TEXTS = {1: "Denies fever.", 2: "Has pneumonia.", 3: "History of DVT."}


class _Crash(Pipeline):
    """The same pipeline (same version) that fails on one note, like a killed run."""

    def process(self, text: str):
        if "pneumonia" in text:
            raise RuntimeError("killed")
        return super().process(text)


def _warehouse() -> Warehouse:
    wh = Warehouse(":memory:")
    wh.con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id) VALUES (1, 0, 1950, 0, 0)"
    )
    for nid, text in TEXTS.items():
        wh.con.execute(
            "INSERT INTO note (note_id, person_id, note_date, note_type_concept_id, "
            "note_class_concept_id, note_text, encoding_concept_id, language_concept_id) "
            "VALUES (?, 1, ?, 0, 0, ?, 0, 0)",
            [nid, dt.date(2024, 1, nid), text],
        )
    return wh


def test_mm_nlp_note_is_declared_and_created_with_the_warehouse() -> None:
    spec = table(DONE_TABLE)
    assert spec.column_names == ["note_id", "nlp_system", "processed_at"]
    assert spec.primary_key == ("note_id",) and spec.column("note_id").fk == ("note", "note_id")
    assert spec.role == "system" and spec.person_column is None
    assert DONE_TABLE in Warehouse(":memory:").table_names()


def test_an_interrupted_run_resumes_where_it_stopped() -> None:
    wh = _warehouse()
    crash = _Crash()
    with pytest.raises(RuntimeError, match="killed"):
        run_notes(wh, crash, batch=1)
    # the first batch (note 1) was committed; the failing one left nothing behind
    assert wh.con.execute(f"SELECT note_id FROM {DONE_TABLE}").fetchall() == [(1,)]
    assert {r[0] for r in wh.con.execute("SELECT note_id FROM note_nlp").fetchall()} == {1}
    rep = run_notes(wh, Pipeline(), batch=1)
    assert rep.pipeline == crash.version
    assert (rep.notes_total, rep.notes_skipped, rep.notes_processed) == (3, 1, 2)
    got = wh.con.execute(
        "SELECT note_id, lexical_variant, term_exists FROM note_nlp ORDER BY note_id"
    ).fetchall()
    assert got == [(1, "fever", "N"), (2, "pneumonia", "Y"), (3, "DVT", "Y")]
    again = run_notes(wh, Pipeline())
    assert (again.notes_skipped, again.notes_processed, again.mentions) == (3, 0, 0)
