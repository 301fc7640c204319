"""medmine.nlp.summary and the NLP report page on a tiny warehouse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from medmine.nlp import Pipeline, build_terminology
from medmine.nlp.note_nlp import run_notes
from medmine.nlp.summary import summarize
from medmine.report.nlp_page import nlp_warnings, write_nlp_page
from medmine.warehouse import Warehouse


def _wh() -> Warehouse:
    wh = Warehouse(":memory:")
    c = wh.con
    for pid in (1, 2):
        c.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
            "ethnicity_concept_id) VALUES (?, 0, 1960, 0, 0)",
            [pid],
        )
    c.execute(
        "INSERT INTO concept (concept_id, concept_name, domain_id, vocabulary_id, "
        "concept_class_id, concept_code, valid_start_date, valid_end_date) VALUES "
        "(201826, 'Type 2 diabetes mellitus', 'Condition', 'SNOMED', 'Clinical Finding', "
        "'44054006', DATE '2000-01-01', DATE '2099-12-31')"
    )
    c.execute(
        "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
        "condition_concept_id, condition_start_date, condition_type_concept_id, "
        "condition_source_value) VALUES (1, 1, 201826, DATE '2020-01-01', 0, 'SNOMED:44054006'),"
        " (2, 2, 0, DATE '2020-01-01', 0, 'SNOMED:38341003')"
    )
    texts = {1: "Type 2 diabetes mellitus. Denies fever.", 2: "No fever. Mother had asthma."}
    for nid, text in texts.items():
        c.execute(
            "INSERT INTO note (note_id, person_id, note_date, note_type_concept_id, "
            "note_class_concept_id, note_text, encoding_concept_id, language_concept_id) "
            "VALUES (?, ?, ?, 0, 0, ?, 0, 0)",
            [nid, nid, dt.date(2024, 1, 1), text],
        )
    return wh


def test_summary_counts_modifiers_and_agreement(tmp_path: Path) -> None:
    wh = _wh()
    t = build_terminology([(201826, "Type 2 diabetes mellitus", "Condition")])
    run_notes(wh, Pipeline(t))
    s = summarize(wh.con)
    assert (s.notes, s.notes_processed, s.mentions, s.persons) == (2, 2, 4, 2)
    assert s.top_negated == [
        {"concept": "fever", "domain": "Observation", "mentions": 2, "persons": 2}
    ]
    assert s.top_affirmed[0]["concept"] == "Type 2 diabetes mellitus"
    assert s.modifier_shares["negated"] == 0.5 and s.modifier_shares["family"] == 0.25
    ag = s.agreement
    assert (ag["coded person-conditions"], ag["mentioned person-conditions"], ag["both"]) == (
        2,
        1,
        1,
    )
    assert ag["coded also mentioned"] == 0.5 and ag["mentioned also coded"] == 1.0
    link = write_nlp_page(s, tmp_path, templated=True)
    page = (tmp_path / "nlp.html").read_text()
    assert link.status == "warn" and "Most frequent negated concepts" in page
    assert "templated" in page and "Denies" not in page  # aggregates only, no note text


def test_warnings_for_empty_warehouse() -> None:
    wh = Warehouse(":memory:")
    s = summarize(wh.con)
    assert s.mentions == 0
    assert any("no notes" in w for w in nlp_warnings(s))
