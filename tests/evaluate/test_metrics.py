import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from medmine.evaluate import (
    auprc_ci,
    auroc_ci,
    brier_score,
    calibration_slope_intercept,
    net_benefit,
    regression_metrics,
    threshold_metrics,
)


def _data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(x - 1)))
    y = (rng.random(n) < p).astype(int)
    return y, p


def test_bootstrap_ci_contains_point_estimate_and_shrinks_with_n():
    y_small, p_small = _data(300)
    y_big, p_big = _data(4000)
    small = auroc_ci(y_small, p_small, n_boot=100)
    big = auroc_ci(y_big, p_big, n_boot=100)
    for ci in (small, big):
        assert ci.lower <= ci.estimate <= ci.upper
    assert small.estimate == pytest.approx(roc_auc_score(y_small, p_small))
    assert (big.upper - big.lower) < (small.upper - small.lower) / 2


def test_bootstrap_resamples_persons_not_rows():
    # each person contributes 10 identical rows: a row-level bootstrap would be far too narrow
    y, p = _data(200, seed=1)
    rows_y, rows_p = np.repeat(y, 10), np.repeat(p, 10)
    persons = np.repeat(np.arange(200), 10)
    person_level = auroc_ci(rows_y, rows_p, groups=persons, n_boot=100)
    row_level = auroc_ci(rows_y, rows_p, n_boot=100)
    assert (person_level.upper - person_level.lower) > 2 * (row_level.upper - row_level.lower)


def test_auprc_ci_and_brier():
    y, p = _data(1000)
    ci = auprc_ci(y, p, n_boot=50)
    assert ci.lower <= ci.estimate <= ci.upper
    assert brier_score([0, 1], [0.0, 1.0]) == 0.0
    assert brier_score([0, 1], [1.0, 0.0]) == 1.0


def test_calibration_slope_is_one_on_perfectly_calibrated_probabilities():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 30000)
    y = (rng.random(30000) < p).astype(int)
    cal = calibration_slope_intercept(y, p)
    assert cal.slope == pytest.approx(1.0, abs=0.05)
    assert cal.intercept == pytest.approx(0.0, abs=0.05)
    assert cal.slope_lower < 1.0 < cal.slope_upper


def test_calibration_slope_below_one_for_overconfident_model():
    rng = np.random.default_rng(1)
    lp = rng.normal(size=20000)
    y = (rng.random(20000) < 1 / (1 + np.exp(-lp))).astype(int)
    overconfident = 1 / (1 + np.exp(-2 * lp))
    assert calibration_slope_intercept(y, overconfident).slope == pytest.approx(0.5, abs=0.05)


def test_threshold_metrics_on_a_known_table():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.1, 0.7, 0.2, 0.1, 0.1, 0.1])
    row = threshold_metrics(y, p, [0.5]).iloc[0]
    assert row.sensitivity == pytest.approx(2 / 3)
    assert row.specificity == pytest.approx(4 / 5)
    assert row.ppv == pytest.approx(2 / 3)
    assert row.npv == pytest.approx(4 / 5)


def test_net_benefit_formula_and_reference_strategies():
    y = np.array([1, 0, 0, 0])
    p = np.array([0.9, 0.6, 0.1, 0.1])
    nb = net_benefit(y, p, [0.5]).iloc[0]
    assert nb.model == pytest.approx(1 / 4 - 1 / 4 * 1.0)
    assert nb.treat_all == pytest.approx(0.25 - 0.75)
    assert nb.treat_none == 0


def test_regression_metrics():
    m = regression_metrics([1, 2, 3], [1, 2, 5])
    assert m["mae"] == pytest.approx(2 / 3)
    assert m["rmse"] == pytest.approx(np.sqrt(4 / 3))
