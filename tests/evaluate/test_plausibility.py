"""Plausibility warnings, monotone baselines, identical scores and decision-tree rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier

from medmine.evaluate import calibration_slope_intercept
from medmine.evaluate.plausibility import check_domains, check_prediction, check_scores
from medmine.evaluate.tree_rules import tree_rules
from medmine.studies._binary import _monotone


def test_identical_scores_do_not_crash_calibration_and_say_why():
    y = np.array([0, 1, 0, 0, 1, 0] * 10)
    p = np.full(60, 0.3)
    cal = calibration_slope_intercept(y, p)  # IndexError before
    assert np.isnan(cal.slope) and cal.observed_rate == pytest.approx(1 / 3)
    (w,) = check_scores("model", p)
    assert w.code == "identical_scores" and "identical" in w.message


@pytest.mark.parametrize(
    ("row", "codes"),
    [
        ({"model": "LightGBM", "auroc": 0.99, "outcomes_test": 19, "calibration_slope": 1.6},
         {"too_good", "few_test_events", "calibration_slope"}),
        ({"model": "L1", "auroc": 0.75, "outcomes_test": 80, "calibration_slope": 1.0}, set()),
        ({"model": "L1", "auroc": 0.75, "outcomes_test": 80, "calibration_slope": 0.5},
         {"calibration_slope"}),
        ({"model": "LACE", "auroc": 0.33, "outcomes_test": 80, "calibration_slope": np.nan},
         {"baseline_below_chance"}),
    ],
)  # fmt: skip
def test_metric_checks_fire_exactly_where_they_should(row, codes):
    got = check_prediction(pd.DataFrame([row]), baselines=("LACE",))
    assert {w.code for w in got} == codes


def test_dominant_feature_and_flat_thresholds_are_named():
    m = pd.DataFrame([{"model": "LightGBM", "auroc": 0.8, "outcomes_test": 100}])
    imp = pd.DataFrame({"feature": ["gap of 7 days", "age"], "mean_abs_shap": [0.9, 0.1]})
    thr = pd.DataFrame(
        {"model": ["LightGBM"] * 3, "threshold": [0.1, 0.2, 0.3], "sensitivity": [1.0] * 3,
         "specificity": [0.0] * 3, "ppv": [0.1] * 3, "npv": [np.nan] * 3}
    )  # fmt: skip
    got = check_prediction(m, importance={"LightGBM": imp}, thresholds=thr)
    dom = next(w for w in got if w.code == "dominant_feature")
    assert "gap of 7 days" in dom.message and "90%" in dom.message
    assert any(w.code == "flat_thresholds" for w in got)


def test_empty_required_domain_is_flagged():
    counts = pd.DataFrame({"domain": ["age", "condition"], "features": [1, 3]})
    got = check_domains(counts, ("condition", "drug"), required=("drug",))
    assert [w.subject for w in got] == ["drug"] and "needs it" in got[0].message


def test_recalibration_of_a_backwards_score_never_inverts_it():
    rng = np.random.default_rng(0)
    score = rng.integers(0, 15, 2000).astype(float)
    y = (rng.random(2000) < 0.3 - 0.015 * score).astype(int)  # higher score, fewer outcomes
    risk, how = _monotone(score, y, score)
    assert how.startswith("isotonic")
    # non-decreasing in the score: the ranking is flattened, never flipped
    order = np.argsort(score)
    assert np.all(np.diff(risk[order]) >= -1e-12)
    good, how2 = _monotone(score, 1 - y, score)
    assert how2.startswith("logistic, slope +")


def test_tree_rules_give_share_and_outcome_rate_per_leaf():
    X = np.array([[0, 50], [1, 80], [0, 81], [1, 40]] * 25, dtype=float)
    y = np.array([0, 1, 0, 0] * 25)
    t = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    r = tree_rules(t, ["heart failure", "age"], X, y, X_test=X, y_test=y)
    assert r["share"].sum() == pytest.approx(1.0)
    top = r.iloc[-1]
    assert top["rule"] == "age > 65 AND heart failure recorded"
    assert top["outcome_rate"] == 1.0 and top["share"] == pytest.approx(0.25)
