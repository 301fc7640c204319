"""Known-answer tests for the anomaly detectors: planted outliers rank high."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from medmine.mining.anomaly import (
    ECODDetector,
    IsolationForestDetector,
    RobustZDetector,
    rank_average,
)

DETECTORS = [
    RobustZDetector(contamination=0.05),
    ECODDetector(contamination=0.05),
    IsolationForestDetector(contamination=0.05, n_estimators=100, random_state=0),
]


def planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    inliers = rng.normal(size=(500, 4))
    outliers = rng.normal(size=(25, 4)) + rng.choice([-1, 1], size=(25, 4)) * 4.5
    X = np.r_[inliers, outliers]
    y = np.r_[np.zeros(500), np.ones(25)]
    return X, y


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: type(d).__name__)
def test_planted_outliers_rank_high(det):
    X, y = planted()
    det.fit(X)
    assert det.decision_scores_.shape == (len(X),)
    assert det.labels_.shape == (len(X),)
    assert roc_auc_score(y, det.decision_scores_) >= 0.95
    # decision_function on the training data reproduces the training scores
    np.testing.assert_allclose(det.decision_function(X), det.decision_scores_)
    # threshold from contamination: about 5 % flagged, predict agrees with labels_
    assert 0.03 <= det.labels_.mean() <= 0.06
    np.testing.assert_array_equal(det.predict(X), det.labels_)
    assert set(np.unique(det.predict(X))) <= {0, 1}


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: type(d).__name__)
def test_peer_groups_find_outliers_hidden_in_the_population(det):
    # Two specialties with different normal levels; an outlier of group A sits at group B's
    # level, so it is only anomalous against its peers.
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, size=(200, 2))
    b = rng.normal(10, 1, size=(200, 2))
    hidden = rng.normal(10, 0.3, size=(10, 2))
    X = np.r_[a, b, hidden]
    groups = ["A"] * 200 + ["B"] * 200 + ["A"] * 10
    y = np.r_[np.zeros(400), np.ones(10)]
    scores = det.fit(X, groups=groups).decision_scores_
    assert roc_auc_score(y, scores) >= 0.85
    # Without peer groups the hidden outliers look like group B and are missed.
    flat = type(det)(**det.get_params()).fit(X).decision_scores_
    assert roc_auc_score(y, flat) < roc_auc_score(y, scores)


def test_upper_tail_ignores_low_values():
    X = np.r_[np.random.default_rng(2).normal(size=(100, 1)), [[-8.0], [8.0]]]
    s = RobustZDetector(tail="upper", contamination=0.01).fit(X).decision_scores_
    assert s[-1] > 5 and s[-2] == 0


def test_rank_average_is_scale_free():
    a = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(rank_average(a, a * 1000), rank_average(a))


def test_unfitted_and_bad_parameters_raise_clear_errors():
    with pytest.raises(NotFittedError):
        RobustZDetector().decision_function(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="'contamination' parameter of ECODDetector"):
        ECODDetector(contamination=1.5).fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="'tail'"):
        RobustZDetector(tail="lower").fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="NaN"):
        RobustZDetector().fit(np.array([[np.nan]]))
