"""The estimator contract of `medmine.mining` beyond the classifiers.

Clusterers and anomaly detectors take a feature matrix and run scikit-learn's
`parametrize_with_checks`, with accepted failures listed with their reasons. The rule miner
takes transactions and `PeerScaler` takes peer groups as its second argument, so they run
scikit-learn's data-free API checks plus hand-written contract tests. Every estimator in
mining, classifiers and regressors included, is checked for the declared parameter checks
(scikit-learn's `check_param_validation`) and the shared not-fitted error.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError as SkNotFittedError
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_param_validation,
    check_parameters_default_constructible,
    check_set_params,
    parametrize_with_checks,
)

import medmine.mining
from medmine.errors import NotFittedError
from medmine.mining._contract import EstimatorNotFittedError, InvalidParameterError
from medmine.mining.anomaly import (
    ECODDetector,
    IsolationForestDetector,
    PeerScaler,
    RobustZDetector,
)
from medmine.mining.classify import L1LogisticClassifier, LightGBMClassifier, PersonLevelSearchCV
from medmine.mining.cluster import HDBSCANPhenotyper, KMeansPhenotyper
from medmine.mining.regress import (
    BaselineRegressor,
    LogTargetLightGBMRegressor,
    PoissonGLMRegressor,
)
from medmine.mining.rules import AssociationRuleMiner, fpgrowth, fpgrowth_counts

#: Estimators on a feature matrix: scikit-learn's full check suite applies.
MATRIX_ESTIMATORS = [
    KMeansPhenotyper(k_range=(2, 4), n_bootstrap=2, n_components=None),
    KMeansPhenotyper(k_range=(2, 3), n_bootstrap=1, n_components=2),
    HDBSCANPhenotyper(min_cluster_size=5, n_components=None),
    RobustZDetector(),
    RobustZDetector(tail="upper", combine="rms"),
    ECODDetector(),
    IsolationForestDetector(n_estimators=20),
]

#: Estimators outside scikit-learn's data conventions: contract tests only.
OTHER_ESTIMATORS = [AssociationRuleMiner(), PeerScaler()]

#: Every estimator of mining, for the parameter and not-fitted contract.
ALL_ESTIMATORS = [
    *MATRIX_ESTIMATORS,
    *OTHER_ESTIMATORS,
    L1LogisticClassifier(),
    LightGBMClassifier(),
    PersonLevelSearchCV(),
    PoissonGLMRegressor(),
    LogTargetLightGBMRegressor(),
    BaselineRegressor(),
]

_PYOD_LABELS = (
    "PyOD's meaning of outputs, on purpose: predict/fit_predict return 1 for an anomaly and 0 "
    "otherwise (scikit-learn expects -1/+1), and decision_function is higher for more "
    "anomalous rows (scikit-learn's is higher for inliers)"
)

#: Known, accepted departures from scikit-learn's checks, with the reason.
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "RobustZDetector": {
        "check_outliers_fit_predict": _PYOD_LABELS,
        "check_outliers_train": _PYOD_LABELS,
    },
    "ECODDetector": {
        "check_outliers_fit_predict": _PYOD_LABELS,
        "check_outliers_train": _PYOD_LABELS,
        "check_methods_subset_invariance": (
            "ECOD (as in PyOD) ranks new rows against the training rows together with the "
            "other rows scored in the same call, so a row's score depends on its batch"
        ),
    },
    "IsolationForestDetector": {
        "check_outliers_fit_predict": _PYOD_LABELS,
        "check_outliers_train": _PYOD_LABELS,
    },
}


def _expected_failures(estimator) -> dict[str, str]:
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


def _name(estimator) -> str:
    return type(estimator).__name__


@parametrize_with_checks(MATRIX_ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_conformance(estimator, check):
    check(estimator)


def test_every_public_estimator_in_mining_is_covered():
    """A new estimator exported by a mining module must join the lists above."""
    found = set()
    for info in pkgutil.walk_packages(medmine.mining.__path__, "medmine.mining."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found.add(obj)
    assert found == {type(e) for e in ALL_ESTIMATORS}


# --- parameters: stored by __init__, checked declaratively in fit ---------------------------


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=_name)
def test_parameters_are_declared_and_checked_in_fit(estimator):
    """Each parameter has a constraint; a bad one raises the standard message in fit."""
    check_param_validation(_name(estimator), estimator)


@pytest.mark.parametrize("estimator", OTHER_ESTIMATORS, ids=_name)
@pytest.mark.parametrize(
    "check",
    [
        check_parameters_default_constructible,
        check_no_attributes_set_in_init,
        check_do_not_raise_errors_in_init_or_set_params,
        check_get_params_invariance,
        check_set_params,
        check_estimator_repr,
    ],
    ids=lambda c: c.__name__,
)
def test_api_contract_without_data(estimator, check):
    check(_name(estimator), clone(estimator))


def test_init_stores_parameters_untouched():
    values = {
        "min_support": object(),
        "consequents": (x for x in "generator, not validated at init"),
        "antecedents": {"a", "b"},
    }
    miner = AssociationRuleMiner(**values)
    for key, value in values.items():
        assert miner.get_params()[key] is value


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        (
            AssociationRuleMiner(min_support=1.5),
            "The 'min_support' parameter of AssociationRuleMiner must be a float in the range "
            "(0.0, 1.0]. Got 1.5 instead.",
        ),
        (
            AssociationRuleMiner(consequents="proc:99213"),
            "The 'consequents' parameter of AssociationRuleMiner must be an array-like or "
            "None. Got 'proc:99213' instead.",
        ),
        (
            KMeansPhenotyper(k_range=(3, 2)),
            "The 'k_range' parameter of KMeansPhenotyper must be a pair of ints (lo, hi) with "
            "2 <= lo <= hi. Got (3, 2) instead.",
        ),
        (
            ECODDetector(contamination=0.5),
            "The 'contamination' parameter of ECODDetector must be a float in the range "
            "(0.0, 0.5). Got 0.5 instead.",
        ),
        (
            RobustZDetector(tail="lower"),
            "The 'tail' parameter of RobustZDetector must be a str among {",
        ),
        (
            L1LogisticClassifier(C=0),
            "The 'C' parameter of L1LogisticClassifier must be a float in the range "
            "(0.0, inf). Got 0 instead.",
        ),
    ],
    ids=["min_support", "consequents", "k_range", "contamination", "tail", "classifier"],
)
def test_one_message_format(estimator, message):
    """Classifiers, clusterers, detectors and the rule miner word a bad parameter alike."""
    X = [[0, 1], [1], [0]] if isinstance(estimator, AssociationRuleMiner) else np.eye(12)
    with pytest.raises(InvalidParameterError) as err:
        estimator.fit(X, None)  # parameters are checked before the data is looked at
    assert str(err.value).startswith(message)
    assert isinstance(err.value, ValueError)


def test_functions_check_parameters_the_same_way():
    with pytest.raises(InvalidParameterError, match="'min_support' parameter of fpgrowth"):
        fpgrowth([[0]], min_support=0)
    with pytest.raises(InvalidParameterError, match="'min_count' parameter of fpgrowth_counts"):
        fpgrowth_counts([[0]], min_count=0)
    with pytest.raises(InvalidParameterError, match="'max_len' parameter of fpgrowth_counts"):
        fpgrowth_counts([[0]], min_count=1, max_len=0)


def test_fit_keeps_data_dependent_limits_out_of_parameter_checks():
    with pytest.raises(ValueError, match="needs more than 4 rows"):
        KMeansPhenotyper(k_range=(2, 4)).fit(np.eye(4))


# --- one not-fitted error -------------------------------------------------------------------

_NEEDS_FIT = {
    "predict": lambda e: e.predict(np.zeros((3, 2))),
    "predict_proba": lambda e: e.predict_proba(np.zeros((3, 2))),
    "decision_function": lambda e: e.decision_function(np.zeros((3, 2))),
    "score_samples": lambda e: e.score_samples(np.zeros((3, 2))),
    "transform": lambda e: e.transform(np.zeros((3, 2))),
    "rules_for": lambda e: e.rules_for("a"),
}


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=_name)
def test_unfitted_use_raises_the_shared_error(estimator):
    methods = [m for m in _NEEDS_FIT if hasattr(estimator, m)]
    assert methods or isinstance(estimator, HDBSCANPhenotyper)  # fit_predict only
    for method in methods:
        with pytest.raises(EstimatorNotFittedError) as err:
            _NEEDS_FIT[method](clone(estimator))
        assert isinstance(err.value, NotFittedError)
        assert isinstance(err.value, SkNotFittedError)
        assert f"This {_name(estimator)} instance is not fitted yet" in str(err.value)


# --- contract tests for estimators that do not take a feature matrix ------------------------

BASKETS = [[0, 1], [0, 1], [0, 1, 2], [0, 2], [2], [1, 3], [0, 1, 3]]
NAMES = ["a", "b", "c", "d"]


def _fit_other(estimator):
    if isinstance(estimator, AssociationRuleMiner):
        return estimator.fit(BASKETS, item_names=NAMES)
    rng = np.random.default_rng(0)
    return estimator.fit(rng.normal(size=(20, 3)), ["x"] * 10 + ["y"] * 10)


@pytest.mark.parametrize("estimator", OTHER_ESTIMATORS, ids=_name)
def test_fit_returns_self_sets_only_trailing_underscore_attributes(estimator):
    estimator = clone(estimator)
    params = estimator.get_params()
    before = set(vars(estimator))
    assert _fit_other(estimator) is estimator
    added = set(vars(estimator)) - before
    assert added
    assert all(a.endswith("_") or a.startswith("_") for a in added), added
    after = estimator.get_params()
    assert after.keys() == params.keys()
    assert all(after[k] is params[k] for k in params)


def test_rule_miner_learned_attributes_and_refit():
    miner = AssociationRuleMiner(min_support=0.2, min_confidence=0.5, alpha=None)
    miner.fit(BASKETS, item_names=NAMES)
    assert miner.n_transactions_ == len(BASKETS)
    assert miner.feature_names_in_.shape == (len(NAMES),)
    first = miner.rules_.copy()
    # sparse input gives the same rules, and refitting replaces the learned state
    X = sp.csr_matrix([[int(i in b) for i in range(4)] for b in BASKETS])
    assert miner.fit(X, item_names=NAMES).rules_.equals(first)
    miner.fit(BASKETS[:3], item_names=NAMES)
    assert miner.n_transactions_ == 3


def test_peer_scaler_checks_its_input():
    scaler = PeerScaler().fit(np.ones((6, 2)))
    assert scaler.n_features_in_ == 2
    with pytest.raises(ValueError, match="X has 3 features, but PeerScaler is expecting 2"):
        scaler.transform(np.ones((2, 3)))
    with pytest.raises(ValueError, match="groups has 1 labels for 6 rows"):
        PeerScaler().fit(np.ones((6, 2)), ["a"])


# --- anomaly scores: higher means more anomalous --------------------------------------------


@pytest.mark.parametrize(
    "detector",
    [e for e in MATRIX_ESTIMATORS if hasattr(e, "contamination")],
    ids=_name,
)
def test_higher_score_means_more_anomalous(detector):
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(200, 3)), [[8.0, 8.0, 8.0]]]
    det = clone(detector).fit(X)
    assert det.decision_scores_.shape == det.labels_.shape == (len(X),)
    assert int(np.argmax(det.decision_scores_)) == len(X) - 1
    assert det.labels_[-1] == 1
    new = np.array([[0.0, 0.0, 0.0], [9.0, 9.0, 9.0]])
    scores = det.decision_function(new)
    assert scores.shape == (2,) and scores[1] > scores[0]
    np.testing.assert_array_equal(det.predict(new), [0, 1])
    np.testing.assert_allclose(det.score_samples(new), -scores)
