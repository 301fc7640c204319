"""Note features in the prediction studies: AUROC with and without them on the same test
persons, the paired CI of the difference, and the page's plausibility warnings."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from medmine.features import build_cohort, extract_covariates
from medmine.features.notes import NoteOverlap
from medmine.nlp.note_nlp import run_notes
from medmine.report.study_pages import write_study
from medmine.studies import get_study, readmission
from medmine.studies._notes import NoteComparison, lift_checks, with_notes
from medmine.studies.prediction import StudyConfig
from medmine.synth.population import simulate
from medmine.warehouse import Warehouse

FAST = StudyConfig(
    n_boot=40,
    models=("l1_logistic",),
    l1_grid={"C": [0.1]},
    shap_rows=30,
    test_size=0.3,
    note_features=True,
)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A simulated population whose notes say "delirium" mostly before a readmission.

    Every stay gets a note two days before discharge: "Delirium noted." for 60% of the stays
    followed by a readmission and 8% of the others, "No delirium." otherwise (a negated
    mention, which must give no feature). The last stay of a person, when followed by a
    readmission, also gets a note five days after discharge naming sepsis: dated after every
    index date of that person, it must never reach a feature.
    """
    w = Warehouse(tmp_path_factory.mktemp("notes") / "sim.duckdb")
    simulate(1500, seed=5).write_to(w)
    frame = build_cohort(w, readmission.default_definition(), purpose="research").frame
    rng = np.random.default_rng(0)
    rows = []
    last = frame.groupby("person_id")["index_date"].transform("max") == frame["index_date"]
    for i, (r, is_last) in enumerate(zip(frame.itertuples(), last, strict=True)):
        index = pd.Timestamp(r.index_date).date()
        p = 0.6 if r.outcome else 0.08
        text = "Delirium noted." if rng.random() < p else "No delirium."
        rows.append((2 * i + 1, r.person_id, index - dt.timedelta(days=2), text))
        if r.outcome and is_last:
            rows.append((2 * i + 2, r.person_id, index + dt.timedelta(days=5), "Sepsis."))
    w.con.executemany(
        "INSERT INTO note (note_id, person_id, note_date, note_type_concept_id, "
        "note_class_concept_id, note_text, encoding_concept_id, language_concept_id) "
        "VALUES (?, ?, ?, 0, 0, ?, 0, 0)",
        rows,
    )
    run_notes(w)
    result = readmission.run(w, FAST, data_source="simulated with notes")
    yield w, result, frame
    w.close()


def test_note_features_lift_auroc_with_a_paired_ci(study) -> None:
    _, result, _ = study
    t = result.note_comparison.table.set_index("model")
    row = t.loc["L1-logistic"]
    assert row.difference == pytest.approx(row.auroc_with_notes - row.auroc_without_notes)
    assert row.difference > 0.05 and row.difference_lower > 0
    assert row.difference_lower <= row.difference <= row.difference_upper
    # the models on the page are the ones with note features
    m = result.metrics.set_index("model")
    assert m.loc["L1-logistic", "auroc"] == pytest.approx(row.auroc_with_notes)
    assert row.test_rows == m.loc["L1-logistic", "n_test"]
    assert row.bootstrap_replicates > 30
    assert any(n.startswith("Note features (") and "L1-logistic +0." in n for n in result.notes)


def test_no_note_after_the_index_date_and_no_negated_mention_is_a_feature(study) -> None:
    w, result, frame = study
    assert "note_condition" in set(result.feature_domains["domain"])
    assert result.leakage is not None and result.leakage.clean
    imp = result.tables["Top predictors: L1-logistic (mean |SHAP|)"]
    assert "note_condition:NLP:delirium delirium [-30,-1]" in set(imp.iloc[:, 0])
    cohort = build_cohort(w, readmission.default_definition(), purpose="research")
    m = extract_covariates(w, cohort, with_notes(FAST).covariates)
    notes = [c for c in m.columns if c.startswith("note_")]
    assert notes and all("delirium" in c for c in notes)  # sepsis: only after the index
    # only "Delirium noted." (affirmed) counts, not "No delirium." written for everyone else
    x = m.column("note_condition:NLP:delirium delirium [-30,-1]")
    y = frame["outcome"].to_numpy()
    # (earlier stays within 30 days add their notes: a little above the 60% and 8% written)
    assert 0.55 < x[y == 1].mean() < 0.9 and 0.05 < x[y == 0].mean() < 0.25


def test_implausible_lift_is_warned_and_reported_in_json_and_page(study, tmp_path) -> None:
    _, result, _ = study
    codes = [(w.code, w.subject) for w in result.warnings]
    assert ("implausible_lift", "note features, L1-logistic") in codes
    figures = json.loads(json.dumps(result.key_figures()))
    comp = figures["note_features"]["comparison"][0]
    assert comp["model"] == "L1-logistic" and comp["difference_lower"] > 0
    assert figures["note_features"]["overlap_with_coded_record"]["note_facts_with_code"] == 0
    assert "note_features_comparison" in result.output_tables()
    link = write_study(result, tmp_path)
    page = (tmp_path / link.href).read_text(encoding="utf-8")
    assert "Note features: AUROC with and without" in page
    assert "paired person-level bootstrap" in page


def test_option_is_off_by_default_and_set_from_the_command_line() -> None:
    assert StudyConfig().note_features is False
    assert with_notes(StudyConfig()).covariates.notes is False
    cfg = get_study("readmission").make_config({"note_features": "true"})
    assert cfg.note_features and with_notes(cfg).covariates.notes
    assert get_study("disease_risk").make_config({"note_features": "yes"}).note_features


def _comparison(share_coded: float, lower: float, diff: float, n_note: int = 10):
    facts = 0 if np.isnan(share_coded) else 100
    table = pd.DataFrame(
        [
            {
                "model": "LightGBM",
                "difference": diff,
                "difference_lower": lower,
                "difference_upper": diff + 0.02,
            }
        ]
    )
    return NoteComparison(
        table, NoteOverlap(200, 150, facts, int(share_coded * facts) if facts else 0), n_note
    )


@pytest.mark.parametrize(
    ("share", "lower", "diff", "rows_share", "expected"),
    [
        # a significant gain from notes that restate the coded record (Synthea): warned
        (0.9, 0.01, 0.03, 0.8, ["restate the coded record"]),
        # the same gain from notes that are mostly not coded: plausible
        (0.3, 0.01, 0.03, 0.8, []),
        # no significant gain: nothing to warn about even if redundant
        (0.9, -0.01, 0.01, 0.8, []),
        # a very large gain: warned whatever the overlap
        (0.3, 0.12, 0.15, 0.8, ["larger than notes usually add"]),
        # few test rows with any note feature
        (0.3, -0.02, 0.0, 0.05, ["of the test rows have any note feature"]),
    ],
)
def test_lift_checks(share, lower, diff, rows_share, expected) -> None:
    got = lift_checks(_comparison(share, lower, diff), rows_share)
    assert [w.code for w in got] == ["implausible_lift"] * len(expected)
    for w, phrase in zip(got, expected, strict=True):
        assert phrase in w.message


def test_no_note_feature_is_an_empty_domain_warning() -> None:
    got = lift_checks(_comparison(float("nan"), 0, 0, n_note=0), 0.0)
    assert [w.code for w in got] == ["empty_domain"]
    assert "medmine notes nlp" in got[0].message
