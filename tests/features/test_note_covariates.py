"""Note-derived covariates (`medmine.features.notes`): affirmed patient mentions of `note_nlp`
by domain and window, never from a note dated on or after the index date."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from medmine.errors import ConfigError
from medmine.evaluate.leakage import leakage_probe
from medmine.features import CovariateSettings, extract_covariates
from medmine.features.notes import (
    NOTE_BASE,
    NOTE_HISTORY_BASE,
    curated_key,
    note_columns,
    note_overlap,
)
from medmine.nlp import Pipeline, build_terminology
from medmine.nlp.note_nlp import run_notes
from medmine.warehouse import Warehouse

INDEX = dt.date(2024, 2, 1)
#: note id -> (person, date, text); the index date of both persons is INDEX.
NOTES = {
    1: (
        1,
        dt.date(2024, 1, 10),
        "HPI: Denies chest pain. History of DVT. Mother had breast cancer. "
        "Possible pneumonia. Return if fever. Has GAD and HTN.",
    ),
    2: (1, dt.date(2023, 6, 1), "Assessment: generalized anxiety disorder. Delirium noted."),
    # on the index date and after it: must never reach a feature with end_day = -1
    3: (1, INDEX, "Sepsis noted."),
    4: (1, dt.date(2024, 3, 1), "Readmitted with sepsis and dementia."),
    5: (2, dt.date(2024, 1, 20), "No delirium. Father had dementia. Has acute bronchitis."),
}
SETTINGS = CovariateSettings(
    notes=True,
    demographics=False,
    include_charlson=False,
    include_labs=False,
    visit_counts=False,
    domains=(),
    windows=(30, None),
    min_prevalence=0.0,
)


def _cohort(index: dt.date = INDEX) -> SimpleNamespace:
    return SimpleNamespace(
        frame=pd.DataFrame(
            {"row_id": [10, 20], "person_id": [1, 2], "index_date": pd.to_datetime([index] * 2)}
        )
    )


def _add_notes(wh: Warehouse, ids) -> None:
    for nid in ids:
        pid, date, text = NOTES[nid]
        wh.con.execute(
            "INSERT INTO note (note_id, person_id, note_date, note_type_concept_id, "
            "note_class_concept_id, note_text, encoding_concept_id, language_concept_id) "
            "VALUES (?, ?, ?, 0, 0, ?, 0, 0)",
            [nid, pid, date, text],
        )


@pytest.fixture()
def wh() -> Warehouse:
    w = Warehouse(":memory:")
    for pid in (1, 2):
        w.con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
            "ethnicity_concept_id) VALUES (?, 8507, 1950, 0, 0)",
            [pid],
        )
    w.con.execute(
        "INSERT INTO concept (concept_id, concept_name, domain_id, vocabulary_id, "
        "concept_class_id, concept_code, valid_start_date, valid_end_date) VALUES "
        "(320128, 'hypertension', 'Condition', 'SNOMED', 'Clinical Finding', '38341003', "
        "DATE '2000-01-01', DATE '2099-12-31')"
    )
    w.con.execute(
        "INSERT INTO mm_source_concept (vocabulary_id, code, display) VALUES "
        "('SNOMED', '10509002', 'Acute bronchitis (disorder)')"
    )
    # person 2's bronchitis is also coded before the index date; person 1's GAD is not
    w.con.execute(
        "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
        "condition_concept_id, condition_start_date, condition_type_concept_id, "
        "condition_source_value) VALUES (1, 2, 0, DATE '2024-01-20', 0, 'SNOMED:10509002')"
    )
    _add_notes(w, NOTES)
    run_notes(w, _pipeline(w))
    return w


def _pipeline(w: Warehouse) -> Pipeline:
    from medmine.nlp import terminology_from_duckdb

    return Pipeline(terminology_from_duckdb(w.con))


def _features(m) -> dict[int, set[str]]:
    """Row id -> covariate names with a non-zero value."""
    dense = m.X.toarray()
    return {
        int(r): {m.columns[j] for j in np.flatnonzero(dense[i])} for i, r in enumerate(m.row_ids)
    }


def test_only_affirmed_patient_mentions_before_the_index_date_become_features(wh) -> None:
    m = extract_covariates(wh, _cohort(), SETTINGS)
    got = _features(m)
    assert got[10] == {
        # the index-window and any-time windows of each current mention
        "note_condition:320128 hypertension [-30,-1]",
        "note_condition:320128 hypertension [any,-1]",
        "note_condition:NLP:generalized_anxiety_disorder generalized anxiety disorder [-30,-1]",
        "note_condition:NLP:generalized_anxiety_disorder generalized anxiety disorder [any,-1]",
        "note_condition:NLP:delirium delirium [any,-1]",  # 2023 note: outside the 30 days
        # historical mentions apart
        "note_condition_history:NLP:deep_vein_thrombosis deep vein thrombosis [-30,-1]",
        "note_condition_history:NLP:deep_vein_thrombosis deep vein thrombosis [any,-1]",
    }
    # negated delirium, the father's dementia: nothing; the coded bronchitis by its code
    assert got[20] == {
        "note_condition:SNOMED:10509002 Acute bronchitis (disorder) [-30,-1]",
        "note_condition:SNOMED:10509002 Acute bronchitis (disorder) [any,-1]",
    }
    everything = " ".join(m.columns)
    for absent in ("chest pain", "breast cancer", "pneumonia", "fever", "sepsis", "dementia"):
        assert absent not in everything
    ref = m.reference.set_index("covariate_name")
    hyp = ref.loc["note_condition:320128 hypertension [-30,-1]"]
    assert hyp.covariate_id == 320128 * 1000 + NOTE_BASE
    dvt = ref.loc["note_condition_history:NLP:deep_vein_thrombosis deep vein thrombosis [any,-1]"]
    assert dvt.analysis_id == NOTE_HISTORY_BASE + 1
    assert note_columns(m.reference).all()


def test_notes_on_or_after_the_index_date_never_change_the_features(wh) -> None:
    before = extract_covariates(wh, _cohort(), SETTINGS)
    _add_notes_later = [
        (6, 1, INDEX, "Severe dementia."),
        (7, 2, dt.date(2024, 5, 1), "History of DVT. Sepsis."),
    ]
    for nid, pid, date, text in _add_notes_later:
        NOTES[nid] = (pid, date, text)
    try:
        _add_notes(wh, [6, 7])
        assert run_notes(wh, _pipeline(wh)).notes_processed == 2
    finally:
        del NOTES[6], NOTES[7]
    after = extract_covariates(wh, _cohort(), SETTINGS)
    assert after.columns == before.columns
    assert (after.X != before.X).nnz == 0
    # counting notes gives the same columns too
    counts = extract_covariates(wh, _cohort(), dataclasses.replace(SETTINGS, counts=True))
    assert set(counts.columns) == set(before.columns)
    gad = "note_condition:NLP:generalized_anxiety_disorder generalized anxiety disorder [any,-1]"
    assert counts.column(gad).tolist() == [2.0, 0.0]  # two notes before the index date


def test_index_day_notes_need_end_day_zero_and_the_probe_sees_them(wh) -> None:
    cohort = _cohort()
    strict = extract_covariates(wh, cohort, SETTINGS)
    assert leakage_probe(wh, cohort, strict).clean
    lenient = extract_covariates(wh, cohort, dataclasses.replace(SETTINGS, end_day=0))
    assert "note_condition:NLP:sepsis sepsis [any,0]" in _features(lenient)[10]
    # the probe hides notes dated on or after the index date: the index-day note is caught
    report = leakage_probe(wh, cohort, lenient)
    assert not report.clean
    assert any("sepsis" in name for name in report.changed_features)
    with pytest.raises(ConfigError):
        CovariateSettings(notes=True, end_day=1).validate()


def test_off_by_default_and_the_group_only_adds_columns(wh) -> None:
    assert CovariateSettings().notes is False
    base = CovariateSettings(min_prevalence=0.0)
    off = extract_covariates(wh, _cohort(), base)
    on = extract_covariates(wh, _cohort(), CovariateSettings(min_prevalence=0.0, notes=True))
    assert not note_columns(off.reference).any()
    keep = ~note_columns(on.reference)
    assert [c for c, k in zip(on.columns, keep, strict=True) if k] == off.columns
    assert (on.X[:, np.flatnonzero(keep)] != off.X).nnz == 0


def test_other_nlp_systems_rows_and_odd_modifiers(wh) -> None:
    """Rows without medmine's modifiers count by term_exists; other experiencers never."""
    wh.con.execute("DELETE FROM note_nlp")
    rows = [
        (1, 5, "Y", None, "present"),  # another system: term_exists only, concept id
        (2, 5, "Y", "experiencer=other;domain=Condition", "present"),  # not the patient
        (3, 5, None, None, "present"),  # unknown existence: left out
        (4, 5, "Y", "domain=Condition;uncertain=true", "present"),
    ]
    for nid, note, exists, mods, temporal in rows:
        wh.con.execute(
            "INSERT INTO note_nlp (note_nlp_id, note_id, lexical_variant, note_nlp_concept_id, "
            "nlp_date, term_exists, term_temporal, term_modifiers) "
            "VALUES (?, ?, 'x', 320128, DATE '2024-01-20', ?, ?, ?)",
            [nid, note, exists, temporal, mods],
        )
    m = extract_covariates(wh, _cohort(), SETTINGS)
    assert _features(m)[20] == {
        "note_condition:320128 hypertension [-30,-1]",
        "note_condition:320128 hypertension [any,-1]",
    }


def test_empty_note_nlp_gives_no_columns() -> None:
    w = Warehouse(":memory:")
    m = extract_covariates(w, _cohort(), SETTINGS)
    assert m.X.shape == (2, 0)


def test_overlap_with_the_coded_record(wh) -> None:
    o = note_overlap(wh, _cohort().frame)
    # person 1: hypertension (concept, not coded); person 2: bronchitis (coded the same day)
    assert (o.rows, o.rows_with_notes, o.facts, o.coded) == (2, 2, 2, 1)
    assert o.share_coded == 0.5
    assert o.to_dict()["share_also_coded"] == 0.5
    # a later index date does not make later notes count, an earlier one drops them
    early = note_overlap(wh, _cohort(dt.date(2023, 1, 1)).frame)
    assert early.facts == 0 and np.isnan(early.share_coded)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("GAD", "NLP:generalized_anxiety_disorder"),
        ("generalized anxiety disorders", "NLP:generalized_anxiety_disorder"),
        ("pnemonia", "NLP:pneumonia"),  # one-edit fuzzy match, as the pipeline does
        ("afebrile", None),  # a lexical negative names no present concept
        ("Mrs Smith", None),
        ("", None),
    ],
)
def test_curated_keys_come_from_the_lexicon(text: str, key: str | None) -> None:
    assert curated_key(text) == key


def test_terminology_lookup_matches_the_pipeline() -> None:
    t = build_terminology([(320128, "hypertension", "Condition")])
    assert t.lookup("HTN").concept_id == 320128
    assert t.lookup("hypertensions").concept_id == 320128
    assert t.lookup("nothing clinical") is None
