"""`medmine score` uses the study's index definition; time-dependent studies refuse year dates."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.features import CovariateSettings, build_cohort
from medmine.mining.classify import l1_logistic_search
from medmine.studies import readmission
from medmine.studies._matrix import build_matrix
from medmine.studies.contract import MissingDataError
from medmine.studies.readmission import EXTRAS, default_definition
from medmine.studies.scoring import save_model, score_person, training_domain
from medmine.synth.population import simulate
from medmine.warehouse import Warehouse


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("score17")
    w = Warehouse(d / "sim.duckdb")
    simulate(800, seed=3).write_to(w)
    cohort = build_cohort(w, default_definition())
    mat = build_matrix(w, cohort, CovariateSettings(), extras=EXTRAS)
    y = cohort.frame["outcome"].to_numpy()
    model = l1_logistic_search({"C": [0.1]}).fit(mat.X, y, groups=cohort.frame["person_id"])
    path = save_model(
        d / "m.skops",
        model,
        matrix=mat,
        definition=cohort.definition,
        study="readmission",
        training_domain=training_domain(mat.X),
    )
    yield w, path, cohort, model, mat
    w.close()


def test_score_defaults_to_the_end_of_the_last_merged_inpatient_stay(saved):
    w, path, cohort, model, mat = saved
    f = cohort.frame
    pid = int(f["person_id"].iloc[0])
    # a later outpatient visit must not become the index date
    w.con.execute(
        "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, "
        "visit_start_date, visit_end_date, visit_type_concept_id) "
        "VALUES (99999991, ?, 9202, DATE '2030-01-01', DATE '2030-01-01', 32817)",
        [pid],
    )
    s = score_person(path, w, pid)
    last = f[f.person_id == pid]["index_date"].max()
    assert s.index_date == str(last.date())
    assert any("last inpatient stay" in n for n in s.notes)
    # the score equals the model's prediction for the same index stay in the cohort
    row = int(f.index[(f.person_id == pid) & (f.index_date == last)][0])
    assert s.risk == pytest.approx(float(model.predict_proba(mat.X[row])[0, 1]), abs=1e-6)


def test_score_refuses_a_person_without_an_inpatient_stay(saved):
    w, path, *_ = saved
    w.con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id) VALUES (88888881, 8507, 1950, 8527, 38003564)"
    )
    w.con.execute(
        "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, "
        "visit_start_date, visit_end_date, visit_type_concept_id) "
        "VALUES (99999992, 88888881, 9202, DATE '2019-01-01', DATE '2019-01-01', 32817)"
    )
    with pytest.raises(Exception, match="no inpatient stay"):
        score_person(path, w, 88888881)


def test_score_warns_outside_the_training_domain_and_prints_names_literally(saved, tmp_path):
    w, path, cohort, *_ = saved
    pid = int(cohort.frame["person_id"].iloc[0])
    w.con.execute("UPDATE person SET year_of_birth = 1890 WHERE person_id = ?", [pid])
    s = score_person(path, w, pid)
    assert any("out of range" in x and "age at index" in x for x in s.warnings)
    w.con.execute("CHECKPOINT")
    res = CliRunner().invoke(
        app, ["score", "--model", str(path), "--person", str(pid), "-w", str(w.path)]
    )
    assert res.exit_code == 0, res.output
    assert "[any,-1]" in res.output or "[-365,-1]" in res.output or "[-30,-1]" in res.output
    assert "warning: outside the training domain" in res.output


def test_time_dependent_study_refuses_year_generalised_dates(tmp_path):
    with Warehouse(tmp_path / "sh.duckdb") as w:
        simulate(300, seed=1).write_to(w)
        for col in ("visit_start_date", "visit_end_date"):
            w.con.execute(f"UPDATE visit_occurrence SET {col} = make_date(year({col}), 1, 1)")
        with pytest.raises(MissingDataError, match="generalised to the year"):
            readmission.run(w)


def test_a_saved_decision_tree_loads_and_scores(saved, tmp_path):
    from sklearn.tree import DecisionTreeClassifier

    from medmine.mining.classify import PersonLevelSearchCV

    w, _, cohort, _, mat = saved
    y = cohort.frame["outcome"].to_numpy()
    tree = PersonLevelSearchCV(
        DecisionTreeClassifier(max_depth=3, min_samples_leaf=20, random_state=0),
        {"ccp_alpha": [0.0, 0.001]},
        calibration="none",
    ).fit(mat.X, y, groups=cohort.frame["person_id"])
    path = save_model(tmp_path / "tree.skops", tree, matrix=mat, definition=cohort.definition)
    pid = int(cohort.frame["person_id"].iloc[-1])
    s = score_person(path, w, pid)
    assert 0.0 <= s.risk <= 1.0
